"""The story graph saved with the index: one small file per commit, inside the generation.

Story ids change when an article joins or leaves a story, and a column would make every
member of a story whose id changed be rewritten in the commit (delete and re-add, leaving
deleted copies in the segments). The graph instead goes in `stories_<generation>.json` beside
the table of contents of the Whoosh commit it belongs to, written (and synced) before that
commit: a reader opens the commit and then the file of the same number, so it sees either the
old commit with its graph or the new one with its own. A writer killed after the file and
before the commit leaves a file for a generation that no table of contents names; the next
writer writes that generation again and replaces it. A missing file is an empty graph: every
article its own story. Only articles with an edge are in it, so the file stays small.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from search.index.stories.graph import StoryGraph

_NAME_RE = re.compile(r"^stories_(\d+)\.json$")
#: Files of earlier commits kept, for readers that opened one just before the next landed.
KEEP = 3


def path(folder: Path, generation: int) -> Path:
    return folder / f"stories_{generation}.json"


def save(folder: Path, generation: int, graph: StoryGraph) -> None:
    data = {
        "same_event": graph.same_event,
        "edges": [[a, b, w] for a, b, w in graph.edges()],
        "days": graph.days(),
        "stories": graph.stories(),
    }
    target = path(folder, generation)
    temporary = target.with_suffix(".tmp")
    with temporary.open("w", encoding="utf-8") as out:
        json.dump(data, out, ensure_ascii=False, separators=(",", ":"))
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, target)
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def load(folder: Path, generation: int, same_event: float) -> StoryGraph:
    """The graph saved with `generation`, or an empty one when there is none."""
    try:
        data = json.loads(path(folder, generation).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return StoryGraph(same_event)
    return StoryGraph.restore(same_event, data["edges"], data["days"], data["stories"])


def prune(folder: Path, generation: int) -> None:
    """Delete the files of commits before the last `KEEP`, and any left half-written."""
    for entry in folder.iterdir():
        found = _NAME_RE.match(entry.name)
        stale = found is not None and int(found.group(1)) <= generation - KEEP
        half_written = entry.name.startswith("stories_") and entry.name.endswith(".tmp")
        if stale or half_written:
            entry.unlink(missing_ok=True)
