"""A sharded index on disk: which shard an article belongs to, and the manifest naming the set.

Layout: the index folder is as for one index (`search.index.store`): `CURRENT` names the live
`gen-...` folder and `WRITELOCK` is the one write lock. A sharded generation holds, instead of
a Whoosh index, one Whoosh index per shard (`shard-000/`, `shard-001/`, ...) and `SHARDS`, the
manifest: how many shards, how ids are routed, and the Whoosh generation of each shard that
makes up the set's current commit. So one pointer (`CURRENT`) names the set, a rebuild
switches every shard at once, and a run that changes several shards becomes visible only when
it replaces the manifest (see `search.index.engine.pinned` for how the older generations
stay readable until then). An index with one shard is today's layout: no manifest.

Routing: the first 8 bytes of the SHA-256 of the article id (UTF-8), mapped to a shard by jump
consistent hashing (Lamping and Veach): the same on every run and machine, whatever Python's
hash seed, and a change from N to N+1 shards would move only the articles the new shard takes.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

from whoosh import index
from whoosh.index import FileIndex
from whoosh.scoring import BM25F, WeightingModel
from whoosh.searching import Searcher

from search.index.engine.pinned import latest_generation as latest_toc
from search.index.engine.readers import column, newest_searcher
from search.index.schema import INDEX_NAME, SCHEMA_VERSION, SchemaMismatch, other_versions
from search.index.store import IndexMissing, index_exists, live_dir

MANIFEST = "SHARDS"
#: How ids map to shards; recorded in the manifest so that a future scheme is told apart.
ROUTE = "sha256-jump"
_FORMAT = 1
#: Shards one index may have: a folder each, and a searcher each in every serving process.
MAX_SHARDS = 256


def shard_of(article_id: str, shards: int) -> int:
    """The shard (0 to `shards` - 1) that holds `article_id`."""
    key = int.from_bytes(hashlib.sha256(article_id.encode("utf-8")).digest()[:8], "big")
    return _jump(key, shards)


def _jump(key: int, buckets: int) -> int:
    """Jump consistent hash of a 64-bit key (Lamping and Veach, 2014)."""
    bucket, candidate = -1, 0
    while candidate < buckets:
        bucket = candidate
        key = (key * 2862933555777941757 + 1) & 0xFFFFFFFFFFFFFFFF
        candidate = int((bucket + 1) * ((1 << 31) / ((key >> 33) + 1)))
    return bucket


def shard_name(shard: int) -> str:
    return f"shard-{shard:03d}"


@dataclass(frozen=True)
class Manifest:
    """The state of a set: `generations[k]` is the Whoosh generation of shard k it is made of;
    `commit` counts the set's commits (readers key their caches on it)."""

    shards: int
    generations: tuple[int, ...]
    commit: int = 1
    schema: int = SCHEMA_VERSION
    route: str = ROUTE
    #: A set of one: an index in today's layout, read as a set (Ray serves it so); no file.
    single: bool = False

    def advanced(self, changed: dict[int, int]) -> Manifest:
        """The next commit: the shards in `changed` at their new generations."""
        generations = tuple(changed.get(k, g) for k, g in enumerate(self.generations))
        return replace(self, generations=generations, commit=self.commit + 1)

    def to_json(self) -> dict[str, object]:
        return {
            "format": _FORMAT,
            "shards": self.shards,
            "route": self.route,
            "schema": self.schema,
            "commit": self.commit,
            "generations": list(self.generations),
        }


def is_sharded(generation_dir: Path) -> bool:
    return (generation_dir / MANIFEST).is_file()


#: The manifest last read from each folder, by the identity of its file: readers look at it
#: before every search, and it changes only when a commit replaces it (a new inode).
_READ: dict[Path, tuple[tuple[int, int, int], dict]] = {}


def _manifest_data(generation_dir: Path) -> dict:
    path = generation_dir / MANIFEST
    stat = path.stat()
    identity = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    found = _READ.get(path)
    if found is None or found[0] != identity:
        if len(_READ) > 64:
            _READ.clear()
        found = _READ[path] = (identity, json.loads(path.read_text(encoding="utf-8")))
    return found[1]


