"""Answers: quoted, cited sentences from a searcher's passages, and follow-up questions.

Works on a :class:`~scoqa.search.searcher.Searcher` it is given; the engine and the public
``ask`` (:mod:`scoqa.api`) sit above it.
"""
