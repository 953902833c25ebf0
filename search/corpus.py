"""Reading the corpus: scraped plain-text articles and JSON Lines files, into `Article`s.

Scraped text comes as saved from news sites, with their chrome: banners, view counters, "Tin
nhanh 24h", video-player timestamps, "Bình luận", lists of related headlines, captions repeating
the title, paragraphs printed twice. All of that would be indexed and shown as if it were the
article, and a related headline would make an unrelated article match a query, so it is removed
here, once, and everything downstream sees clean text.

Metadata is taken only from where a site states it (a date line, a "(VTC News) -" dateline, a
"Nguồn tin:" or "Tác giả:" label, a byline at the end). A field the text does not give is None:
an outlet mentioned inside a sentence is not the article's outlet.

A bad file or a bad JSONL line becomes a `ParseError` in the stream instead of an exception, so
one broken input never stops a batch and every problem is reported with its file and line.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from search.article import Article
from search.encodings import EncodingError, decode_text
from search.config import Settings
from search.text import normalize

TEXT_SUFFIX = ".txt"
TEXT_SUFFIXES = (TEXT_SUFFIX, ".txt.gz")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz")
PAGE_SUFFIXES = (".html", ".htm", ".html.gz", ".htm.gz")
#: An id is looked up as a URL path (/articles/{id}): longer ones could not be asked for.
MAX_ID_CHARS = 512
#: Share of control characters (other than line breaks, tabs and form feeds) above which a
#: text file is taken for binary data that happens to decode.
_BINARY_CONTROL_SHARE = 0.01
_TEXT_CONTROLS = frozenset("\t\n\r\f\v")

#: Outlet names by their abbreviation, domain or the name as written in a dateline (casefolded
#: keys). Only these are recognised in a lead prefix ("NDO - ") or a standalone domain line.
OUTLETS: dict[str, str] = {
    "ndo": "Nhân Dân",
    "nhân dân": "Nhân Dân",
    "nhandan.vn": "Nhân Dân",
    "nhandan.com.vn": "Nhân Dân",
    "vtc news": "VTC News",
    "vtcnews.vn": "VTC News",
    "ttxvn": "TTXVN",
    "vietnamplus.vn": "VietnamPlus",
    "vov": "VOV",
    "vov.vn": "VOV",
    "vtv": "VTV",
    "vtv.vn": "VTV",
    "tto": "Tuổi Trẻ",
    "tuoitre.vn": "Tuổi Trẻ",
    "thanhnien.vn": "Thanh Niên",
    "plo": "Pháp Luật TP.HCM",
    "plo.vn": "Pháp Luật TP.HCM",
    "nlđo": "Người Lao Động",
    "nld.com.vn": "Người Lao Động",
    "laodong.vn": "Lao Động",
    "dantri.com.vn": "Dân trí",
    "vnexpress.net": "VnExpress",
    "qđnd": "Quân đội nhân dân",
    "qdnd.vn": "Quân đội nhân dân",
    "cand": "Công an nhân dân",
    "cand.com.vn": "Công an nhân dân",
    "sggp": "Sài Gòn Giải Phóng",
    "sggp.org.vn": "Sài Gòn Giải Phóng",
    "baochinhphu.vn": "Báo Điện tử Chính phủ",
    "chinhphu.vn": "Báo Điện tử Chính phủ",
}

#: A line that starts one of these ends the article: what follows is related links or comments.
_END_MARKERS = frozenset({
    "tin cùng chuyên mục", "tin khác", "các tin khác", "tin liên quan", "bài liên quan",
    "tin bài liên quan", "xem thêm", "đọc thêm", "tin đã đưa", "tin mới nhất", "bình luận",
    "ý kiến bạn đọc",
})
#: Standalone lines of site chrome, dropped wherever they are.
_CHROME_LINES = frozenset({
    "tin nhanh 24h", "chia sẻ", "in bài", "in bài viết", "lên đầu trang", "quay lại", "quảng cáo",
    "gửi bình luận", "theo dõi",
})
#: Site chrome glued to the start of a line ("Tin nhanh 24hThứ Năm, 29/12/2022 ...").
_CHROME_PREFIX_RE = re.compile(r"^(?:Tin nhanh 24h)\s*", re.I)
_BANNER_RE = re.compile(r"^Banner\b")
_PLAYER_TIME_RE = re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?(?:\s*/\s*\d{1,2}:\d{2}(?::\d{2})?)?$")
_DOMAIN_RE = re.compile(
    r"^(?:https?://)?(?:www\.)?((?:[a-z0-9-]+\.)+(?:vn|com|net|org|gov|edu|info|biz|asia|tv|news))/?$", re.I)

_TIME = r"\d{1,2}[:h]\d{2}(?::\d{2})?"
_ZONE = r"\(?(?:GMT|UTC)?\s*[+-]\d{1,2}(?::?\d{2})?\)?"
_WEEKDAY = r"(?:Thứ\s+(?:Hai|Ba|Tư|Năm|Sáu|Bảy|[2-7])|Chủ\s+nhật|T[2-7]|CN)"
_DATE_LABEL = r"(?:(?:Cập nhật|Ngày đăng|Đăng ngày|Ngày)\s*:?\s*)"
#: "1/16/2018 2:54:08 PM 2260": US month/day order (the AM/PM gives it away), then a view count.
_US_DATE_LINE_RE = re.compile(
    rf"^(?P<m>\d{{1,2}})/(?P<d>\d{{1,2}})/(?P<y>\d{{4}})\s+{_TIME}\s*[AP]M(?:\s+\d+)?$", re.I)
#: "Thứ Năm, 29/12/2022 16:41:00 +07:00": Vietnamese day/month order.
_VN_DATE_LINE_RE = re.compile(
    rf"^{_DATE_LABEL}?(?:{_WEEKDAY}\s*,?\s*)?(?:{_TIME}\s*,?\s*)?"
    rf"(?P<d>\d{{1,2}})[/.-](?P<m>\d{{1,2}})[/.-](?P<y>\d{{4}})"
    rf"(?:\s*[,|-]?\s*{_TIME})?(?:\s*{_ZONE})?$", re.I)
_ISO_DATE_LINE_RE = re.compile(
    r"^(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
#: "date 2022-05 Tháng 5 hằng năm ...": a date field glued to the start of the lead.
_DATE_PREFIX_RE = re.compile(r"^date\s+(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2}))?)?(?=\s|$)\s*(?P<rest>.*)$", re.I)

#: "(VTC News) -" alone on a line, or opening the lead.
_PAREN_OUTLET_RE = re.compile(r"^\((?P<name>[^()]{2,40})\)\s*[-–—]\s*(?P<rest>.*)$")
#: "NDO - Chiều 5/10, ...": an outlet abbreviation opening the lead (only known ones count).
_ABBR_OUTLET_RE = re.compile(r"^(?P<name>[A-ZĐ][A-ZĐ.]{1,9})\s*[-–—]\s+(?P<rest>.+)$")
_LABEL_RE = re.compile(r"^(?P<label>Tác giả|Nguồn tin|Nguồn)\s*:\s*(?P<value>.+)$", re.I)
#: A caption repeating the title with an image number: "<title> - 1".
_NUMBERED_CAPTION_RE = re.compile(r"^(?P<text>.*\S)\s+[-–]\s+\d{1,2}$")
_SENTENCE_END_RE = re.compile(r"[.!?]+\s+")
#: Abbreviations ending in "." that do not end a sentence ("TP. Hồ Chí Minh", "ThS. Lê Văn A").
_ABBREVIATIONS = frozenset({"tp", "tt", "ths", "th.s", "ts", "pgs", "gs", "bs", "ks", "ls", "nxb", "st", "v.v", "vv"})
_WS_RE = re.compile(r"\s+")

#: How many lines at the top may hold date and outlet lines.
_HEAD_LINES = 6
#: Derived titles keep at most this many words, and a first sentence up to one word longer
#: is kept whole.
_TITLE_WORDS = 14


@dataclass(frozen=True)
class ParseError:
    """An input that could not be read: the file (relative to its corpus root), the line for
    JSONL (1-based, None for a whole file) and a reason meant for a person, not a traceback."""

    path: str
    line: int | None
    reason: str


class NoContentError(ValueError):
    """A scraped text with nothing left once site chrome is removed."""


# ---------------------------------------------------------------------------------------------
# Scraped plain text


def parse_scraped(text: str, article_id: str) -> Article:
    """Parse one scraped article: title, date, outlet and author where the text gives them,
    and the body with site chrome, related links and repeats removed.

    Raises `NoContentError` when nothing usable is left.
    """
    lines = _clean_lines(text)
    domain_source = _footer_outlet(lines)
    lines = _cut_at_end_marker([line for line in map(_strip_chrome, lines) if line])
    lines, date, source = _parse_head(lines)
    title = lines.pop(0) if lines and _looks_like_title(lines[0]) else None
    if lines:
        lines[0], lead_source = _strip_lead_outlet(lines[0])
        source = source or lead_source
    lines, author, label_source = _parse_trailer(lines)
    body = _dedupe(_drop_title_repeats(lines, title) if title else lines)
    if not title and body:
        title = derive_title(body[0])
    if not title:
        raise NoContentError("no article text left after removing site chrome")
    return Article(
        id=normalize(article_id),
        title=title,
        body="\n\n".join(body),
        date=date,
        source=label_source or source or domain_source,
        author=author,
    )


def _collapse(text: str) -> str:
    """Normalise `text` and squeeze each run of whitespace to one space."""
    return _WS_RE.sub(" ", normalize(text)).strip()


def _clean_lines(text: str) -> list[str]:
    """The non-empty lines of `text`, normalised, whitespace squeezed: one line, one paragraph."""
    return [line for line in map(_collapse, normalize(text).splitlines()) if line]


def _outlet(name: str) -> str:
    """The outlet's display name: from the table when known, else as written."""
    return OUTLETS.get(name.casefold(), name)


