"""Finding, opening and creating the index on disk.

Both the indexer and the service go through here so that the version check in
`search.schema` cannot be skipped by one of them.
"""

from __future__ import annotations

from pathlib import Path

from whoosh import index
from whoosh.index import FileIndex

from search.schema import INDEX_NAME, SchemaMismatch, build_schema, other_versions


class IndexMissing(RuntimeError):
    """No index has been built in the directory yet."""


def index_exists(index_dir: Path) -> bool:
    return index_dir.is_dir() and index.exists_in(str(index_dir), indexname=INDEX_NAME)


def open_index(index_dir: Path) -> FileIndex:
    """Open the current-version index, or explain what to run instead."""
    if not index_exists(index_dir):
        stale = other_versions(index_dir)
        if stale:
            raise SchemaMismatch(
                f"the index in {index_dir} was built by an older version of vnsearch "
                f"({', '.join(stale)}); run `vnsearch index --rebuild`"
            )
        raise IndexMissing(f"no index in {index_dir}; run `vnsearch index` to build it")
    return index.open_dir(str(index_dir), indexname=INDEX_NAME)


def create_index(index_dir: Path) -> FileIndex:
    """Create an empty current-version index, replacing any index of that version."""
    index_dir.mkdir(parents=True, exist_ok=True)
    return index.create_in(str(index_dir), build_schema(), indexname=INDEX_NAME)


def remove_other_versions(index_dir: Path) -> None:
    """Delete the files of indexes built by other schema versions (after a rebuild)."""
    for name in other_versions(index_dir):
        for path in index_dir.iterdir():
            if path.name.startswith((f"_{name}_", f"{name}_")):
                path.unlink()
