"""Text: the lowest layer. Unicode normalisation of Vietnamese (NFC, look-alike and invisible
characters, canonical tone placement), diacritic folding, and the Whoosh analyzers built on
them. Imports nothing of the package; everything else builds on it.
"""