def _dateline_outlet(name: str) -> str | None:
    """The outlet of a "(Name) -" dateline; None unless the name is capitalised and has no digits
    (a lead may open with some other parenthesis)."""
    name = name.strip()
    if not name[:1].isupper() or any(char.isdigit() for char in name) or len(name.split()) > 5:
        return None
    return _outlet(name)


def _footer_outlet(lines: list[str]) -> str | None:
    """The outlet named by a standalone known domain line ("vtcnews.vn"), if any."""
    for line in lines:
        match = _DOMAIN_RE.match(line)
        if match and match.group(1).casefold() in OUTLETS:
            return OUTLETS[match.group(1).casefold()]
    return None


def _strip_chrome(line: str) -> str:
    """`line` without site chrome; "" when the whole line is chrome."""
    line = _CHROME_PREFIX_RE.sub("", line)
    if (
        line.casefold() in _CHROME_LINES
        or _BANNER_RE.match(line)
        or _PLAYER_TIME_RE.match(line)
        or _DOMAIN_RE.match(line)
    ):
        return ""
    return line


def _is_end_marker(line: str) -> bool:
    return line.rstrip(" :").casefold() in _END_MARKERS


def _cut_at_end_marker(lines: list[str]) -> list[str]:
    """Drop the first end marker ("Tin cùng chuyên mục", "Bình luận"...) and all after it.

    A marker among the first two lines is navigation above the article, not its end: only
    that line is dropped, so a page header cannot wipe out the article.
    """
    kept: list[str] = []
    for line in lines:
        if _is_end_marker(line):
            if len(kept) >= 2:
                break
            continue
        kept.append(line)
    return kept


