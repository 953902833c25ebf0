"""A corpus for comparing a sharded index with one index: real Vietnamese text (the bundled
articles and the KTLAB sample), cut into many articles so that shards hold different mixes,
with what makes ranking and counting differ when done wrong: exact copies under other ids
(equal scores), re-posts under another headline with an agency's trailer, dates of every
precision and none (equal date keys), some without an outlet; with the KTLAB sample's coverage
of one event by several outlets, stories of several articles spread over the shards.
"""

from __future__ import annotations

import json
from pathlib import Path

from search.corpus.files import iter_corpus
from tests.conftest import CORPUS, ROOT

KTLAB = ROOT / "tests" / "data" / "ktlab-sample.jsonl"
_DATES = ("2013-05-02", "2013-05", "2013", None, "2019-11-30", "2022-01-15")


def write_corpus(path: Path) -> Path:
    """The corpus as one JSONL file at `path`."""
    records = []
    for n, article in enumerate(a for a in iter_corpus([CORPUS, KTLAB]) if not hasattr(a, "reason")):
        base = {"title": article.title, "body": article.body, "date": article.date, "source": article.source}
        records.append({"id": article.id, **base})
        records.append({"id": f"copy/{article.id}", **base})  # syndicated: the same text again
        if n % 2:  # re-posted by an agency's client: its own headline, the agency's trailer
            reposted = {**base, "title": f"Tin tổng hợp: {article.title[:40]}", "source": "baotintuc.vn"}
            records.append({"id": f"repost/{article.id}", **reposted, "body": f"{article.body}\n\nTheo TTXVN"})
        sentences = article.body.replace("\n\n", " ").split(". ")
        pieces = sentences + [". ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4)]
        for p, paragraph in enumerate(pieces):
            if len(paragraph) < 40:
                continue
            records.append(
                {
                    "id": f"{article.id}/p{p}",
                    "title": paragraph[:60],
                    "body": paragraph,
                    "date": _DATES[(n + p) % len(_DATES)],
                    "source": article.source if p % 3 else None,
                }
            )
    with open(path, "w", encoding="utf-8") as stream:
        for record in records:
            stream.write(json.dumps({k: v for k, v in record.items() if v is not None}, ensure_ascii=False) + "\n")
    return path


def queries() -> list[tuple[str, str | None, str]]:
    """(query, outlet or None, sort) from the benchmark's list, and some that match here."""
    found = []
    for line in (ROOT / "bench" / "queries.tsv").read_text(encoding="utf-8").splitlines():
        q, source, sort = (line.split("\t") + ["", ""])[:3]
        found.append((q, source or None, sort or "relevance"))
    for q in ("bảo hiểm xã hội", "bao hiem y te", "BHXH", '"tuyên truyền"', "Nga -Pskov", "nhiệu quả", "Quảng Ngãi"):
        found += [(q, None, "relevance"), (q, None, "date")]
    return found
