"""vnsearch: full-text search over Vietnamese news articles, on Whoosh.

The package is cut into layers, each importing only the ones before it:
`text` (normalisation, analysis) → `corpus` (reading files into articles) → `index` (schema,
store, indexer; Whoosh extended in `index.engine`) → `query` (parsing, acronyms, spelling) →
`searching` (searcher, evaluator, results) → `web` and `cli`. `settings` holds the one
settings object the top layers build and pass down. ARCHITECTURE.md draws the data flow.
"""

__version__ = "0.1.0"
