"""vnsearch: full-text search over Vietnamese news articles, on Whoosh."""

__version__ = "0.1.0"
