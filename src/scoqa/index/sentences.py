"""Answer units: the sentences of paragraph passages and whole list entries.

A passage is ranked by its best unit as well as by its whole text: all-MiniLM-L6-v2 matches a
question to one sentence far better than to a paragraph that also talks about other things.
The same units are what an answer quotes. Each unit is embedded with its section and date so that
"What happened in Moscow in March 2010?" meets "March 2010: Moscow, Russia: bombers strike".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..ingest.chunk import Chunk, sentence_spans, table_rows


@dataclass(frozen=True)
class Units:
    """All units of an index, grouped by passage.

    Attributes:
        owner: Row of the passage each unit belongs to (non-decreasing).
        spans: (start, end) character offsets of each unit in its passage's text.
        first: ``first[i]:first[i + 1]`` are the units of passage ``i``.
        vectors: Normalised embeddings of the units' indexed text.
    """

    owner: np.ndarray
    spans: np.ndarray
    first: np.ndarray
    vectors: np.ndarray

    def of(self, row: int) -> range:
        """Unit numbers of passage ``row``."""
        return range(int(self.first[row]), int(self.first[row + 1]))

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays to store (``Units(**arrays)`` makes it again)."""
        return {"owner": self.owner, "spans": self.spans, "first": self.first, "vectors": self.vectors}


def unit_spans(chunk: Chunk) -> list[tuple[int, int]]:
    """Spans of a passage's units: one for a list entry, one per row of a table, one per
    sentence otherwise."""
    if chunk.kind == "item":
        return [(0, len(chunk.text))]
    if chunk.tabular:
        return table_rows(chunk.text)
    return sentence_spans(chunk.text)


def unit_text(chunk: Chunk, start: int, end: int) -> str:
    """The indexed text of a unit: section and date (a table row: its caption and column
    headings too), then the unit's words."""
    prefix = " — ".join(p for p in (chunk.section, chunk.lead_in if chunk.tabular else "", chunk.date) if p)
    body = chunk.text[start:end]
    return f"{prefix}: {body}" if prefix else body


def plan_units(
    chunks: Sequence[Chunk],
    dim: int,
    reuse: Callable[[int], np.ndarray | None] | None = None,
) -> tuple[Units, list[int], list[str]]:
    """Split passages into units, taking earlier vectors where given.

    Args:
        chunks: The passages, in index order.
        dim: Embedding dimension.
        reuse: For passage ``i``, the vectors of its units from an earlier build (same indexed
            text, same model), or None.

    Returns:
        The units (rows still to embed are zero), the numbers of those rows, and their texts.
    """
    owner: list[int] = []
    spans: list[tuple[int, int]] = []
    first = [0]
    for row, chunk in enumerate(chunks):
        for start, end in unit_spans(chunk):
            owner.append(row)
            spans.append((start, end))
        first.append(len(owner))
    vectors = np.zeros((len(owner), dim), dtype=np.float32)
    missing: list[int] = []
    for row in range(len(chunks)):
        old = reuse(row) if reuse is not None else None
        span = range(first[row], first[row + 1])
        if old is not None and len(old) == len(span):
            vectors[span.start:span.stop] = old
        else:
            missing.extend(span)
    units = Units(
        owner=np.asarray(owner, dtype=np.int64),
        spans=np.asarray(spans, dtype=np.int64).reshape(-1, 2),
        first=np.asarray(first, dtype=np.int64),
        vectors=vectors,
    )
    return units, missing, [unit_text(chunks[owner[u]], *spans[u]) for u in missing]


def build_units(chunks: Sequence[Chunk], encode: Callable[[list[str]], np.ndarray], dim: int) -> Units:
    """Split passages into units and embed them all."""
    units, missing, texts = plan_units(chunks, dim)
    if missing:
        units.vectors[missing] = encode(texts)
    return units


def unit_texts(chunks: Sequence[Chunk]) -> list[str]:
    """The indexed text of every unit of ``chunks``, in order."""
    return [unit_text(chunk, start, end) for chunk in chunks for start, end in unit_spans(chunk)]

