"""Checks every request passes before any resource sees it, and the shape of every error.

Falcon decodes a malformed query string or path leniently (a bad byte becomes U+FFFD, a stray
"%" stays as it is), so a resource would search for something the client never meant. Here the
raw request is checked instead, and refused with a 400 that says what is wrong: bad
percent-encoding, bytes that are not UTF-8, control characters, a parameter given twice. A body
is refused by its declared length before it is read, so a client cannot make a worker buffer it.
The path and query-string bounds are fixed; the body's is `Settings.max_body_bytes`.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

import falcon

#: Longest path (URL without the query string) and query string, in bytes as sent.
MAX_PATH_BYTES = 2048
MAX_QUERY_STRING_BYTES = 4096

_BAD_ESCAPE_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
#: Line breaks and tabs come from pasting text into a search box; other control characters
#: (NUL, escape, C1 controls...) are never part of a search. Unicode's control characters are
#: category Cc, which is exactly U+0000-U+001F and U+007F-U+009F.
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _has_control(text: str) -> bool:
    return _CONTROL_RE.search(text) is not None


def _decode(raw: str, what: str) -> str:
    """Percent-decode `raw` strictly: as UTF-8, with every "%" starting an escape."""
    if _BAD_ESCAPE_RE.search(raw):
        raise falcon.HTTPBadRequest(
            title="Malformed request",
            description=f"The {what} has a '%' not followed by two hex digits; send '%' as %25.",
        )
    try:
        return unquote_to_bytes(raw.encode("latin-1")).decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise falcon.HTTPBadRequest(title="Malformed request", description=f"The {what} is not UTF-8 text.") from None


class RequestGuard:
    """Falcon middleware: refuses oversized, malformed or ambiguous requests up front."""

    def __init__(self, max_body_bytes: int) -> None:
        self.max_body_bytes = max_body_bytes

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._check_body(req)
        self._check_path(req)
        self._check_query_string(req)

    def _check_body(self, req: falcon.Request) -> None:
        if req.get_header("Transfer-Encoding"):
            raise falcon.HTTPLengthRequired(
                title="Length required", description="Send a Content-Length instead of a chunked body."
            )
        length = req.content_length  # a malformed header is Falcon's 400
        if length is not None and length > self.max_body_bytes:
            raise falcon.HTTPContentTooLarge(
                title="Request body too large", description=f"The body may be at most {self.max_body_bytes} bytes."
            )

    def _check_path(self, req: falcon.Request) -> None:
        raw = req.env.get("PATH_INFO", "")
        if len(raw) > MAX_PATH_BYTES:
            raise falcon.HTTPUriTooLong(
                title="Path too long", description=f"The path may be at most {MAX_PATH_BYTES} bytes."
            )
        try:
            path = raw.encode("latin-1").decode("utf-8")  # WSGI hands the decoded bytes as latin-1
        except (UnicodeEncodeError, UnicodeDecodeError):
            raise falcon.HTTPBadRequest(title="Malformed request", description="The path is not UTF-8 text.") from None
        if _has_control(path):
            raise falcon.HTTPBadRequest(title="Malformed request", description="The path contains control characters.")

    def _check_query_string(self, req: falcon.Request) -> None:
        raw = req.query_string
        if not raw:
            return
        if len(raw) > MAX_QUERY_STRING_BYTES:
            raise falcon.HTTPUriTooLong(
                title="Query string too long",
                description=f"The query string may be at most {MAX_QUERY_STRING_BYTES} bytes.",
            )
        clean = _clean(raw)  # then only the names are looked at, for one given twice
        seen: set[str] = set()
        for pair in raw.split("&"):
            if not pair:
                continue
            raw_name, _, raw_value = pair.partition("=")
            if clean and raw_name.isascii() and "%" not in raw_name and "+" not in raw_name:
                name = raw_name  # what decoding it would give
            else:
                name = _decode(raw_name.replace("+", " "), "query string")
            value = raw_value if clean else _decode(raw_value.replace("+", " "), "query string")
            shown = name[:40] if name.isprintable() else repr(name[:40])
            if name in seen:
                raise falcon.HTTPInvalidParam("Give it only once.", shown)
            seen.add(name)
            if not clean and (_has_control(name) or _has_control(value)):
                raise falcon.HTTPInvalidParam("It contains control characters.", shown)


def _clean(raw: str) -> bool:
    """Whether the whole query string has only well-formed escapes of UTF-8 text and no control
    character. "&" and "=" are ASCII, so a string that passes splits into names and values that
    each pass too; one that does not is checked pair by pair, for the error that names it."""
    if _BAD_ESCAPE_RE.search(raw):
        return False
    try:
        text = unquote_to_bytes(raw.encode("latin-1")).decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return False
    return not _has_control(text)
