"""Snippets look for sentence ends only near their matches (`sentences.groups`, `sentences.boundaries`): on real
text they must group the matches, pick the passage and cut it exactly as a split of the whole
body does, with matches at the start or the end of a body, in long sentences and in bodies
without any sentence punctuation."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search.searching import highlight
from search.searching.highlight import ELLIPSIS, Highlighter
from search.searching.sentences import boundaries, groups, split
from search.text.normalize import WORD_RE, fold, normalize

ROOT = Path(__file__).resolve().parent.parent


def _bodies() -> list[tuple[str, str]]:
    """The seed articles of corpus/ and the bodies of the KTLAB sample, normalised as stored."""
    seeds = sorted((ROOT / "corpus").glob("*.txt"))
    found = [(path.name, normalize(path.read_text(encoding="utf-8"))) for path in seeds]
    with open(ROOT / "tests" / "data" / "ktlab-sample.jsonl", encoding="utf-8") as stream:
        for line in stream:
            if line.strip():
                row = json.loads(line)
                found.append((row["id"], normalize(row["body"])))
    return found


BODIES = _bodies()
IDS = [name for name, _ in BODIES]


def visible(fragment: str) -> str:
    return html.unescape(fragment.replace("<mark>", "").replace("</mark>", ""))


def whole_split_groups(text: str, matches: list[tuple[int, int, str]]) -> Iterator[tuple[int, int, int]]:
    """What `groups` stands for: the matches of each sentence of the whole text, split from 0."""
    for start, end in split(text):
        inside = [k for k, (a, b, _) in enumerate(matches) if a >= start and b <= end]
        if inside:
            yield 0, inside[0], inside[-1] + 1


def matches_of(text: str, terms: set[str]) -> list[tuple[int, int, str]]:
    return Highlighter(terms)._matches(fold(text))


def term_sets(text: str) -> list[set[str]]:
    """The first word, the last word, both, every word, and a few words spread over the body."""
    words = WORD_RE.findall(fold(text).lower())
    spread = set(words[:: max(1, len(words) // 5)])
    return [{words[0]}, {words[-1]}, {words[0], words[-1]}, set(words), spread, {words[len(words) // 2], "bhxh"}]


def without_punctuation(text: str) -> str:
    """The body as one run of words: no sentence ends, no line breaks."""
    return " ".join(text.translate(str.maketrans("\n.!?…", "     ")).split())


def long_sentences(text: str) -> str:
    """The body with every sentence end turned into a comma: a few sentences of thousands of
    characters, each longer than any snippet."""
    return " ".join(text.replace(". ", ", ").replace("\n", ", ").split())


def test_real_bodies_cover_the_cases():
    for _, text in BODIES:
        assert split(text) and WORD_RE.search(text)
    assert any(len(split(text)) > 30 for _, text in BODIES)
    assert not list(boundaries(without_punctuation(BODIES[0][1])))
    assert max(b - a for a, b in split(long_sentences(BODIES[0][1]))) > 2000


@pytest.mark.parametrize("text", [text for _, text in BODIES], ids=IDS)
def test_boundaries_from_a_word_end_or_a_resumed_scan_are_those_of_the_whole_text(text):
    whole = list(boundaries(text))
    ends = [m.end() for m in WORD_RE.finditer(fold(text))]
    for pos in ends[::5] + ends[-3:] + [0]:
        assert list(boundaries(text, pos)) == [b for b in whole if b[0] >= pos]
    for k, (_, resume) in enumerate(whole):
        assert list(boundaries(text, resume)) == whole[k + 1 :]
        # a split resumed there gives the whole split's sentences from there
        assert split(text, start=resume) == [s for s in split(text) if s[0] >= resume]


@pytest.mark.parametrize("shape", [lambda t: t, without_punctuation, long_sentences], ids=["as is", "flat", "long"])
@pytest.mark.parametrize("text", [text for _, text in BODIES], ids=IDS)
def test_groups_are_the_sentences_of_the_whole_split(text, shape):
    text = shape(text)
    for terms in term_sets(text):
        matches = matches_of(text, terms)
        found = list(groups(text, matches))
        assert [(i, j) for _, i, j in found] == [(i, j) for _, i, j in whole_split_groups(text, matches)]
        sentences = split(text)
        for lo, i, _ in found:
            # each group's `lo` is where a sentence of the whole split may start, before its matches
            assert lo <= matches[i][0]
            assert lo == 0 or split(text, start=lo) == [s for s in sentences if s[0] >= lo]


@pytest.mark.parametrize("shape", [lambda t: t, without_punctuation, long_sentences], ids=["as is", "flat", "long"])
@pytest.mark.parametrize("text", [text for _, text in BODIES], ids=IDS)
def test_snippets_are_those_of_the_whole_split(text, shape, monkeypatch):
    text = shape(text)
    cases = [(Highlighter(terms), size) for terms in term_sets(text) for size in (40, 120, 240, 600)]
    near = [h.snippet(text, size) for h, size in cases]
    monkeypatch.setattr(highlight, "groups", whole_split_groups)
    assert near == [h.snippet(text, size) for h, size in cases]


def only_in(text: str, span: tuple[int, int]) -> set[str]:
    """Folded words of text[span] found nowhere else in `text`."""
    a, b = span
    return set(WORD_RE.findall(fold(text[a:b]).lower())) - set(WORD_RE.findall(fold(text[:a] + " " + text[b:]).lower()))


def test_a_match_only_in_the_first_or_the_last_sentence_of_a_body():
    firsts = lasts = 0
    for _, text in BODIES:
        sentences = split(text)
        (a, b), (c, d) = sentences[0], sentences[-1]
        if words := only_in(text, (a, b)):
            firsts += 1
            shown = visible(Highlighter(words).snippet(text, 240))
            if b - a <= 240:
                assert shown.startswith(text[a:b])
            else:  # a window of the first sentence
                assert shown.strip(ELLIPSIS) in text[a:b]
        if words := only_in(text, (c, d)):
            lasts += 1
            shown = visible(Highlighter(words).snippet(text, 240))
            assert shown == text[c:d] if d - c <= 240 else shown.strip(ELLIPSIS) in text[c:d]
            assert d == len(text.rstrip())
    assert firsts >= 10 and lasts >= 10


WORDS = ["BHXH", "bảo", "hiểm", "TP", "PGS", "V", "ông", "Ông", "2022", "v.v", "x"]
SEPARATORS = [" ", "\n", "\n\n", ". ", "! ", "? ", "… ", "...", '." ', "”. ", "!) ", ". \n", "\t", " .", "?! ", ","]


@given(
    st.lists(st.one_of(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=60).map("".join),
    st.sets(st.sampled_from(["bhxh", "bao", "hiem", "tp", "v", "ong", "x", "2022"]), min_size=1, max_size=4),
)
@settings(max_examples=300, deadline=None)
def test_groups_agree_with_the_whole_split_on_any_text(text, terms):
    matches = matches_of(text, terms)
    assert [(i, j) for _, i, j in groups(text, matches)] == [(i, j) for _, i, j in whole_split_groups(text, matches)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Gặp Ths. Lan và Mrs. Smith ở Tp. Huế. Sau đó", ["Gặp Ths. Lan và Mrs. Smith ở Tp. Huế.", "Sau đó"]),
        ("Ông NXB. Trẻ nói. Hết", ["Ông NXB. Trẻ nói.", "Hết"]),
        # longer than every abbreviation, or one with marks: a sentence end
        ("Về TPHCM. Rồi đi. Gặp Tố. Xong", ["Về TPHCM.", "Rồi đi.", "Gặp Tố.", "Xong"]),
    ],
)
def test_abbreviations_in_any_case_are_not_sentence_ends(text, expected):
    assert [text[a:b] for a, b in split(text)] == expected
    assert [text[a:b] for a, b in split(text, start=text.index(" ") + 1)][1:] == expected[1:]
