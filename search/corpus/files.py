"""Reading a corpus: the files under its folders, each into its articles or a `ParseError`.

Scraped text (`.txt`), saved pages (`.html`, `.htm`) and JSON Lines (`.jsonl`), each optionally
gzip-compressed, read with a bound on their size so that no input can fill memory; a bad file
becomes a `ParseError` in the stream and the rest of the batch is read.
"""

from __future__ import annotations

import gzip
import os
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from search.corpus.article import Article
from search.corpus.encodings import EncodingError, decode_text
from search.corpus.errors import READ_ERRORS, NoContentError, ParseError, os_reason
from search.corpus.jsonl import read_jsonl
from search.corpus.scraped import parse_scraped
from search.text.normalize import normalize

#: Largest single article (`Settings.max_article_bytes` unless told otherwise): a file or a
#: JSONL line over it is an error, never read whole.
MAX_ARTICLE_BYTES = 2 * 1024 * 1024

TEXT_SUFFIX = ".txt"
TEXT_SUFFIXES = (TEXT_SUFFIX, ".txt.gz")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz")
PAGE_SUFFIXES = (".html", ".htm", ".html.gz", ".htm.gz")
#: Share of control characters (other than line breaks, tabs and form feeds) above which a
#: text file is taken for binary data that happens to decode.
_BINARY_CONTROL_SHARE = 0.01
_TEXT_CONTROLS = frozenset("\t\n\r\f\v")


def open_input(path: Path) -> BinaryIO:
    """A corpus file for reading as bytes, decompressed when its name ends in ".gz"."""
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


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


#: Which article ids a reader wants (the shard it builds); the others are skipped unparsed.
Wanted = Callable[[str], bool]


def iter_corpus(
    paths: Sequence[Path], max_article_bytes: int = MAX_ARTICLE_BYTES, wanted: Wanted | None = None
) -> Iterator[Article | ParseError]:
    """Every article under `paths` (folders, walked recursively, or single files), and a
    `ParseError` for each input that could not be read; never raises for a bad input.

    With `wanted`, an article whose id it refuses is skipped as soon as its id is known, before
    its text is read (a file's) or cleaned (a JSONL line's), so that each shard's build reads
    the whole corpus at the cost of its own articles; an error found only past the id is then
    reported by the reader that wants the article."""
    for file, root in _corpus_entries(paths):
        yield from read_file(file, root, max_article_bytes, wanted)


def _relative(path: Path, root: Path) -> str:
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        rel = path.as_posix()
    return normalize(rel)


def read_file(
    path: Path, root: Path, max_article_bytes: int = MAX_ARTICLE_BYTES, wanted: Wanted | None = None
) -> Iterator[Article | ParseError]:
    """The articles in one corpus file; `root` is the corpus folder its id is relative to.

    A scraped text file (".txt") or a saved web page (".html", ".htm") is one article whose id
    is its relative path without the extension; JSONL articles carry their own ids. Each may
    be gzip-compressed (".gz" added to the name). No article may be larger than
    `max_article_bytes` (`Settings.max_article_bytes`).
    """
    rel = _relative(path, root)
    limit = max_article_bytes
    if not _is_text(rel):
        # A file name that is not UTF-8 reaches us with surrogate escapes (os.fsdecode).
        shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        yield ParseError(shown, None, "the file name is not UTF-8; rename the file")
    elif not path.exists():
        yield ParseError(rel, None, "no such file or directory")
    elif _has_suffix(path, JSONL_SUFFIXES):
        try:
            stream = open_input(path)
        except OSError as exc:
            yield ParseError(rel, None, f"cannot read file: {os_reason(exc)}")
            return
        with stream:
            yield from read_jsonl(stream, rel, limit, wanted)
    elif _has_suffix(path, (*TEXT_SUFFIXES, *PAGE_SUFFIXES)):
        article_id = re.sub(r"\.[^./]+(?:\.gz)?$", "", rel, flags=re.I)
        if wanted is None or wanted(article_id):
            parse = _parse_text if _has_suffix(path, TEXT_SUFFIXES) else _parse_page
            yield _read_one(path, rel, article_id, parse, limit)
    else:
        yield ParseError(rel, None, "unsupported file type (expected .txt, .html, .htm or .jsonl, each optionally .gz)")


def _is_text(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _read_one(
    path: Path, rel: str, article_id: str, parse: Callable[[bytes, str], Article], limit: int
) -> Article | ParseError:
    """One file holding one article, or the reason it is not one.

    At most `limit` + 1 bytes are read (decompressed, for ".gz"): a larger file, or a gzip
    bomb, is refused without loading it.
    """
    try:
        with open_input(path) as stream:
            data = stream.read(limit + 1)
    except READ_ERRORS as exc:
        return ParseError(rel, None, f"cannot read file: {os_reason(exc)}")
    if len(data) > limit:
        return ParseError(
            rel, None, f"file larger than {limit} bytes (VNSEARCH_MAX_ARTICLE_BYTES); not a single article"
        )
    if not data.strip():
        return ParseError(rel, None, "empty file")
    try:
        article = parse(data, article_id)
    except (NoContentError, EncodingError) as exc:
        return ParseError(rel, None, str(exc))
    return replace(article, path=rel)


def _parse_text(data: bytes, article_id: str) -> Article:
    """A scraped text file in UTF-8 or one of the legacy encodings `search.corpus.encodings` reads."""
    text = decode_text(data).text
    controls = sum(1 for char in text if unicodedata.category(char) == "Cc" and char not in _TEXT_CONTROLS)
    if controls > len(text) * _BINARY_CONTROL_SHARE:
        raise EncodingError(f"binary data, not text ({controls} control characters)")
    return parse_scraped(text, article_id)


def _parse_page(data: bytes, article_id: str) -> Article:
    # Imported here: trafilatura and lxml take a while to import, and most corpora have no pages.
    from search.corpus.saved_pages import parse_page

    return parse_page(data, article_id)
