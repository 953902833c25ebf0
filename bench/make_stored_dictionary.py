"""Regenerate `search/index/engine/codec/stored.zdict`, the preset dictionary stored fields are compressed with.

zlib compresses each article's stored fields on their own, and a news article is too short for
it to learn the language first: a preset dictionary of the phrases Vietnamese news repeats
("theo đó", "ủy ban nhân dân") takes a fifth off (VNTC) to a quarter off (short items of
tc201805) the stored text. The dictionary is the most frequent two-word phrases of a corpus,
the most frequent last (zlib finds matches near the end soonest), up to zlib's 32 KiB.

It is made from tc201805 by default, not from VNTC, the corpus the benchmark measures. An index
can only be read with the dictionary it was written with (the codec checks its checksum), so a
new dictionary needs a new SCHEMA_VERSION.

    python -m bench.make_stored_dictionary [CORPUS.jsonl.gz] [--articles 10000]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
from collections import Counter
from itertools import islice
from pathlib import Path

from search.text.normalize import WORD_RE, normalize

#: `search.index.engine.codec.stored.STORED_DICTIONARY_FILE` (not imported: the codec reads it at import).
OUT = Path(__file__).resolve().parent.parent / "search" / "index" / "engine" / "codec" / "stored.zdict"

#: zlib's window: a preset dictionary longer than this is cut to its last 32 KiB.
LIMIT = 32 * 1024


def dictionary(path: Path, articles: int) -> bytes:
    counts: Counter[str] = Counter()
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        for line in islice(stream, articles):
            record = json.loads(line)
            words = WORD_RE.findall(normalize(f"{record.get('title') or ''} {record.get('body') or ''}"))
            counts.update(f"{a} {b}" for a, b in zip(words, words[1:]))
    parts: list[bytes] = []
    size = 0
    for phrase, _ in counts.most_common():
        encoded = f"{phrase} ".encode()
        if size + len(encoded) > LIMIT:
            break
        parts.append(encoded)
        size += len(encoded)
    return b"".join(reversed(parts))


def main() -> None:
    default = Path(os.environ.get("VNSEARCH_DATA_DIR", "../shared/data")) / "tc201805.jsonl.gz"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, nargs="?", default=default)
    parser.add_argument("--articles", type=int, default=10000)
    args = parser.parse_args()
    OUT.write_bytes(dictionary(args.corpus, args.articles))


if __name__ == "__main__":
    main()
