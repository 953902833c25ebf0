"""The text field type of the index: Whoosh's TEXT with a faster way to index a document.

Whoosh indexes a value by running it through the analyzer one token at a time (a generator per
filter, a Token object per word) and then pickling each word's position list: that was half of
the build time on the news archive. Our analyzers are a tokenizer that finds `WORD_RE` words in
normalised text followed by filters that each map one token to one token, looking at nothing
but that token. So a word's term never depends on where it stands: the text is split once with
`WORD_RE`, each distinct word is run through the analyzer once and remembered, and positions are
the word numbers. The terms, frequencies and positions are exactly those of the analyzer (a
test compares them on awkward text); queries still go through the analyzer itself.

Positions are stored as packed deltas (`CompactPositions`) instead of Whoosh's pickled lists,
which made them most of the index: four to nine times smaller before compression.

The pair field (`PairText`) gets the same treatment: its terms are counted straight from the
text, split at the same sentence breaks as `PairTokenizer`, and its postings carry only a weight.

A document's three text fields are one string: it is normalised and split once for all three
(`_split`), and each field hands its postings to the writers' pool as `Columns`, lists the pool
extends its arrays with, rather than a tuple per term through a generator.

Whoosh pickles field objects into the index schema: these classes must stay importable here.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from itertools import accumulate, chain

from whoosh.columns import FixedBytesColumn
from whoosh.fields import ID, TEXT
from whoosh.formats import Format, Frequency, Positions

from search.index.columns import Columns, position_columns
from search.text.analysis import _BREAK_RE, pairs
from search.text.normalize import WORD_RE, fold, fold_keeps_words, normalize

#: Distinct words remembered per field; Vietnamese news uses far fewer (syllables repeat).
_CACHE_LIMIT = 1 << 18


#: The last text split into words (`_split`): the exact, folded and pair fields of a document
#: are one string, split once for all three.
_last_split: tuple[str, list[list[str]], list[str]] = ("", [], [])
#: The last body split (`folded_body_words`, for the copy column, which comes first among a
#: document's fields): the text fields' value is title and body, and only the title is left to split.
_last_body: tuple[str, list[list[str]], list[str]] = ("", [], [])
#: Between the title and the body in the text fields' value (`search.index.schema.to_document`).
_TITLE_BREAK = "\n\n"


class _Folded(dict[str, str]):
    """Each word folded, on first lookup."""

    def __missing__(self, word: str) -> str:
        folded = self[word] = fold(word)
        return folded


#: Folded words, shared by the pair field and the copy column.
_FOLDED = _Folded()


def _split_normalized(text: str) -> tuple[list[list[str]], list[str]]:
    segments = [WORD_RE.findall(segment) for segment in _BREAK_RE.split(text)]
    return segments, list(chain.from_iterable(segments))


def _split(value: str) -> tuple[list[list[str]], list[str]]:
    """The `WORD_RE` words of the normalised text, per `_BREAK_RE` segment (for pairs) and all
    together. A break holds no word character, so the segments' words are the text's words.

    A value that is a title, `_TITLE_BREAK` and the body split last is split as the title alone
    followed by that body: normalising works character by character across the line breaks, and
    they are breaks whatever surrounds them, so the words of each segment are the same (only
    segments without words can differ, and they hold no pairs)."""
    global _last_split
    last = _last_split
    if last[0] == value:
        return last[1], last[2]
    body, body_segments, body_words = _last_body
    head = len(value) - len(body) - len(_TITLE_BREAK)
    if body and head >= 0 and value.endswith(body) and value.startswith(_TITLE_BREAK, head):
        title_segments, title_words = _split_normalized(normalize(value[:head]))
        segments, words = [*title_segments, [], *body_segments], title_words + body_words
    else:
        segments, words = _split_normalized(normalize(value))
    _last_split = (value, segments, words)
    return segments, words


def split_words(value: str) -> tuple[list[list[str]], list[str]]:
    """The text fields' split of `value` (see `_split`): its words per `_BREAK_RE` segment and
    all together, for the pool's numbering of a segment's words (`search.index.segment_words`)."""
    return _split(value)


def folded_word(word: str) -> str:
    """`fold(word)`, from the cache the pair field and the copy column share."""
    if len(_FOLDED) >= _CACHE_LIMIT:
        _FOLDED.clear()
    return _FOLDED[word]


def folded_body_words(body: str) -> list[str] | None:
    """`WORD_RE.findall(fold(normalize(body)))`, the words the copy column hashes, from a split
    the text fields then reuse (`_split`); None when folding would move a word's bounds
    (`fold_keeps_words`), for the caller to fold the text itself."""
    global _last_body
    normalized = normalize(body)
    segments, words = _split_normalized(normalized)
    _last_body = (body, segments, words)
    if not fold_keeps_words(normalized):
        return None
    if len(_FOLDED) >= _CACHE_LIMIT:
        _FOLDED.clear()
    return list(map(_FOLDED.__getitem__, words))


class CompactPositions(Positions):
    """Positions as their deltas in the narrowest of 1, 2 or 4 bytes, after a byte that says
    which. The frequency is the number of deltas, so it needs no bytes of its own."""

    def encode(self, poslist: list[int]) -> bytes:
        if len(poslist) == 1 and poslist[0] < 0x100:  # most terms of an article: skip the deltas
            return bytes((1, poslist[0]))
        deltas = [b - a for a, b in zip([0, *poslist], poslist)]
        top = max(deltas)
        if top < 0x100:
            return b"\x01" + bytes(deltas)
        typecode = "H" if top < 0x10000 else "I"
        packed = array(typecode, deltas)
        return bytes([packed.itemsize]) + packed.tobytes()

    def decode_positions(self, valuestring: bytes) -> list[int]:
        return list(accumulate(self.deltas(valuestring)))

    @staticmethod
    def deltas(valuestring: bytes) -> bytes | array:
        width = valuestring[0]
        if width == 1:
            return valuestring[1:]
        return array("H" if width == 2 else "I", valuestring[1:])

    def decode_frequency(self, valuestring: bytes) -> int:
        return (len(valuestring) - 1) // valuestring[0]

    def decode_weight(self, valuestring: bytes) -> float:
        return self.decode_frequency(valuestring) * self.field_boost


class VietnameseText(TEXT):
    format: Format

    """TEXT whose analyzer is a `VietnameseTokenizer` followed by one-token-to-one-token filters,
    with positions stored as `CompactPositions`, or with `phrase=False` only the frequencies
    (`Counts`)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        kind = CompactPositions if self.format.supports("positions") else Counts
        self.format = kind(field_boost=self.format.field_boost)

    def _term(self, word: str) -> bytes:
        """The term bytes of one `WORD_RE` word, through the analyzer."""
        texts = [token.text for token in self.analyzer(word)]
        if len(texts) != 1:  # cannot happen for a WORD_RE word; never index it differently
            raise ValueError(f"the analyzer split the word {word!r} into {texts!r}")
        return texts[0].encode("utf-8")

    def terms_of(self, words: list[str]) -> list[bytes]:
        """Each word's term bytes, from the per-field cache (filled through the analyzer)."""
        cache = self.__dict__.get("_terms")
        if cache is None or len(cache) >= _CACHE_LIMIT:
            cache = self.__dict__["_terms"] = _Terms(self._term)
        return list(map(cache.__getitem__, words))

    def posting_columns(self, value: str) -> Columns:
        """A document's postings in this field as `Columns`: what `index` yields, without a
        Python step per word or per term where the positions fit the common case."""
        terms = self.terms_of(_split(value)[1])
        boost = self.format.field_boost
        if not isinstance(self.format, CompactPositions):
            counts = Counter(terms)
            freqs = list(counts.values())
            return Columns(list(counts), freqs, list(map(float(boost).__mul__, freqs)), b"", None)
        return position_columns(terms, boost)

    def index(self, value: object, **kwargs: object) -> Iterator[tuple[bytes, int, float, bytes]]:
        if not isinstance(value, str) or kwargs.get("mode", "index") != "index":
            yield from super().index(value, **kwargs)
            return
        yield from self.posting_columns(value).items()

    def __getstate__(self) -> dict[str, object]:
        """The term cache is not part of the schema pickled into the index."""
        state = self.__dict__.copy()
        state.pop("_terms", None)
        return state


