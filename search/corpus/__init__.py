"""Corpus: turning input files into clean `Article`s. Readers for scraped text, saved pages,
JSON Lines and legacy encodings; the rules that remove site chrome and read metadata; dates as
articles have them. May import `search.text`.
"""
