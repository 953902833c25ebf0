"""Snippets look for sentence ends only near their matches (`sentences.groups`, `sentences.ends`): on real
text they must group the matches, pick the passage and cut it exactly as a split of the whole
body does, with matches at the start or the end of a body, in long sentences and in bodies
without any sentence punctuation."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search.searching import highlight, sentences
from search.searching.highlight import ELLIPSIS, Highlighter
from search.searching.sentences import abbreviated, ends, groups, split
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


def whole_split_groups(text: str, matches: list[tuple[int, int, str]]) -> Iterator[tuple[int, int, int, int]]:
    """What `groups` stands for: the matches of each sentence of the whole text, split from 0,
    with the sentence's own start and end."""
    for start, end in split(text):
        inside = [k for k, (a, b, _) in enumerate(matches) if a >= start and b <= end]
        if inside:
            yield start, inside[0], inside[-1] + 1, end


#: The candidates of a sentence end as a Python step per candidate tells them: what the one
#: pattern of `sentences` must decide the same way (the lower-case class is the module's).
_CANDIDATE = re.compile(r"[\n.!?…](?:(?<=\n)|[.!?…]*[\"'”’»)\]]*(?=\s)" + sentences._GOES_ON + ")")


def stepwise_ends(text: str) -> list[int]:
    """The sentence ends of `text`, each candidate checked in Python: a lone "." followed by
    white space after an abbreviation or an initial is no end."""
    found = []
    for m in _CANDIDATE.finditer(text):
        start, end = m.span()
        if end - start == 1 and text[start] == "." and abbreviated(text[max(0, start - 5) : start]):
            continue
        found.append(end)
    return found


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
    assert not ends(without_punctuation(BODIES[0][1]))
    assert max(b - a for a, b in split(long_sentences(BODIES[0][1]))) > 2000


@pytest.mark.parametrize("shape", [lambda t: t, without_punctuation, long_sentences], ids=["as is", "flat", "long"])
@pytest.mark.parametrize("text", [text for _, text in BODIES], ids=IDS)
def test_ends_are_those_of_a_step_per_candidate(text, shape):
    text = shape(text)
    assert ends(text) == stepwise_ends(text)
    assert ends(fold(text)) == stepwise_ends(fold(text))


@pytest.mark.parametrize("text", [text for _, text in BODIES], ids=IDS)
def test_ends_from_a_word_end_or_an_end_and_before_a_word_are_those_of_the_whole_text(text):
    whole = ends(text)
    words = list(WORD_RE.finditer(fold(text)))
    for pos in [m.end() for m in words[::5] + words[-3:]] + [0] + whole:
        assert ends(text, pos) == [c for c in whole if c > pos]
        assert sentences.next_end(text, pos) == next((c for c in whole if c > pos), None)
    for word in [m.start() for m in words[::7] + words[-3:]]:
        for pos in [0] + [c for c in whole if c <= word][-2:]:
            assert ends(text, pos, word) == [c for c in whole if pos < c <= word]


@pytest.mark.parametrize("shape", [lambda t: t, without_punctuation, long_sentences], ids=["as is", "flat", "long"])
@pytest.mark.parametrize("text", [text for _, text in BODIES], ids=IDS)
def test_groups_are_the_sentences_of_the_whole_split(text, shape):
    text = shape(text)
    for terms in term_sets(text):
        matches = matches_of(text, terms)
        found = list(groups(text, matches))
        whole = list(whole_split_groups(text, matches))
        assert [(i, j) for _, i, j, _ in found] == [(i, j) for _, i, j, _ in whole]
        cuts = [0, *ends(text), len(text)]
        for (lo, i, _, end), (_, _, _, sentence_end) in zip(found, whole):
            # `lo` is a sentence end before the group's matches, `end` the one ending its sentence
            assert lo in cuts and lo <= matches[i][0]
            assert end in cuts and text[:end].rstrip() == text[:sentence_end]


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
    assert [(i, j) for _, i, j, _ in groups(text, matches)] == [
        (i, j) for _, i, j, _ in whole_split_groups(text, matches)
    ]
    assert ends(text) == stepwise_ends(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Gặp Ths. Lan và Mrs. Smith ở Tp. Huế. Sau đó", ["Gặp Ths. Lan và Mrs. Smith ở Tp. Huế.", "Sau đó"]),
        ("Ông NXB. Trẻ nói. Hết", ["Ông NXB. Trẻ nói.", "Hết"]),
        # longer than every abbreviation, or one with marks: a sentence end
        ("Về TPHCM. Rồi đi. Gặp Tố. Xong", ["Về TPHCM.", "Rồi đi.", "Gặp Tố.", "Xong"]),
        # initials, numbers with points, closing quotes, line breaks; with and without marks
        (
            "ông Nguyễn Văn A. Sau đó TP. HCM có 1.000 người. “Tốt quá.” Hết\nDòng mới",
            ["ông Nguyễn Văn A. Sau đó TP. HCM có 1.000 người.", "“Tốt quá.”", "Hết", "Dòng mới"],
        ),
        (
            "ong Nguyen Van A. Sau do TP. HCM co 1.000 nguoi. Het",
            ["ong Nguyen Van A. Sau do TP. HCM co 1.000 nguoi.", "Het"],
        ),
        ("không có dấu chấm câu nào cả, chỉ có dấu phẩy", ["không có dấu chấm câu nào cả, chỉ có dấu phẩy"]),
    ],
)
def test_abbreviations_in_any_case_are_not_sentence_ends(text, expected):
    assert [text[a:b] for a, b in split(text)] == expected
    assert ends(text) == stepwise_ends(text)
