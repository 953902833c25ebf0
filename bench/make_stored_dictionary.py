"""Regenerate `search/index/engine/codec/stored.zstdict`, the Zstandard dictionary stored fields are compressed with.

Each article's stored fields are compressed on their own, and a news article is too short for
a compressor to learn the language first: a dictionary trained on the stored fields of other
articles (the pickled dict the index keeps, so the pickle's structure and the field names are
in it too, and the phrases Vietnamese news repeats: "theo đó", "ủy ban nhân dân") gives it that
start. Zstandard's trainer picks the dictionary's content from the samples.

It is made from tc201805 by default, not from VNTC, the corpus the benchmark measures. An index
can only be read with the dictionary it was written with (the codec checks its checksum), so a
new dictionary needs a new SCHEMA_VERSION.

    python -m bench.make_stored_dictionary [CORPUS.jsonl.gz] [--articles 40000]
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
from itertools import islice
from pathlib import Path

from search.corpus.article import Article
from search.corpus.files import iter_corpus
from search.index.schema import build_schema, to_document

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

#: `search.index.engine.codec.stored.STORED_DICTIONARY_FILE` (not imported: the codec reads it at import).
OUT = Path(__file__).resolve().parent.parent / "search" / "index" / "engine" / "codec" / "stored.zstdict"

#: Zstandard's usual dictionary size: larger ones gained little on news and cost build time.
SIZE = 112 * 1024

#: When the samples say they were indexed (every stored dict carries the time).
INDEXED = "2026-01-01T00:00:00+00:00"


def samples(path: Path, articles: int) -> list[bytes]:
    """The stored fields of the first `articles` articles of `path`, pickled as the index does
    (Whoosh's `PickleColumn` pickles with protocol 2: a dictionary trained on another protocol's
    opcodes left a sixth of its gain on the table)."""
    schema = build_schema()
    found: list[bytes] = []
    for item in islice((a for a in iter_corpus([path]) if isinstance(a, Article)), articles):
        doc = to_document(item, INDEXED)
        found.append(pickle.dumps({name: doc[name] for name in sorted(doc) if schema[name].stored}, 2))
    return found


def main() -> None:
    default = Path(os.environ.get("VNSEARCH_DATA_DIR", "../shared/data")) / "tc201805.jsonl.gz"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, nargs="?", default=default)
    parser.add_argument("--articles", type=int, default=40000)
    args = parser.parse_args()
    OUT.write_bytes(zstd.train_dict(samples(args.corpus, args.articles), SIZE).dict_content)


if __name__ == "__main__":
    main()
