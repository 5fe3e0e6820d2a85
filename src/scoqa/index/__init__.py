"""The index: embed passages, store them on disk, compare the corpus with them, build and watch.

Imports only :mod:`scoqa.config`, :mod:`scoqa.lexical` and :mod:`scoqa.ingest` from the package:
never the search, answer, interface or tool code above it.
"""
