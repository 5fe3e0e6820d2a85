"""Evaluation and benchmarks (``scoqa eval``, ``scoqa bench``): never imported by the runtime.

The CLI imports these modules inside the ``eval`` and ``bench`` commands only.
"""
