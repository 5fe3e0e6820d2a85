"""How dense search grows with the corpus: synthetic vectors at 10k, 100k and 1M passages.

For each size this builds the FAISS index that :func:`scoqa.index.faiss_index.make_faiss_index` chooses for
that many vectors (the kind the manifest records), and measures its build time, its size, the
median time of a one-query search (as :mod:`scoqa.search.searcher` searches) and its recall@10 against
exact search; exact search (``IndexFlatIP``) is timed beside it for comparison.

The vectors imitate sentence embeddings: 384-dimensional, L2-normalised, drawn from a mixture of
Gaussian clusters (one cluster per 1,000 vectors, so density stays the same across sizes), and the
queries come from the same mixture. Uniformly random vectors would make approximate search look
either hopeless or trivial; clustered ones are closer to what a real corpus gives.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..index.faiss_index import make_faiss_index

DIM = 384
#: Vectors per cluster of the synthetic mixture.
CLUSTER_SIZE = 1_000
#: Spread of a cluster around its (unit) centre, per dimension: a vector's cosine with its
#: centre is then about 0.65, like a passage with the typical passage of its topic.
CLUSTER_SPREAD = 0.06
_BLOCK = 100_000  # rows generated at a time, to keep float64 temporaries out of memory

#: ``report(line)``, called with a progress line for the terminal.
ReportFn = Callable[[str], None]


@dataclass(frozen=True)
class ScaleResult:
    """Dense search over ``vectors`` synthetic passages.

    Attributes:
        vectors: Number of indexed vectors.
        index: The FAISS index the size policy picked (as written to the manifest).
        build_seconds: Time to build that index (``make_faiss_index``).
        index_mb: Size of the serialised index in MiB (what ``dense.faiss`` takes on disk).
        rss_growth_mb: Growth of this process's resident memory while building it, in MiB.
        search_p50_ms: Median time of a one-query top-10 search.
        search_p95_ms: 95th percentile of the same.
        recall_at_10: Share of the exact top 10 that the index returns, averaged over queries.
        exact_search_p50_ms: Median time of the same searches with exact ``IndexFlatIP``.
        queries: Number of queries timed.
    """

    vectors: int
    index: str
    build_seconds: float
    index_mb: float
    rss_growth_mb: float
    search_p50_ms: float
    search_p95_ms: float
    recall_at_10: float
    exact_search_p50_ms: float
    queries: int


def synthetic_vectors(n: int, queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` clustered, normalised 384-d vectors and ``queries`` queries from the same mixture.

    Returns:
        ``(vectors, queries)`` as float32 arrays of shape ``(n, 384)`` and ``(queries, 384)``.
    """
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // CLUSTER_SIZE), DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)

    def draw(count: int) -> np.ndarray:
        rows = centres[rng.integers(0, len(centres), count)]
        rows += rng.standard_normal((count, DIM), dtype=np.float32) * np.float32(CLUSTER_SPREAD)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        return rows

    vectors = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, _BLOCK):
        vectors[start:start + _BLOCK] = draw(min(_BLOCK, n - start))
    return vectors, draw(queries)


def recall_at_k(found: np.ndarray, truth: np.ndarray, k: int = 10) -> float:
    """Share of each row of ``truth``'s first ``k`` ids that the same row of ``found`` holds in its
    first ``k``, averaged over rows (1.0: the exact top ``k`` every time).

    Raises:
        ValueError: if the two do not have one row per query each, or ``k`` < 1.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if len(found) != len(truth):
        raise ValueError(f"found has {len(found)} rows and truth {len(truth)}: give one row per query each")
    if not len(truth):
        return 0.0
    pairs = zip(np.asarray(found).tolist(), np.asarray(truth).tolist())
    return float(np.mean([len(set(f[:k]) & set(t[:k])) / k for f, t in pairs]))


def _search_times_ms(index: object, queries: np.ndarray, k: int = 10) -> np.ndarray:
    """Milliseconds of one-query searches, one per query row."""
    times = np.empty(len(queries))
    for i, query in enumerate(queries):
        started = time.perf_counter()
        index.search(query.reshape(1, -1), k)  # type: ignore[attr-defined]
        times[i] = time.perf_counter() - started
    return times * 1000.0


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def measure_scale(n: int, queries: int = 200, seed: int = 0) -> ScaleResult:
    """Build the policy's index over ``n`` synthetic vectors and measure it against exact search.

    Args:
        n: Number of vectors (>= 10).
        queries: Number of queries to time and to compute recall over.
        seed: Seed of the synthetic data.

    Raises:
        ValueError: if ``n`` or ``queries`` is too small to measure anything.
    """
    import faiss

    if n < 10:
        raise ValueError(f"a scale size must be at least 10 vectors, got {n}")
    if queries < 1:
        raise ValueError(f"the number of scale queries must be >= 1, got {queries}")
    vectors, query_rows = synthetic_vectors(n, queries, seed)
    # Ground truth without a second copy of the vectors: brute force straight on the array.
    _, truth = faiss.knn(query_rows, vectors, 10, faiss.METRIC_INNER_PRODUCT)
    exact = faiss.IndexFlatIP(DIM)
    exact.add(vectors)
    exact_times = _search_times_ms(exact, query_rows)
    del exact

    rss_before = _rss_mb()
    started = time.perf_counter()
    index, kind = make_faiss_index(vectors)
    build_seconds = time.perf_counter() - started
    rss_growth = max(0.0, _rss_mb() - rss_before)
    del vectors
    times = _search_times_ms(index, query_rows)
    _, found = index.search(query_rows, 10)
    recall = recall_at_k(found, truth)
    index_mb = faiss.serialize_index(index).nbytes / 2**20
    return ScaleResult(
        vectors=n,
        index=kind,
        build_seconds=build_seconds,
        index_mb=index_mb,
        rss_growth_mb=rss_growth,
        search_p50_ms=float(np.percentile(times, 50)),
        search_p95_ms=float(np.percentile(times, 95)),
        recall_at_10=recall,
        exact_search_p50_ms=float(np.percentile(exact_times, 50)),
        queries=queries,
    )


def run_scale(sizes: Sequence[int], queries: int = 200, report: ReportFn | None = None) -> list[ScaleResult]:
    """Measure :func:`measure_scale` at each size, smallest first."""
    results = []
    for n in sorted(sizes):
        if report is not None:
            report(f"scale: {n:,} synthetic vectors ...")
        results.append(measure_scale(n, queries))
    return results
