"""Index: the schema and its fields, the store (generations, the write lock), the indexer that
brings articles in, and the posting pool writers keep. Whoosh's internals are touched only in
`search.index.engine` (its codec and readers/writers). May import `search.text` and
`search.corpus`.
"""
