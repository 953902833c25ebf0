"""Where an index's bytes go: by file kind, and by field in the term and posting files.

    python -m bench.sizes INDEX_DIR

Prints the size of each kind of segment file (term file `.trm`, postings `.pst`, stored fields
and columns `.col`, ...) summed over the segments, compound or not, then per indexed field the
number of terms, how many have their postings inlined in the term file, the bytes of their
postings in `.pst` (and per posting there) and of their entries and keys in the term file.
Reads indexes written by Whoosh's W3 codec and by ours (`search.index.engine.codec`), for
before/after figures.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from pathlib import Path

from whoosh.codec.whoosh3 import W3TermInfo, W3TermsReader
from whoosh.filedb.compound import CompoundStorage

from search.index.engine.codec.terms import TermInfo, TermsReader
from search.index.store import live_dir, open_index


def file_sizes(ix) -> Counter:
    """Bytes per file kind (the name after the segment id), over every segment."""
    sizes: Counter = Counter()
    storage = ix.storage
    for segment in ix._segments():
        segid = segment.segment_id()
        if segment.is_compound():
            with storage.open_file(segment.make_filename(".seg")) as dbfile:
                inner = CompoundStorage(dbfile, use_mmap=False)
                for name in inner.list():
                    sizes[name.split(segid, 1)[-1]] += inner.file_length(name)
        else:
            for name in storage.list():
                if segid in name:
                    sizes[name.split(segid, 1)[-1]] += storage.file_length(name)
    return sizes


def field_sizes(ix) -> dict[str, Counter]:
    """Per field: terms, inlined terms, postings bytes in .pst, entry bytes in the term file."""
    fields: dict[str, Counter] = defaultdict(Counter)
    with ix.reader() as reader:
        for leaf, _ in reader.leaf_readers():
            terms = leaf._terms
            if isinstance(terms, TermsReader):
                entries = ((terms._decode(k), k, v, TermInfo.from_bytes(v)) for k, v in terms._items_from(b""))
            elif isinstance(terms, W3TermsReader):
                entries = ((terms._keydecoder(k), k, v, W3TermInfo.from_bytes(v)) for k, v in terms._tindex.items())
            else:
                raise SystemExit(f"unknown terms reader {type(terms).__name__}")
            for (fieldname, _), key, value, info in entries:
                row = fields[fieldname]
                row["terms"] += 1
                row["key bytes"] += len(key)
                row["entry bytes"] += len(value)
                if info.is_inlined():
                    row["inlined"] += 1
                else:
                    length = info.extent()[1]
                    row["pst bytes"] += length[0] if isinstance(length, tuple) else length  # W3 reads a tuple
                    row["pst postings"] += info.doc_frequency()
                row["postings"] += info.doc_frequency()
    return fields


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index_dir", type=Path)
    args = parser.parse_args()
    ix = open_index(args.index_dir)
    print(f"index {live_dir(args.index_dir)}: {ix.doc_count_all()} documents, {len(ix._segments())} segments")
    sizes = file_sizes(ix)
    total = sum(sizes.values())
    print(f"\n{'file':<24} {'MiB':>9} {'share':>6}")
    for name, size in sizes.most_common():
        print(f"{name:<24} {size / 2**20:9.2f} {size / total:6.1%}")
    print(f"{'total':<24} {total / 2**20:9.2f}")
    print(
        f"\n{'field':<10} {'terms':>9} {'inlined':>9} {'postings':>10} {'.pst MiB':>9} {'B/pst posting':>13} "
        f"{'entries MiB':>11} {'keys MiB':>9}"
    )
    for fieldname, row in sorted(field_sizes(ix).items()):
        per = row["pst bytes"] / max(1, row["pst postings"])
        print(
            f"{fieldname:<10} {row['terms']:9d} {row['inlined']:9d} {row['postings']:10d} "
            f"{row['pst bytes'] / 2**20:9.2f} {per:13.1f} {row['entry bytes'] / 2**20:11.2f} "
            f"{row['key bytes'] / 2**20:9.2f}"
        )


if __name__ == "__main__":
    main()
