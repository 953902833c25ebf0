"""Searching: from a request to a page of results. The searcher a process keeps open, the
evaluator that scores queries over whole posting lists, the page's ranking, facets and
pagination, highlighting and snippets, the time budget, the result cache and autocomplete.
May import every layer below it (`text`, `corpus`, `index`, `query`).
"""
