"""Whitespace squeezing in the corpus reader (`search.corpus.cleaning.collapse`)."""

from __future__ import annotations

import re
import sys

from hypothesis import given
from hypothesis import strategies as st

from search.corpus.cleaning import collapse
from search.text.normalize import normalize

#: What `collapse` squeezed with before it used `str.split`.
_WS_RE = re.compile(r"\s+")


def _by_regex(text: str) -> str:
    return _WS_RE.sub(" ", normalize(text)).strip()


def test_split_and_the_regex_take_the_same_characters_for_whitespace():
    chars = [chr(code) for code in range(sys.maxunicode + 1) if not 0xD800 <= code <= 0xDFFF]
    regex = {c for c in chars if _WS_RE.fullmatch(c)}
    split = {c for c in chars if c.split() == []}
    assert regex == split
    assert {"\u00a0", "\u2028", "\u3000", "\x1c", "\x85"} <= regex  # not only ASCII's


_SPACES = "".join(c for c in map(chr, range(0x3001)) if c.isspace()) + "\u202f\u205f\u3000\u200b\ufeff"


@given(st.text(alphabet=st.sampled_from(_SPACES + "aăđ\u0301xY1."), max_size=60))
def test_collapse_squeezes_as_the_regex_did(text: str):
    assert collapse(text) == _by_regex(text)