def read_manifest(generation_dir: Path, check_schema: bool = True) -> Manifest:
    """The manifest of a sharded generation; `IndexMissing` when it cannot be read, and
    `SchemaMismatch` for a set another schema wrote (unless not `check_schema`: a rebuild
    only needs its number of shards)."""
    try:
        data = _manifest_data(generation_dir)
        manifest = Manifest(
            shards=int(data["shards"]),
            generations=tuple(int(g) for g in data["generations"]),
            commit=int(data["commit"]),
            schema=int(data["schema"]),
            route=str(data["route"]),
        )
    except FileNotFoundError:
        raise IndexMissing(f"no shard manifest in {generation_dir}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise IndexMissing(f"{generation_dir / MANIFEST} is damaged ({exc}); run `vnsearch index --rebuild`") from None
    if manifest.route != ROUTE or len(manifest.generations) != manifest.shards:
        raise IndexMissing(f"{generation_dir / MANIFEST} is not one this version reads; run `vnsearch index --rebuild`")
    if check_schema and manifest.schema != SCHEMA_VERSION:
        raise SchemaMismatch(
            f"the index in {generation_dir.parent} was built by another version of vnsearch "
            f"(schema {manifest.schema}); run `vnsearch index --rebuild`"
        )
    return manifest


def write_manifest(generation_dir: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically: this is the commit of a run over several shards."""
    temp = generation_dir / f"{MANIFEST}.tmp"
    with open(temp, "w", encoding="utf-8") as stream:
        json.dump(manifest.to_json(), stream)
        stream.write("\n")
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temp, generation_dir / MANIFEST)
    fd = os.open(generation_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def shard_count(index_dir: Path, check_schema: bool = True) -> int | None:
    """Shards of the live index: 1 for one index (today's layout, or another schema's, which
    its writer refuses with a message), None when there is none."""
    try:
        live = live_dir(index_dir)
    except IndexMissing:
        return None
    if is_sharded(live):
        return read_manifest(live, check_schema).shards
    if index_exists(index_dir) or other_versions(live):
        return 1
    return None


def present(index_dir: Path) -> bool:
    """Whether there is a live index, of one shard or several."""
    try:
        return shard_count(index_dir) is not None
    except (IndexMissing, SchemaMismatch):
        return True  # there is one, if damaged or old: opening it says what to do


def live_set(index_dir: Path) -> tuple[Path, Manifest]:
    """The live generation folder and its manifest; an index in today's layout is a set of one
    whose commit is its Whoosh generation."""
    live = live_dir(index_dir)
    if is_sharded(live):
        return live, read_manifest(live)
    generation = latest_toc(live)
    if generation < 0:
        stale = other_versions(live)
        if stale:
            raise SchemaMismatch(
                f"the index in {index_dir} was built by an older version of vnsearch "
                f"({', '.join(stale)}); run `vnsearch index --rebuild`"
            )
        raise IndexMissing(f"no index in {index_dir}; run `vnsearch index` to build it")
    return live, Manifest(1, (generation,), commit=generation, single=True)


def changed_at(generation_dir: Path, manifest: Manifest) -> float:
    """When the set last changed (seconds since the epoch): its manifest is replaced by every
    commit; a set of one changes with its table of contents."""
    if manifest.single:
        return (generation_dir / f"_{INDEX_NAME}_{manifest.generations[0]}.toc").stat().st_mtime
    return (generation_dir / MANIFEST).stat().st_mtime


def open_shard(generation_dir: Path, shard: int) -> FileIndex:
    """Shard `shard` of a sharded generation, as a Whoosh index (its newest commit on disk;
    readers open the generation the manifest names); shard 0 of a set of one is the folder's
    own index."""
    where = generation_dir / shard_name(shard) if is_sharded(generation_dir) else generation_dir
    if not index.exists_in(str(where), indexname=INDEX_NAME):
        raise IndexMissing(f"shard {shard} of {generation_dir} is missing; run `vnsearch index --rebuild`")
    return index.open_dir(str(where), indexname=INDEX_NAME)


def shard_searcher(
    generation_dir: Path,
    manifest: Manifest,
    shard: int,
    weighting: WeightingModel | None = None,
    current: Searcher | None = None,
    ix: FileIndex | None = None,
) -> Searcher:
    """A searcher on shard `shard` as the manifest names it (reusing `current`'s readers of
    unchanged segments). `OSError` when that generation was deleted since the manifest was
    read: a writer switched the set meanwhile, and the manifest is to be read again."""
    ix = ix or open_shard(generation_dir, shard)
    return newest_searcher(ix, current, weighting or BM25F(), generation=manifest.generations[shard])


def stored_hashes(index_dir: Path) -> dict[str, str]:
    """Article id -> content hash of every article in the live set, as its readers see it."""
    live = live_dir(index_dir)
    manifest = read_manifest(live)
    found: dict[str, str] = {}
    for shard in range(manifest.shards):
        with shard_searcher(live, manifest, shard) as searcher:
            reader = searcher.reader()
            ids, hashes = column(reader, "id"), column(reader, "hash")
            found.update((ids[n], hashes[n]) for n in reader.all_doc_ids())
    return found