def _valid_date(year: str, month: str | None = None, day: str | None = None) -> str | None:
    """ISO "YYYY[-MM[-DD]]" when the parts make a real calendar date, else None."""
    try:
        dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None
    parts = [f"{int(year):04d}"] + [f"{int(p):02d}" for p in (month, day) if p is not None]
    return "-".join(parts)


def _date_line(line: str) -> tuple[bool, str | None]:
    """Whether `line` is a date line, and its ISO date when it is a valid one."""
    for pattern in (_US_DATE_LINE_RE, _VN_DATE_LINE_RE, _ISO_DATE_LINE_RE):
        match = pattern.match(line)
        if match:
            return True, _valid_date(match["y"], match["m"], match["d"])
    return False, None


def _parse_head(lines: list[str]) -> tuple[list[str], str | None, str | None]:
    """Take date lines, a leading "date ..." field and standalone "(Outlet) -" lines off the top.

    Returns the remaining lines, the date and the outlet. A date-shaped line that is not a real
    date (month 13) is still dropped as chrome, but gives no date.
    """
    date: str | None = None
    source: str | None = None
    head, rest = lines[:_HEAD_LINES], lines[_HEAD_LINES:]
    kept: list[str] = []
    for index, line in enumerate(head):
        is_date, value = _date_line(line)
        if is_date:
            date = date or value
            continue
        prefix = _DATE_PREFIX_RE.match(line) if index == 0 else None
        if prefix:
            date = date or _valid_date(prefix["y"], prefix["m"], prefix["d"])
            line = prefix["rest"]
        outlet = _PAREN_OUTLET_RE.match(line)
        if outlet and not outlet["rest"] and _dateline_outlet(outlet["name"]):
            source = source or _dateline_outlet(outlet["name"])
            continue
        if line:
            kept.append(line)
    return kept + rest, date, source


