"""The two engines vnsearch is measured against, on the same articles and query list.

SQLite FTS5 (`unicode61 remove_diacritics 2`) and Tantivy (simple tokenizer, lower case, ASCII
folding). Each peer answers a query the way our first page does: the articles containing any
of its words (phrases kept as phrases) ranked by BM25, the total count, and a highlighted
snippet of the body for each of the top 10, optionally limited to one outlet or in date order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

import tantivy

from search.corpus.article import Article
from search.query.parse import lex
from search.text.normalize import WORD_RE, normalize

TOP = 10


def query_parts(q: str) -> list[list[str]]:
    """The positive words, phrases and compounds of a query as lists of lower-case words, as
    vnsearch's query parser splits them (excluded items and `OR` are dropped: every part is
    OR-ed anyway)."""
    parts = []
    for item in lex(normalize(q).replace("\u201c", '"').replace("\u201d", '"')):
        if item.text == "OR" or item.negated:
            continue
        words = WORD_RE.findall(item.text.lower())
        if item.phrase or len(words) > 1 and not item.text.isalnum():
            parts.append(words)  # a phrase, or a compound such as "TP.HCM" or "96/NQ-BCS"
        else:
            parts.extend([w] for w in words)
    return [p for p in parts if p]


class Fts5:
    name = "SQLite FTS5"

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, check_same_thread=False)

    @staticmethod
    def build(path: Path, articles: Iterable[Article]) -> None:
        db = sqlite3.connect(path)
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute(
            "CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, title, body, source UNINDEXED,"
            " date UNINDEXED, tokenize='unicode61 remove_diacritics 2')"
        )
        db.executemany(
            "INSERT INTO docs VALUES (?, ?, ?, ?, ?)", ((a.id, a.title, a.body, a.source, a.date) for a in articles)
        )
        db.commit()
        db.execute("INSERT INTO docs(docs) VALUES ('optimize')")
        db.commit()
        db.close()

    def search(self, q: str, source: str = "", sort: str = "") -> dict:
        match = " OR ".join('"' + " ".join(p) + '"' for p in query_parts(q))
        where = "docs MATCH ?" + (" AND source = ?" if source else "")
        args = (match, source) if source else (match,)
        order = "date DESC, rank" if sort == "date" else "rank"
        total = self.db.execute(f"SELECT count(*) FROM docs WHERE {where}", args).fetchone()[0]
        rows = self.db.execute(
            f"SELECT id, title, snippet(docs, 2, '<mark>', '</mark>', '…', 40) FROM docs"
            f" WHERE {where} ORDER BY {order} LIMIT {TOP}",
            args,
        ).fetchall()
        return {"total": total, "hits": [{"id": r[0], "title": r[1], "snippet_html": r[2]} for r in rows]}


def _analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("title", stored=True, tokenizer_name="vn")
    builder.add_text_field("body", stored=True, tokenizer_name="vn")
    builder.add_text_field("source", stored=True, tokenizer_name="raw", fast=True)
    builder.add_text_field("date", stored=True, tokenizer_name="raw", fast=True)
    return builder.build()


class Tantivy:
    name = "Tantivy"

    def __init__(self, path: Path) -> None:
        self.index = tantivy.Index(_schema(), path=str(path), reuse=True)
        self.index.register_tokenizer("vn", _analyzer())
        self.index.reload()
        self.searcher = self.index.searcher()
        self.schema = self.index.schema

    @staticmethod
    def build(path: Path, articles: Iterable[Article]) -> None:
        path.mkdir(parents=True, exist_ok=True)
        index = tantivy.Index(_schema(), path=str(path), reuse=False)
        index.register_tokenizer("vn", _analyzer())
        writer = index.writer(heap_size=256_000_000, num_threads=2)
        for a in articles:
            writer.add_document(
                tantivy.Document(id=a.id, title=a.title, body=a.body, source=a.source or "", date=a.date or "")
            )
        writer.commit()
        writer.wait_merging_threads()

    def search(self, q: str, source: str = "", sort: str = "") -> dict:
        text = " OR ".join('"' + " ".join(p) + '"' for p in query_parts(q))
        query = self.index.parse_query(text, ["title", "body"])
        if source:
            query = tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Must, query),
                    (tantivy.Occur.Must, tantivy.Query.term_query(self.schema, "source", source)),
                ]
            )
        kwargs = {"order_by_field": "date"} if sort == "date" else {}
        result = self.searcher.search(query, TOP, count=True, **kwargs)
        snippets = tantivy.SnippetGenerator.create(self.searcher, query, self.schema, "body")
        snippets.set_max_num_chars(240)
        hits = []
        for _, address in result.hits:
            doc = self.searcher.doc(address)
            hits.append(
                {"id": doc["id"][0], "title": doc["title"][0], "snippet_html": snippets.snippet_from_doc(doc).to_html()}
            )
        return {"total": result.count, "hits": hits}


PEERS = {"fts5": Fts5, "tantivy": Tantivy}
