"""Stories: copies of an article and other outlets' coverage of the same event, grouped at
index time (issue 13).

- `text`: what articles are compared by (folded words, MinHash signatures, TF-IDF vectors).
- `graph`: stories from the edges between articles, incrementally and independent of order.
- `pool`: the two tests of a pair, and grouping a whole set at once (a fresh build).
- `field`: the index column that keeps each article's copy signature.
- `saved`: the graph saved beside each commit of the index.
- `update`: the indexer's side: grouping a fresh build, bringing the graph along on updates.
"""
