"""Whether two checkouts answer the same: JSON result pages of a distinct list, compared byte for byte.

    python -m bench.same_pages INDEX_DIR LIST --base OTHER_CHECKOUT [--base-index DIR] [--count 3000]

A change meant only to make searching faster must not move a hit, a snippet, a highlight or a
suggestion. Each checkout runs the list in its own child process (the way `bench.alternate`
runs them, so each imports its own `search`), writing every page as the API gives it
(`SearchResult.to_json`, less the time it took); this process compares them line by line and
prints how many differ, with the first few. The requests vary the way the web pages ask:
every other one collapses stories, every fifth asks for the second page, every seventh for a
timeline by month. With `--base-index`, the base reads another build of the same articles (when
the schema changed between the checkouts); `--ignore updated` then leaves out the one field two
builds answer differently (an undated article's `updated` is when it was indexed).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import distinct
from bench.alternate import check_imports

ROOT = Path(__file__).resolve().parent.parent

#: What each child runs, in its own checkout: only the API both versions share.
CHILD = """
import json, sys
from pathlib import Path
from bench import distinct
from search.query.acronyms import load_synonyms
from search.query.parse import QueryError
from search.searching.results import SearchRequest
from search.searching.searcher import SearchIndex

index_dir, listed, count, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
index = SearchIndex(Path(index_dir), load_synonyms())
with open(out, "w", encoding="utf-8") as stream:
    for number, (q, source, sort) in enumerate(distinct.read(Path(listed))[:count]):
        request = SearchRequest(
            q=q,
            source=source or None,
            sort=sort or "relevance",
            collapse=number % 2 == 0,
            page=2 if number % 5 == 4 else 1,
            histogram="month" if number % 7 == 6 else None,
        )
        try:
            page = index.search(request).to_json()
            page.pop("took_ms")
        except QueryError as error:
            page = {"error": str(error)}
        stream.write(json.dumps(page, ensure_ascii=False, sort_keys=True) + "\\n")
"""


def pages(checkout: Path, index_dir: Path, listed: Path, count: int, out: Path) -> list[str]:
    """The JSON lines of `checkout`'s answers to the first `count` queries of `listed`."""
    subprocess.run(
        [sys.executable, "-c", CHILD, str(index_dir), str(listed), str(count), str(out)],
        cwd=checkout,
        check=True,
    )
    return out.read_text(encoding="utf-8").splitlines()


def without(line: str, keys: set[str]) -> str:
    """A page's JSON line with `keys` left out at every depth."""

    def strip(value: object) -> object:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in keys}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(strip(json.loads(line)), ensure_ascii=False, sort_keys=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("listed", type=Path)
    parser.add_argument("--base", type=Path, required=True, help="the checkout whose answers are the reference")
    parser.add_argument("--base-index", type=Path, help="the index the base reads (default: INDEX_DIR)")
    parser.add_argument("--count", type=int, default=distinct.TIMED)
    parser.add_argument("--ignore", action="append", default=[], metavar="KEY", help="a key left out wherever it is")
    args = parser.parse_args()
    sides = {
        "base": (args.base.resolve(), (args.base_index or args.index_dir).resolve()),
        "head": (ROOT, args.index_dir.resolve()),
    }
    check_imports(parser, [checkout for checkout, _ in sides.values()])
    with tempfile.TemporaryDirectory(prefix="vnsearch-pages-") as work:
        answers = {
            name: pages(checkout, index_dir, args.listed.resolve(), args.count, Path(work) / f"{name}.jsonl")
            for name, (checkout, index_dir) in sides.items()
        }
    if args.ignore:
        answers = {name: [without(line, set(args.ignore)) for line in lines] for name, lines in answers.items()}
    queries = distinct.read(args.listed)
    differing = [n for n, (a, b) in enumerate(zip(answers["base"], answers["head"])) if a != b]
    differing += list(range(min(map(len, answers.values())), max(map(len, answers.values()))))
    for number in differing[:5]:
        print(f"query {number} {queries[number]!r} differs:")
        for name in sides:
            print(f"  {name}: {answers[name][number][:600] if number < len(answers[name]) else '(none)'}")
    hits = sum(len(json.loads(line).get("hits", ())) for line in answers["head"])
    suggestions = sum(json.loads(line).get("suggestion") is not None for line in answers["head"])
    print(
        f"{len(answers['head'])} pages ({hits} hits, {suggestions} suggestions): "
        f"{len(differing)} differ, {len(answers['head']) - len(differing)} byte-identical"
    )
    if differing:
        sys.exit(1)


if __name__ == "__main__":
    main()
