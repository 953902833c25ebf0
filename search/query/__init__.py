"""Query: what a journalist types, as Whoosh queries. Parsing (words, phrases, exclusions, OR,
document numbers), acronyms and their full forms, and "did you mean". May import
`search.text`, `search.corpus` and `search.index`.
"""