def _looks_like_title(line: str) -> bool:
    """A headline: one short sentence without a closing period or clause punctuation."""
    if len(line) > 250 or len(line.split()) > 40:
        return False
    if line.endswith((".", ",", ";", ":")) and not line.endswith("..."):
        return False
    return _first_sentence(line) == line


def _strip_lead_outlet(lead: str) -> tuple[str, str | None]:
    """Split a dateline ("(VTC News) - ", "NDO - ") off the lead; the lead itself is kept."""
    match = _PAREN_OUTLET_RE.match(lead)
    if match and match["rest"] and _dateline_outlet(match["name"]):
        return match["rest"], _dateline_outlet(match["name"])
    match = _ABBR_OUTLET_RE.match(lead)
    if match and match["name"].casefold() in OUTLETS:
        return match["rest"], OUTLETS[match["name"].casefold()]
    return lead, None


def _parse_trailer(lines: list[str]) -> tuple[list[str], str | None, str | None]:
    """Take the author and outlet off the end: "Tác giả:"/"Nguồn tin:" labels, then a byline.

    "Tác giả:" and "Nguồn tin:" are page metadata wherever they stand; a bare "Nguồn:" counts
    only at the very end (inside the text it usually credits a chart). A byline is the last
    line when it is a short name (see `_looks_like_name`) and is not the only paragraph.
    """
    author: str | None = None
    source: str | None = None
    trailer_start = len(lines)
    while trailer_start and _LABEL_RE.match(lines[trailer_start - 1]):
        trailer_start -= 1
    kept: list[str] = []
    for index, line in enumerate(lines):
        label = _LABEL_RE.match(line)
        if label and (index >= trailer_start or label["label"].casefold() != "nguồn"):
            value = label["value"].strip()
            if label["label"].casefold() == "tác giả":
                author = author or _display_name(value)
            else:
                source = source or _outlet(value)
            continue
        kept.append(line)
    if author is None and len(kept) >= 2 and _looks_like_name(kept[-1]):
        author = _display_name(kept.pop())
    return kept, author, source


