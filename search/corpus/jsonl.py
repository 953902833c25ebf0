"""JSON Lines articles, and articles sent to the HTTP API as JSON: validated field by field,
with a reason a person can act on for each bad line.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterator
from typing import BinaryIO

from search.corpus.article import MAX_ID_CHARS, Article
from search.corpus.cleaning import collapse
from search.corpus.dates import parse_datetime, parse_time
from search.corpus.errors import READ_ERRORS, ParseError, os_reason
from search.corpus.scraped import derive_title
from search.text.normalize import normalize

_OPTIONAL_FIELDS = ("source", "author", "url", "topic")


class _LineError(ValueError):
    """Why one JSONL line is not an article; becomes a `ParseError`."""


def _bounded_lines(stream: BinaryIO, limit: int) -> Iterator[bytes | None]:
    """The lines of a binary stream, or None for a line longer than `limit` bytes: such a line
    is skipped in bounded chunks, so a file that is one 200 MB line never sits in memory."""
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = stream.readline(1 << 20)
            yield None
        else:
            yield line


def read_jsonl(
    stream: BinaryIO, rel: str, limit: int, wanted: Callable[[str], bool] | None = None
) -> Iterator[Article | ParseError]:
    """Articles from a JSON Lines file opened as `stream` (`rel`: its path, for errors).

    A broken line gives a `ParseError` naming its line number and the rest of the file is still
    read; blank lines are skipped. A corrupt gzip stream ends the file with one error. Lines are
    read one at a time, and one longer than `limit` bytes is an error without being read whole.
    A line whose id `wanted` refuses is skipped once its id is read (see `files.iter_corpus`).
    """
    found = False
    line_no = 0
    try:
        for line_no, raw in enumerate(_bounded_lines(stream, limit), start=1):
            if raw is None:
                found = True
                yield ParseError(rel, line_no, f"line longer than {limit} bytes (VNSEARCH_MAX_ARTICLE_BYTES)")
                continue
            if not raw.strip():
                continue
            found = True
            try:
                article = _article_from_json(_decode_line(raw, line_no), rel, wanted)
            except _LineError as exc:
                yield ParseError(rel, line_no, str(exc))
            else:
                if article is not None:
                    yield article
    except READ_ERRORS as exc:
        yield ParseError(rel, line_no + 1 if line_no else None, f"cannot read file: {os_reason(exc)}")
        return
    if not found:
        yield ParseError(rel, None, "empty file")


def _decode_line(raw: bytes, line_no: int) -> object:
    """One line's JSON value; a UTF-8 byte-order mark is allowed on the first line."""
    try:
        text = raw.decode("utf-8-sig" if line_no == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        raise _LineError(f"not UTF-8 text (undecodable byte at column {exc.start + 1})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _LineError(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise _LineError("invalid JSON: nested too deeply") from None


def article_from_json(value: object, path: str | None = None) -> Article:
    """One article from a decoded JSON object: a JSONL line, or an article sent to the HTTP API
    (which has no file: `path` None). `ValueError` says what is wrong, for a person."""
    article = _article_from_json(value, path)
    assert article is not None  # nothing is skipped without `wanted`
    return article


def _article_from_json(value: object, rel: str | None, wanted: Callable[[str], bool] | None = None) -> Article | None:
    """Validate one decoded line and build its article (None when `wanted` refuses its id);
    `_LineError` says what is wrong."""
    if not isinstance(value, dict):
        raise _LineError(f"expected a JSON object, got {type(value).__name__}")
    article_id = normalize(_required_str(value, "id")).strip()
    if not article_id:
        raise _LineError("field 'id' is empty")
    if len(article_id) > MAX_ID_CHARS:
        raise _LineError(f"field 'id' is longer than {MAX_ID_CHARS} characters")
    if any(unicodedata.category(char) == "Cc" for char in article_id):
        raise _LineError("field 'id' contains control characters")
    if wanted is not None and not wanted(article_id):
        return None
    title = collapse(_required_str(value, "title"))
    body = json_body(_required_str(value, "body"))
    if not title and not body:
        raise _LineError("both 'title' and 'body' are empty")
    optional = {name: _optional_str(value, name) for name in _OPTIONAL_FIELDS}
    date, time = _json_date(value.get("date"), value.get("time"))
    return Article(
        id=article_id,
        title=title or derive_title(body.split("\n\n", 1)[0]),
        body=body,
        date=date,
        time=time,
        path=rel,
        **optional,
    )


def _required_str(value: dict, name: str) -> str:
    if name not in value:
        raise _LineError(f"missing field '{name}'")
    if not isinstance(value[name], str):
        raise _LineError(f"field '{name}' must be a string, got {type(value[name]).__name__}")
    return _unicode(value[name], name)


def _unicode(text: str, name: str) -> str:
    """`text` when it can be stored: JSON's "\\ud800" escapes decode to lone surrogates, which
    are not Unicode text and cannot be written as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _LineError(
            f"field '{name}' contains a lone surrogate (\\u{ord(text[_surrogate_at(text)]):04x}), not Unicode text"
        ) from None
    return text


def _surrogate_at(text: str) -> int:
    return next(i for i, char in enumerate(text) if 0xD800 <= ord(char) <= 0xDFFF)


def _optional_str(value: dict, name: str) -> str | None:
    """A cleaned optional text field; absent, null or blank is None."""
    field = value.get(name)
    if field is None:
        return None
    if not isinstance(field, str):
        raise _LineError(f"field '{name}' must be a string or null, got {type(field).__name__}")
    return collapse(_unicode(field, name)) or None


def json_body(text: str) -> str:
    """Body text as paragraphs separated by "\\n\\n": every line break, single or repeated,
    ends a paragraph, and whitespace inside a paragraph is squeezed."""
    paragraphs = (collapse(line) for line in normalize(text).splitlines())
    return "\n\n".join(p for p in paragraphs if p)


def _optional_text(value: object, name: str) -> str:
    if value is not None and not isinstance(value, str):
        raise _LineError(f"field '{name}' must be a string or null, got {type(value).__name__}")
    return (value or "").strip()


def _json_date(value: object, time_value: object) -> tuple[str | None, str | None]:
    """(date, time) from an ISO date, partial date or datetime, and an optional "time" field
    ("11:39"); a time needs a full date, and may be given once. Anything else is an error."""
    text, clock_text = (_optional_text(given, name) for name, given in (("date", value), ("time", time_value)))
    if not text:
        if clock_text:
            raise _LineError("field 'time' is given without a 'date'")
        return None, None
    parsed = parse_datetime(text)
    if parsed is None:
        raise _LineError(f"bad date {value!r} (expected YYYY-MM-DD, YYYY-MM, YYYY or an ISO datetime)")
    date, time = parsed
    if clock_text:
        given_time = parse_time(clock_text)
        if given_time is None:
            raise _LineError(f"bad time {time_value!r} (expected HH:MM)")
        if time is not None and time != given_time:
            raise _LineError(f"the date's time {time} and field 'time' {given_time} differ")
        time = given_time
    if time is not None and len(date) != 10:
        raise _LineError(f"a time needs a full date (YYYY-MM-DD), got {date!r}")
    return date, time