class _Terms(dict[str, bytes]):
    """Each word's term bytes, made on first lookup by `term`."""

    def __init__(self, term: Callable[[str], bytes]) -> None:
        super().__init__()
        self._term = term

    def __missing__(self, word: str) -> bytes:
        found = self[word] = self._term(word)
        return found


class Counts(Format):
    """A term's frequency in the document as the posting's weight, and nothing else.

    BM25 reads only the weight, and Whoosh's `Frequency` stored the same number a second time
    as four value bytes per posting; with a block per term, most pair terms being in one or two
    articles, those bytes were a large share of the pair field. Without them the postings of a
    term are its document numbers and weights, as Whoosh's `Existence` format stores them for
    ID fields, but with the real frequencies as weights.
    """

    posting_size = 0

    def word_values(self, value: object, analyzer: object, **kwargs: object) -> Iterator[tuple[str, int, float, bytes]]:
        for term, freq, weight, _ in Frequency(self.field_boost).word_values(value, analyzer, **kwargs):
            yield term, freq, weight, b""

    def encode(self, value: object) -> bytes:
        return b""


class PairText(TEXT):
    format: Format

    """TEXT for `pair_analyzer`: adjacent folded words within a sentence as terms, counted in
    one pass over the text with a cache of folded words, stored as `Counts` (no positions: pair
    terms are never searched as phrases)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(phrase=False, **kwargs)
        self.format = Counts(field_boost=self.format.field_boost)

    def posting_columns(self, value: str) -> Columns:
        """A document's pair terms as `Columns`, without a Python step per word or pair."""
        if len(_FOLDED) >= _CACHE_LIMIT:
            _FOLDED.clear()
        folded = _FOLDED.__getitem__
        found: list[str] = []
        for words in _split(value)[0]:
            if len(words) >= 2:
                found += pairs(list(map(folded, words)))
        counts = Counter(found)
        freqs = list(counts.values())
        boost = float(self.format.field_boost)
        return Columns(list(map(str.encode, counts)), freqs, list(map(boost.__mul__, freqs)), b"", None)

    def index(self, value: object, **kwargs: object) -> Iterator[tuple[bytes, int, float, bytes]]:
        if not isinstance(value, str) or kwargs.get("mode", "index") != "index":
            yield from super().index(value, **kwargs)
            return
        yield from self.posting_columns(value).items()


class ColumnOnly(ID):
    """An ID kept in a sortable column and nowhere else: not a term of the index.

    The content hash is only ever read back by document (to skip unchanged articles), and as an
    indexed ID it cost every article a term of its own, with its own posting list: a large
    share of a short article's index."""

    indexed = False

    def __init__(self, stored: bool = False) -> None:
        super().__init__(stored=stored, sortable=True)


class DigestColumn(ColumnOnly):
    """A hex digest of `size` bytes (the content hash) kept as its bytes in a fixed-width
    column: half the room of the hex text and its length, read back as the same hex text."""

    def __init__(self, size: int = 32) -> None:
        super().__init__()
        self.size = size
        self.column_type = FixedBytesColumn(size)

    def to_column_value(self, value: object) -> bytes:
        if isinstance(value, str) and len(value) == 2 * self.size:
            try:
                digest = bytes.fromhex(value)
            except ValueError:
                digest = b""
            if len(digest) == self.size:  # fromhex skips spaces
                return digest
        raise ValueError(f"a digest column holds {2 * self.size} hex digits, not {value!r}")

    def from_column_value(self, value: bytes) -> str:
        return value.hex()