def _looks_like_name(line: str) -> bool:
    """2 to 4 capitalised words of letters (initials with "." allowed), nothing else.

    Strict on purpose: a caption or a short paragraph taken for a byline would lose content.
    """
    words = line.split()
    if not 2 <= len(words) <= 4 or len(line) > 40 or _is_end_marker(line):
        return False
    return all(word[0].isupper() and word.replace(".", "").replace("-", "").isalpha() for word in words)


def _display_name(name: str) -> str:
    """A name in all capitals ("THANH DŨNG") in title case; others (and "PV") as written."""
    if name.isupper() and len(name.split()) >= 2:
        return name.title()
    return name


def _drop_title_repeats(lines: list[str], title: str) -> list[str]:
    """Lines other than the title itself or a "<title> - N" image caption."""
    folded = title.casefold()
    kept = []
    for line in lines:
        caption = _NUMBERED_CAPTION_RE.match(line)
        if line.casefold() == folded or (caption and caption["text"].casefold() == folded):
            continue
        kept.append(line)
    return kept


def _dedupe(lines: Iterable[str]) -> list[str]:
    """Each paragraph once, at its first place: pages repeat leads and captions verbatim."""
    seen: set[str] = set()
    kept = []
    for line in lines:
        key = line.casefold()
        if key not in seen:
            seen.add(key)
            kept.append(line)
    return kept


def _first_sentence(paragraph: str) -> str:
    """The paragraph up to its first sentence end, not fooled by "TP. Hồ Chí Minh" or "ông A."."""
    for match in _SENTENCE_END_RE.finditer(paragraph):
        before = paragraph[max(0, match.start() - 20): match.start()].split()
        word = before[-1].lstrip("(\"“") if before else ""
        following = paragraph[match.end(): match.end() + 1]
        if len(word) < 2 or word.casefold() in _ABBREVIATIONS:
            continue
        if following and (following.isupper() or following.isdigit() or following in "\"“("):
            return paragraph[: match.start() + 1].strip()
    return paragraph


def derive_title(paragraph: str) -> str:
    """A title for an article that has none: its first sentence, cut to about 14 words at a
    word boundary and marked with "…" when cut."""
    sentence = _first_sentence(_collapse(paragraph))
    words = sentence.split()
    if len(words) <= _TITLE_WORDS + 1:
        return sentence.rstrip(" .")
    cut = " ".join(words[:_TITLE_WORDS]).rstrip(" ,;:-–—(")
    if cut.count("(") > cut.count(")"):
        cut = cut[: cut.rfind("(")].rstrip(" ,;:-–—")
    return cut + "…"


# ---------------------------------------------------------------------------------------------
# JSON Lines

_OPTIONAL_FIELDS = ("source", "author", "url", "topic")
_JSON_DATE_RE = re.compile(r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2}))?)?$")


class _LineError(ValueError):
    """Why one JSONL line is not an article; becomes a `ParseError`."""


def _max_article_bytes(value: int | None) -> int:
    return Settings.from_env().max_article_bytes if value is None else value


def _bounded_lines(stream, limit: int) -> Iterator[bytes | None]:
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


def read_jsonl(path: Path, rel: str, max_article_bytes: int | None = None) -> Iterator[Article | ParseError]:
    """Articles from a JSON Lines file (gzip-compressed when it ends in ".gz").

    A broken line gives a `ParseError` naming its line number and the rest of the file is still
    read; blank lines are skipped. A corrupt gzip stream ends the file with one error. Lines are
    read one at a time, and one longer than `max_article_bytes` (default: the
    `VNSEARCH_MAX_ARTICLE_BYTES` limit) is an error without being read whole.
    """
    limit = _max_article_bytes(max_article_bytes)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    found = False
    line_no = 0
    try:
        with opener(path, "rb") as stream:
            for line_no, raw in enumerate(_bounded_lines(stream, limit), start=1):
                if raw is None:
                    found = True
                    yield ParseError(rel, line_no, f"line longer than {limit} bytes (VNSEARCH_MAX_ARTICLE_BYTES)")
                    continue
                if not raw.strip():
                    continue
                found = True
                try:
                    yield _article_from_json(_decode_line(raw, line_no), rel)
                except _LineError as exc:
                    yield ParseError(rel, line_no, str(exc))
    except (OSError, EOFError, zlib.error) as exc:
        yield ParseError(rel, line_no + 1 if line_no else None, f"cannot read file: {_os_reason(exc)}")
        return
    if not found:
        yield ParseError(rel, None, "empty file")


