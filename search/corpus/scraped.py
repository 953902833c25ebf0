"""Scraped plain-text articles, as saved from news sites, into `Article`s.

Metadata is taken only from where a site states it (a date line, a "(VTC News) -" dateline, a
"Nguồn tin:" or "Tác giả:" label, a byline at the end). A field the text does not give is None.
The chrome around the article is removed first (`search.corpus.cleaning`).
"""

from __future__ import annotations

import re

from search.corpus.article import Article
from search.corpus.cleaning import (
    clean_lines,
    collapse,
    cut_at_end_marker,
    dedupe,
    drop_title_repeats,
    is_end_marker,
    strip_chrome,
)
from search.corpus.dates import clock, iso_date
from search.corpus.errors import NoContentError
from search.corpus.outlets import OUTLETS, dateline_outlet, footer_outlet, outlet
from search.text.normalize import normalize


def _clock(n: int) -> str:
    """A time of day as groups H{n} and M{n} (several may stand in one pattern)."""
    return rf"(?P<H{n}>\d{{1,2}})[:h](?P<M{n}>\d{{2}})(?::\d{{2}})?"


_ZONE = r"\(?(?:GMT|UTC)?\s*[+-]\d{1,2}(?::?\d{2})?\)?"
_WEEKDAY = r"(?:Thứ\s+(?:Hai|Ba|Tư|Năm|Sáu|Bảy|[2-7])|Chủ\s+nhật|T[2-7]|CN)"
_DATE_LABEL = r"(?:(?:Cập nhật|Ngày đăng|Đăng ngày|Ngày)\s*:?\s*)"
#: "1/16/2018 2:54:08 PM 2260": US month/day order (the AM/PM gives it away), then a view count.
_US_DATE_LINE_RE = re.compile(
    rf"^(?P<m>\d{{1,2}})/(?P<d>\d{{1,2}})/(?P<y>\d{{4}})\s+{_clock(1)}\s*(?P<ampm>[AP]M)(?:\s+\d+)?$", re.I
)
#: "Thứ Năm, 29/12/2022 16:41:00 +07:00": Vietnamese day/month order.
_VN_DATE_LINE_RE = re.compile(
    rf"^{_DATE_LABEL}?(?:{_WEEKDAY}\s*,?\s*)?(?:{_clock(1)}\s*,?\s*)?"
    rf"(?P<d>\d{{1,2}})[/.-](?P<m>\d{{1,2}})[/.-](?P<y>\d{{4}})"
    rf"(?:\s*[,|-]?\s*{_clock(2)})?(?:\s*{_ZONE})?$",
    re.I,
)
_ISO_DATE_LINE_RE = re.compile(
    r"^(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"
    r"(?:[T ](?P<H1>\d{2}):(?P<M1>\d{2})(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
#: "date 2022-05 Tháng 5 hằng năm ...": a date field glued to the start of the lead.
_DATE_PREFIX_RE = re.compile(r"^date\s+(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2}))?)?(?=\s|$)\s*(?P<rest>.*)$", re.I)
#: "(VTC News) -" alone on a line, or opening the lead.
_PAREN_OUTLET_RE = re.compile(r"^\((?P<name>[^()]{2,40})\)\s*[-–—]\s*(?P<rest>.*)$")
#: "NDO - Chiều 5/10, ...": an outlet abbreviation opening the lead (only known ones count).
_ABBR_OUTLET_RE = re.compile(r"^(?P<name>[A-ZĐ][A-ZĐ.]{1,9})\s*[-–—]\s+(?P<rest>.+)$")
_LABEL_RE = re.compile(r"^(?P<label>Tác giả|Nguồn tin|Nguồn)\s*:\s*(?P<value>.+)$", re.I)
_SENTENCE_END_RE = re.compile(r"[.!?]+\s+")
#: Abbreviations ending in "." that do not end a sentence ("TP. Hồ Chí Minh", "ThS. Lê Văn A").
_ABBREVIATIONS = frozenset({"tp", "tt", "ths", "th.s", "ts", "pgs", "gs", "bs", "ks", "ls", "nxb", "st", "v.v", "vv"})
#: How many lines at the top may hold date and outlet lines.
_HEAD_LINES = 6
#: Derived titles keep at most this many words, and a first sentence up to one word longer
#: is kept whole.
_TITLE_WORDS = 14


def parse_scraped(text: str, article_id: str) -> Article:
    """Parse one scraped article: title, date, outlet and author where the text gives them,
    and the body with site chrome, related links and repeats removed.

    Raises `NoContentError` when nothing usable is left.
    """
    lines = clean_lines(text)
    domain_source = footer_outlet(lines)
    lines = cut_at_end_marker([line for line in map(strip_chrome, lines) if line])
    lines, date, time, source = _parse_head(lines)
    title = lines.pop(0) if lines and _looks_like_title(lines[0]) else None
    if lines:
        lines[0], lead_source = _strip_lead_outlet(lines[0])
        source = source or lead_source
    lines, author, label_source = _parse_trailer(lines)
    body = dedupe(drop_title_repeats(lines, title) if title else lines)
    if not title and body:
        title = derive_title(body[0])
    if not title:
        raise NoContentError("no article text left after removing site chrome")
    return Article(
        id=normalize(article_id),
        title=title,
        body="\n\n".join(body),
        date=date,
        time=time,
        source=label_source or source or domain_source,
        author=author,
    )


def _date_line(line: str) -> tuple[bool, str | None, str | None]:
    """Whether `line` is a date line, its ISO date when it is a valid one, and the time of day
    the line gives with it ("HH:MM"), if any."""
    for pattern in (_US_DATE_LINE_RE, _VN_DATE_LINE_RE, _ISO_DATE_LINE_RE):
        match = pattern.match(line)
        if match:
            date = iso_date(match["y"], match["m"], match["d"])
            parts = match.groupdict()
            n = 1 if parts.get("H1") else 2 if parts.get("H2") else 0
            time = clock(parts[f"H{n}"], parts[f"M{n}"], parts.get("ampm")) if n and date else None
            return True, date, time
    return False, None, None


def _parse_head(lines: list[str]) -> tuple[list[str], str | None, str | None, str | None]:
    """Take date lines, a leading "date ..." field and standalone "(Outlet) -" lines off the top.

    Returns the remaining lines, the date, its time of day and the outlet. A date-shaped line
    that is not a real date (month 13) is still dropped as chrome, but gives no date.
    """
    date: str | None = None
    time: str | None = None
    source: str | None = None
    head, rest = lines[:_HEAD_LINES], lines[_HEAD_LINES:]
    kept: list[str] = []
    for index, line in enumerate(head):
        is_date, value, clock_time = _date_line(line)
        if is_date:
            if date is None and value is not None:
                date, time = value, clock_time
            continue
        prefix = _DATE_PREFIX_RE.match(line) if index == 0 else None
        if prefix:
            date = date or iso_date(prefix["y"], prefix["m"], prefix["d"])
            line = prefix["rest"]
        outlet = _PAREN_OUTLET_RE.match(line)
        if outlet and not outlet["rest"] and dateline_outlet(outlet["name"]):
            source = source or dateline_outlet(outlet["name"])
            continue
        if line:
            kept.append(line)
    return kept + rest, date, time, source


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
    if match and match["rest"] and dateline_outlet(match["name"]):
        return match["rest"], dateline_outlet(match["name"])
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
                source = source or outlet(value)
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
    if not 2 <= len(words) <= 4 or len(line) > 40 or is_end_marker(line):
        return False
    return all(word[0].isupper() and word.replace(".", "").replace("-", "").isalpha() for word in words)


def _display_name(name: str) -> str:
    """A name in all capitals ("THANH DŨNG") in title case; others (and "PV") as written."""
    if name.isupper() and len(name.split()) >= 2:
        return name.title()
    return name


def _first_sentence(paragraph: str) -> str:
    """The paragraph up to its first sentence end, not fooled by "TP. Hồ Chí Minh" or "ông A."."""
    for match in _SENTENCE_END_RE.finditer(paragraph):
        before = paragraph[max(0, match.start() - 20) : match.start()].split()
        word = before[-1].lstrip('("“') if before else ""
        following = paragraph[match.end() : match.end() + 1]
        if len(word) < 2 or word.casefold() in _ABBREVIATIONS:
            continue
        if following and (following.isupper() or following.isdigit() or following in '"“('):
            return paragraph[: match.start() + 1].strip()
    return paragraph


def derive_title(paragraph: str) -> str:
    """A title for an article that has none: its first sentence, cut to about 14 words at a
    word boundary and marked with "…" when cut."""
    sentence = _first_sentence(collapse(paragraph))
    words = sentence.split()
    if len(words) <= _TITLE_WORDS + 1:
        return sentence.rstrip(" .")
    cut = " ".join(words[:_TITLE_WORDS]).rstrip(" ,;:-–—(")
    if cut.count("(") > cut.count(")"):
        cut = cut[: cut.rfind("(")].rstrip(" ,;:-–—")
    return cut + "…"
