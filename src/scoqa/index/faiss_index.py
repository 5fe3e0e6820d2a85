"""The FAISS index folder, loaded: :class:`Index`, what the searcher reads from the default backend.

The vectors are searched with FAISS: exactly (``IndexFlatIP``) up to :data:`EXACT_SEARCH_LIMIT`
passages, with HNSW above; BM25 scores come from the bm25s retriever. The files it is read from
and written to are :mod:`scoqa.index.files`' business.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..ingest.chunk import Chunk
from .runs import offsets, runs

#: Up to this many vectors search is exact (IndexFlatIP); above it, HNSW. Measured with
#: ``scoqa bench`` on 2 cores: a one-query exact search takes ~1 ms at 20k vectors but ~3 ms at
#: 50k and 25-50 ms at 100k, against ~10-60 ms to embed the query, so past 20k exact search would
#: stop being a small part of retrieve(); HNSW stays well under a millisecond (README, Performance).
EXACT_SEARCH_LIMIT = 20_000
#: HNSW links per vector: 32 is the usual choice for 384-d embeddings (~256 bytes per vector).
HNSW_M = 32
#: Candidates kept while building; 80 built 1M vectors in ~9 min on 2 shared cores.
HNSW_EF_CONSTRUCTION = 80
#: Candidates kept while searching. Measured at 1M clustered 384-d vectors (M=32, efC=80):
#: recall@10 0.912 / 0.978 / 0.991 at efSearch 64 / 128 / 256, p50 0.27 / 0.42 / 0.58 ms. 256 keeps
#: a margin above 0.95 for larger corpora and for the top 50 that hybrid retrieval asks for.
HNSW_EF_SEARCH = 256


@dataclass
class Index:
    """A loaded index.

    Attributes:
        path: Folder it was loaded from.
        manifest: The parsed ``manifest.json``.
        chunks: Passages, in the order of the vectors.
        vectors: Normalised embeddings, one row per chunk.
        dense: The FAISS index over ``vectors``.
        lexical: The bm25s retriever over the chunks' indexed text.
        units: The arrays of the passages' sentences and list entries with their embeddings
            (:data:`scoqa.index.files.UNIT_ARRAYS`; ``scoqa.index.sentences.Units(**units)``), or
            None for an index written without them (the searcher then computes them).
        tokens: The arrays of the passages' content word-piece vectors, compressed as stored
            (:data:`scoqa.index.files.TOKEN_ARRAYS`; ``scoqa.index.tokens.TokenVectors(**tokens)``),
            or None for an index written without them (the searcher then computes them).
    """

    path: Path
    manifest: dict[str, Any]
    chunks: list[Chunk]
    vectors: np.ndarray
    dense: Any
    lexical: Any
    units: dict[str, np.ndarray] | None = None
    tokens: dict[str, np.ndarray] | None = None
    sentences: SentenceIndex | None = None
    loaded_at: float = field(default_factory=time.time)

    @property
    def build_id(self) -> str:
        """Identifier of the build, changed by every rebuild or update."""
        return str(self.manifest.get("build_id", ""))

    # -- what the searcher reads (scoqa.index.backend.SearchIndex) --
    def dense_top(self, vector: np.ndarray, k: int,
                  allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` rows by inner product: (rows, scores); only ``allowed`` rows when given."""
        n = len(self.chunks)
        if n == 0 or (allowed is not None and not allowed.size):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if allowed is not None:
            return exact_top(self.vectors, vector, k, allowed)
        scores, rows = self.dense.search(vector.reshape(1, -1).astype(np.float32), min(k, n))
        keep = rows[0] >= 0
        return rows[0][keep], scores[0][keep]

    def sentence_top(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
        """Rows of the passages of the ``k`` sentences closest to ``vector`` (:class:`SentenceIndex`)."""
        if self.sentences is None:
            self.sentences = SentenceIndex(require(self.units, "units"))
        return self.sentences.passages(vector, k, allowed)

    def late_tokens(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """The word-piece arrays (:data:`scoqa.index.files.TOKEN_ARRAYS`) of passages ``rows``
        only, as passages ``0 .. len(rows) - 1``: the codes a rerank reads."""
        tokens = require(self.tokens, "tokens")
        first, rows = tokens["first"], np.asarray(rows, dtype=np.int64)
        # One gather from the plain array under the memory map (a memmap slice a row cost more).
        return {**tokens, "codes": np.asarray(tokens["codes"])[runs(first, rows)[1]],
                "first": offsets(first[rows + 1] - first[rows])}

    def bm25_scores(self, terms: list[str]) -> np.ndarray:
        """BM25 score of every passage for indexed ``terms`` (bm25s)."""
        if not terms or not self.chunks:
            return np.zeros(len(self.chunks), dtype=np.float32)
        return np.asarray(self.lexical.get_scores(terms), dtype=np.float32)

    def vocabulary(self) -> dict[str, int]:
        """The BM25 terms with their ids."""
        return dict(getattr(self.lexical, "vocab_dict", {}) or {})

    def document_frequencies(self) -> np.ndarray:
        """Passages holding each BM25 term, by term id (bm25s keeps one column per term)."""
        scores = getattr(self.lexical, "scores", None)
        indptr = np.asarray(scores["indptr"]) if scores else np.zeros(1)
        return np.diff(indptr) if indptr.size > 1 else np.zeros(0)


def exact_top(vectors: np.ndarray, vector: np.ndarray, k: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` of ``rows`` by inner product, searched exactly (a few documents of a corpus)."""
    scores = vectors[rows] @ vector
    shifted = scores + 2.0  # cosines may be negative; keep every row, best first
    k = min(k, shifted.size)
    top = np.argpartition(-shifted, k - 1)[:k]
    top = top[np.argsort(-shifted[top], kind="stable")]
    return rows[top], scores[top]


class SentenceIndex:
    """The passages' sentence units in FAISS, as the passages are (exact up to
    :data:`EXACT_SEARCH_LIMIT` units, HNSW above), so that finding the passages of the sentences
    closest to a question does not read every sentence of a large corpus.

    Args:
        units: The arrays of :data:`scoqa.index.files.UNIT_ARRAYS`.
        index: Their FAISS index as the build saved it; made here when None (an index written
            before it was saved, or a backend that keeps none).
    """

    def __init__(self, units: dict[str, np.ndarray], index: Any = None) -> None:
        self.owner = np.asarray(units["owner"], dtype=np.int64)
        self.first = np.asarray(units["first"], dtype=np.int64)
        self.vectors = np.ascontiguousarray(units["vectors"], dtype=np.float32)
        self.index = index if index is not None else make_faiss_index(self.vectors)[0]

    def passages(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
        """Rows of the passages of the ``k`` sentences closest to ``vector``, best first (a passage
        once for each of its sentences among them); only sentences of ``allowed`` rows when given,
        searched exactly."""
        n = self.owner.size
        if n == 0 or k <= 0 or (allowed is not None and not allowed.size):
            return np.zeros(0, dtype=np.int64)
        if allowed is not None:
            wanted = np.zeros(self.first.size - 1, dtype=bool)
            wanted[allowed] = True
            units = np.flatnonzero(wanted[self.owner])
            if not units.size:
                return np.zeros(0, dtype=np.int64)
            found, _ = exact_top(self.vectors, vector, k, units)
        else:
            _, ids = self.index.search(np.asarray(vector, dtype=np.float32).reshape(1, -1), min(k, n))
            found = ids[0][ids[0] >= 0]
        return self.owner[found]


def require(arrays: dict[str, np.ndarray] | None, part: str) -> dict[str, np.ndarray]:
    """The index's ``part`` ("units", "tokens"), or a ValueError saying to rebuild an index
    written without it: nothing is embedded at query time but the question."""
    if arrays is None:
        raise ValueError(f"the index has no {part} (it was written by hand or by an old scoqa): "
                         "rebuild it with `scoqa index build --force`")
    return arrays


def make_faiss_index(vectors: np.ndarray, exact_limit: int = EXACT_SEARCH_LIMIT) -> tuple[Any, str]:
    """Build the FAISS index for normalised vectors: exact up to ``exact_limit`` rows, HNSW above.

    Args:
        vectors: float32 rows, L2-normalised (inner product = cosine).
        exact_limit: Largest number of rows searched exactly.

    Returns:
        The index and its description for the manifest (``faiss_index``).
    """
    import faiss

    n, dim = vectors.shape if vectors.size else (0, vectors.shape[1] if vectors.ndim == 2 else 0)
    if n <= exact_limit:
        index = faiss.IndexFlatIP(dim)
        kind = "IndexFlatIP"
    else:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH  # saved with the index, so it holds after loading too
        kind = f"IndexHNSWFlat(M={HNSW_M},efConstruction={HNSW_EF_CONSTRUCTION},efSearch={HNSW_EF_SEARCH})"
    if n:
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index, kind
