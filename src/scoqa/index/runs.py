"""Arrays that hold every passage's items one passage after another, split by offsets.

The index stores per-passage runs this way: a passage's sentence units
(:class:`scoqa.index.sentences.Units`) and its word-piece codes
(:class:`scoqa.index.tokens.TokenVectors`) are rows ``first[i]:first[i + 1]`` of one array.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def offsets(sizes: Sequence[int] | np.ndarray) -> np.ndarray:
    """The ``first`` array of runs of ``sizes`` items: where each starts, and the total last."""
    first = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=first[1:])
    return first


def runs(first: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the items of passages ``rows`` lie in an array that ``first`` splits into passages
    (``first[i]:first[i + 1]`` are passage ``i``'s items), found without a loop over the rows.

    Returns:
        ``filled``, the positions in ``rows`` of the passages that have items; ``ids``, their
        items' positions, passage after passage; and ``starts``, where each filled passage's run
        begins in ``ids`` (for ``np.ufunc.reduceat``).
    """
    rows = np.asarray(rows, dtype=np.int64)
    begin = first[rows]
    counts = first[rows + 1] - begin
    filled = np.flatnonzero(counts)
    counts = counts[filled]
    starts = np.zeros(filled.size, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    ids = np.repeat(begin[filled] - starts, counts) + np.arange(int(counts.sum()), dtype=np.int64)
    return filled, ids, starts
