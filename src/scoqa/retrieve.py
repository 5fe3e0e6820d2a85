"""Lexical (BM25) and dense (FAISS) search over a loaded index, and their fusion.

Dense search finds paraphrases; BM25 finds names, dates and numbers that a small embedding
model blurs. The two ranked lists are fused with reciprocal rank fusion (see README, "Retrieval
design", for the measurement behind the choice).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .chunk import Chunk
from .embed import Embedder
from .store import Index, tokenize_for_bm25

MODES = ("hybrid", "dense", "bm25")
#: Reciprocal rank fusion constant (Cormack et al. 2009 use 60).
RRF_K = 60
#: Each ranker contributes this many candidates (at least) to the fusion.
MIN_CANDIDATES = 50


@dataclass(frozen=True)
class Hit:
    """A retrieved passage.

    Attributes:
        text: The passage as it reads in the source.
        score: Relevance score (higher is better; its scale depends on the search mode).
        citation: Where it comes from, for people.
        source: File path relative to the corpus folder.
        section: Section heading(s).
        page: Page number for PDF sources, else None.
        line_start: First line of the passage in the source (1-based).
        line_end: Last line (inclusive).
        chunk_id: Identifier of the passage in the index.
        kind: ``"paragraph"`` or ``"item"`` (a list entry).
        lead_in: For a list entry, the sentence that introduces its list.
        date: For an entry of a dated list, its date.
        dense_score: Cosine similarity of the query and the passage.
    """

    text: str
    score: float
    citation: str
    source: str
    section: str
    page: int | None
    line_start: int
    line_end: int
    chunk_id: str
    kind: str = "paragraph"
    lead_in: str = ""
    date: str = ""
    dense_score: float = 0.0

    @classmethod
    def from_chunk(cls, chunk: Chunk, score: float, dense_score: float = 0.0) -> Hit:
        """Make a hit from an index passage."""
        return cls(
            text=chunk.text,
            score=float(score),
            citation=chunk.citation,
            source=chunk.source,
            section=chunk.section,
            page=chunk.page,
            line_start=chunk.line_start,
            line_end=chunk.line_end,
            chunk_id=chunk.id,
            kind=chunk.kind,
            lead_in=chunk.lead_in,
            date=chunk.date,
            dense_score=float(dense_score),
        )


class Searcher:
    """Search one loaded index with one embedder."""

    def __init__(self, index: Index, embedder: Embedder) -> None:
        self.index = index
        self.embedder = embedder
        self._vocab = set(getattr(index.lexical, "vocab_dict", {}) or {})

    def embed_query(self, query: str) -> np.ndarray:
        """The query's normalised embedding."""
        return self.embedder.encode([query])[0]

    def dense(self, query_vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` rows by inner product: (rows, scores)."""
        n = len(self.index.chunks)
        if n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores, rows = self.index.dense.search(query_vector.reshape(1, -1).astype(np.float32), min(k, n))
        keep = rows[0] >= 0
        return rows[0][keep], scores[0][keep]

    def bm25_scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for ``query`` (zeros when no query term is indexed)."""
        n = len(self.index.chunks)
        tokens = [t for t in tokenize_for_bm25_query(query) if t in self._vocab]
        if not tokens or n == 0:
            return np.zeros(n, dtype=np.float32)
        return np.asarray(self.index.lexical.get_scores(tokens), dtype=np.float32)

    def lexical(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` rows by BM25: (rows, scores); passages scoring 0 are left out."""
        scores = self.bm25_scores(query)
        if not scores.size:
            return np.zeros(0, dtype=np.int64), scores
        k = min(k, scores.size)
        rows = np.argpartition(-scores, k - 1)[:k]
        rows = rows[np.argsort(-scores[rows], kind="stable")]
        rows = rows[scores[rows] > 0]
        return rows, scores[rows]

    def search(self, query: str, k: int, mode: str = "hybrid", query_vector: np.ndarray | None = None) -> list[Hit]:
        """Rank passages for ``query``.

        Args:
            query: The question.
            k: Number of hits.
            mode: ``"hybrid"`` (default), ``"dense"`` or ``"bm25"``.
            query_vector: The query's embedding, if already computed.
        """
        chunks = self.index.chunks
        if mode == "bm25":
            rows, scores = self.lexical(query, k)
            return [Hit.from_chunk(chunks[r], s) for r, s in zip(rows, scores)]
        vector = self.embed_query(query) if query_vector is None else query_vector
        if mode == "dense":
            rows, scores = self.dense(vector, k)
            return [Hit.from_chunk(chunks[r], s, s) for r, s in zip(rows, scores)]
        depth = max(k, MIN_CANDIDATES)
        dense_rows, dense_scores = self.dense(vector, depth)
        lex_rows, _ = self.lexical(query, depth)
        fused: dict[int, float] = {}
        for ranking in (dense_rows, lex_rows):
            for rank, row in enumerate(ranking):
                fused[int(row)] = fused.get(int(row), 0.0) + 1.0 / (RRF_K + rank + 1)
        cosine = dict(zip(map(int, dense_rows), map(float, dense_scores)))
        best = sorted(fused, key=lambda r: (-fused[r], r))[:k]
        hits = []
        for row in best:
            dense_score = cosine.get(row)
            if dense_score is None:
                dense_score = float(self.index.vectors[row] @ vector)
            hits.append(Hit.from_chunk(chunks[row], fused[row], dense_score))
        return hits


def tokenize_for_bm25_query(query: str) -> list[str]:
    """Query terms as the BM25 index knows them (same stop words and stemmer as indexing)."""
    import bm25s

    tokenized = tokenize_for_bm25([query])
    inverse = {v: k for k, v in tokenized.vocab.items()}
    return [inverse[i] for i in tokenized.ids[0]] if isinstance(tokenized, bm25s.tokenization.Tokenized) else []
