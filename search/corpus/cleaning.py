"""Site chrome removed from scraped text: banners, view counters, "Tin nhanh 24h",
video-player timestamps, "Bình luận", lists of related headlines, captions repeating the
title, paragraphs printed twice. All of that would be indexed and shown as if it were the
article, and a related headline would make an unrelated article match a query, so it is
removed once, here, and everything downstream sees clean text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from search.corpus.outlets import DOMAIN_RE
from search.text.normalize import normalize

#: A line that starts one of these ends the article: what follows is related links or comments.
_END_MARKERS = frozenset(
    {
        "tin cùng chuyên mục",
        "tin khác",
        "các tin khác",
        "tin liên quan",
        "bài liên quan",
        "tin bài liên quan",
        "xem thêm",
        "đọc thêm",
        "tin đã đưa",
        "tin mới nhất",
        "bình luận",
        "ý kiến bạn đọc",
    }
)
#: Standalone lines of site chrome, dropped wherever they are.
_CHROME_LINES = frozenset(
    {
        "tin nhanh 24h",
        "chia sẻ",
        "in bài",
        "in bài viết",
        "lên đầu trang",
        "quay lại",
        "quảng cáo",
        "gửi bình luận",
        "theo dõi",
    }
)
#: Site chrome glued to the start of a line ("Tin nhanh 24hThứ Năm, 29/12/2022 ...").
_CHROME_PREFIX_RE = re.compile(r"^(?:Tin nhanh 24h)\s*", re.I)
_BANNER_RE = re.compile(r"^Banner\b")
_PLAYER_TIME_RE = re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?(?:\s*/\s*\d{1,2}:\d{2}(?::\d{2})?)?$")
#: A caption repeating the title with an image number: "<title> - 1".
_NUMBERED_CAPTION_RE = re.compile(r"^(?P<text>.*\S)\s+[-–]\s+\d{1,2}$")


def collapse(text: str) -> str:
    """Normalise `text` and squeeze each run of whitespace to one space. `str.split` finds the
    runs a regex `\\s+` finds (both take Unicode's whitespace: tests/test_cleaning.py checks
    every character) in about half the time, and a corpus read spends much of its own here."""
    return " ".join(normalize(text).split())


def clean_lines(text: str) -> list[str]:
    """The non-empty lines of `text`, normalised, whitespace squeezed: one line, one paragraph."""
    return [line for line in map(collapse, normalize(text).splitlines()) if line]


def strip_chrome(line: str) -> str:
    """`line` without site chrome; "" when the whole line is chrome."""
    line = _CHROME_PREFIX_RE.sub("", line)
    if (
        line.casefold() in _CHROME_LINES
        or _BANNER_RE.match(line)
        or _PLAYER_TIME_RE.match(line)
        or DOMAIN_RE.match(line)
    ):
        return ""
    return line


def is_end_marker(line: str) -> bool:
    return line.rstrip(" :").casefold() in _END_MARKERS


def cut_at_end_marker(lines: list[str]) -> list[str]:
    """Drop the first end marker ("Tin cùng chuyên mục", "Bình luận"...) and all after it.

    A marker among the first two lines is navigation above the article, not its end: only
    that line is dropped, so a page header cannot wipe out the article.
    """
    kept: list[str] = []
    for line in lines:
        if is_end_marker(line):
            if len(kept) >= 2:
                break
            continue
        kept.append(line)
    return kept


def drop_title_repeats(lines: list[str], title: str) -> list[str]:
    """Lines other than the title itself or a "<title> - N" image caption."""
    folded = title.casefold()
    kept = []
    for line in lines:
        caption = _NUMBERED_CAPTION_RE.match(line)
        if line.casefold() == folded or (caption and caption["text"].casefold() == folded):
            continue
        kept.append(line)
    return kept


def dedupe(lines: Iterable[str]) -> list[str]:
    """Each paragraph once, at its first place: pages repeat leads and captions verbatim."""
    seen: set[str] = set()
    kept = []
    for line in lines:
        key = line.casefold()
        if key not in seen:
            seen.add(key)
            kept.append(line)
    return kept