def _os_reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


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
    return _article_from_json(value, path)


def _article_from_json(value: object, rel: str | None) -> Article:
    """Validate one decoded line and build its article; `_LineError` says what is wrong."""
    if not isinstance(value, dict):
        raise _LineError(f"expected a JSON object, got {type(value).__name__}")
    article_id = normalize(_required_str(value, "id")).strip()
    if not article_id:
        raise _LineError("field 'id' is empty")
    if len(article_id) > MAX_ID_CHARS:
        raise _LineError(f"field 'id' is longer than {MAX_ID_CHARS} characters")
    if any(unicodedata.category(char) == "Cc" for char in article_id):
        raise _LineError("field 'id' contains control characters")
    title = _collapse(_required_str(value, "title"))
    body = json_body(_required_str(value, "body"))
    if not title and not body:
        raise _LineError("both 'title' and 'body' are empty")
    optional = {name: _optional_str(value, name) for name in _OPTIONAL_FIELDS}
    return Article(
        id=article_id,
        title=title or derive_title(body.split("\n\n", 1)[0]),
        body=body,
        date=_json_date(value.get("date")),
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
        raise _LineError(f"field '{name}' contains a lone surrogate (\\u{ord(text[_surrogate_at(text)]):04x}), "
                         "not Unicode text") from None
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
    return _collapse(_unicode(field, name)) or None


def json_body(text: str) -> str:
    """Body text as paragraphs separated by "\\n\\n": every line break, single or repeated,
    ends a paragraph, and whitespace inside a paragraph is squeezed."""
    paragraphs = (_collapse(line) for line in normalize(text).splitlines())
    return "\n\n".join(p for p in paragraphs if p)


def _json_date(value: object) -> str | None:
    """An ISO date, partial date, or datetime (its date part kept); anything else is an error."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _LineError(f"field 'date' must be a string or null, got {type(value).__name__}")
    text = value.strip()
    if not text:
        return None
    match = _JSON_DATE_RE.match(text)
    iso = _valid_date(match["y"], match["m"], match["d"]) if match else _datetime_date(text)
    if iso is None:
        raise _LineError(f"bad date {value!r} (expected YYYY-MM-DD, YYYY-MM, YYYY or an ISO datetime)")
    return iso


def _datetime_date(text: str) -> str | None:
    """The date part of an ISO datetime ("2022-12-29T16:41:00+07:00"), None if it is not one."""
    if len(text) <= 10 or text[10] not in "T ":
        return None
    try:
        return dt.datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# Files and folders


def _has_suffix(path: Path, suffixes: Sequence[str]) -> bool:
    name = path.name.lower()
    return any(name.endswith(suffix) for suffix in suffixes)


def _is_supported(path: Path) -> bool:
    return _has_suffix(path, (*TEXT_SUFFIXES, *JSONL_SUFFIXES, *PAGE_SUFFIXES))


def _walk(root: Path) -> list[Path]:
    """Supported, non-hidden files under `root`, recursively, sorted by their relative path."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(Path(folder, name) for name in files if not name.startswith("."))
    return sorted((p for p in found if _is_supported(p)), key=lambda p: p.relative_to(root).as_posix())


def _corpus_entries(paths: Sequence[Path]) -> list[tuple[Path, Path]]:
    """(file, corpus root) pairs: a folder is its own root, a single file's root is its parent.

    A path given explicitly is kept even when it is missing or of an unknown type, so that
    `read_file` reports it instead of it vanishing silently.
    """
    entries: list[tuple[Path, Path]] = []
    for path in map(Path, paths):
        if path.is_dir():
            entries.extend((file, path) for file in _walk(path))
        else:
            entries.append((path, path.parent))
    return entries


def corpus_files(paths: Sequence[Path]) -> list[Path]:
    """The files `iter_corpus(paths)` reads, in order: lets a caller show progress per file."""
    return [file for file, _ in _corpus_entries(paths)]


def iter_corpus(paths: Sequence[Path], max_article_bytes: int | None = None) -> Iterator[Article | ParseError]:
    """Every article under `paths` (folders, walked recursively, or single files), and a
    `ParseError` for each input that could not be read; never raises for a bad input."""
    limit = _max_article_bytes(max_article_bytes)
    for file, root in _corpus_entries(paths):
        yield from read_file(file, root, limit)


def _relative(path: Path, root: Path) -> str:
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        rel = path.as_posix()
    return normalize(rel)


def read_file(path: Path, root: Path, max_article_bytes: int | None = None) -> Iterator[Article | ParseError]:
    """The articles in one corpus file; `root` is the corpus folder its id is relative to.

    A scraped text file (".txt") or a saved web page (".html", ".htm") is one article whose id
    is its relative path without the extension; JSONL articles carry their own ids. Each may
    be gzip-compressed (".gz" added to the name). No article may be larger than
    `max_article_bytes` (default: the `VNSEARCH_MAX_ARTICLE_BYTES` limit).
    """
    rel = _relative(path, root)
    limit = _max_article_bytes(max_article_bytes)
    if not _is_text(rel):
        # A file name that is not UTF-8 reaches us with surrogate escapes (os.fsdecode).
        shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        yield ParseError(shown, None, "the file name is not UTF-8; rename the file")
    elif not path.exists():
        yield ParseError(rel, None, "no such file or directory")
    elif _has_suffix(path, JSONL_SUFFIXES):
        yield from read_jsonl(path, rel, limit)
    elif _has_suffix(path, TEXT_SUFFIXES):
        yield _read_one(path, rel, _parse_text, limit)
    elif _has_suffix(path, PAGE_SUFFIXES):
        yield _read_one(path, rel, _parse_page, limit)
    else:
        yield ParseError(rel, None, "unsupported file type (expected .txt, .html, .htm or .jsonl, "
                                    "each optionally .gz)")


def _is_text(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _read_one(path: Path, rel: str, parse: Callable[[bytes, str], Article], limit: int) -> Article | ParseError:
    """One file holding one article, or the reason it is not one.

    At most `limit` + 1 bytes are read (decompressed, for ".gz"): a larger file, or a gzip
    bomb, is refused without loading it.
    """
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as stream:
            data = stream.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:
        return ParseError(rel, None, f"cannot read file: {_os_reason(exc)}")
    if len(data) > limit:
        return ParseError(rel, None, f"file larger than {limit} bytes (VNSEARCH_MAX_ARTICLE_BYTES); "
                                     "not a single article")
    if not data.strip():
        return ParseError(rel, None, "empty file")
    article_id = re.sub(r"\.[^./]+(?:\.gz)?$", "", rel, flags=re.I)
    try:
        article = parse(data, article_id)
    except (NoContentError, EncodingError) as exc:
        return ParseError(rel, None, str(exc))
    return replace(article, path=rel)


def _parse_text(data: bytes, article_id: str) -> Article:
    """A scraped text file in UTF-8 or one of the legacy encodings `search.encodings` reads."""
    text = decode_text(data).text
    controls = sum(1 for char in text if unicodedata.category(char) == "Cc" and char not in _TEXT_CONTROLS)
    if controls > len(text) * _BINARY_CONTROL_SHARE:
        raise EncodingError(f"binary data, not text ({controls} control characters)")
    return parse_scraped(text, article_id)


def _parse_page(data: bytes, article_id: str) -> Article:
    # Imported here: trafilatura and lxml take a while to import, and most corpora have no pages.
    from search.saved_pages import parse_page

    return parse_page(data, article_id)
