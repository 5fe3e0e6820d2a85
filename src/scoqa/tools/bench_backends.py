"""The index backends at scale: the same synthetic passages saved into the faiss folder and into a
Qdrant Edge shard through scoqa's own ``Backend.save``, and searched through its own ``dense_top``.

Each synthetic passage is what a build hands a backend: a record, a 384-d normalised vector (the
clustered mixture of :mod:`.bench_scale`), a BM25 row (:data:`WORDS` words drawn from a Zipf
vocabulary, indexed by bm25s as the build does) and :data:`PIECES` word-piece codes of 384 bytes
(``uint8``, as :mod:`scoqa.index.tokens` stores them; random bytes). Sentence units are left out.

Each size and backend runs in two new processes, so that each memory figure is that process's own:

* build: ``Backend.save`` (faiss: the index folder, its FAISS index HNSW above 20k passages;
  qdrant-edge: the upserts, then Edge's optimize, which builds the HNSW graphs), timed, with the
  process's peak RSS and the folder's bytes on disk afterwards;
* serve: opens the index and answers the queries one at a time: the dense top 10 (recall@10
  against exact search), then the rerank's shape, dense top 30 reordered by MaxSim over the word
  pieces (faiss: :func:`scoqa.search.rerank.maxsim` in the process; qdrant-edge: one query, a
  ``MAX_SIM`` over the ``late`` multivector with the dense top 30 as its prefetch). Its RSS growth
  is what the opened index holds: for faiss ``store.load_index`` (records, vectors, FAISS, bm25s,
  word-piece codes); for qdrant-edge the open shard and what the queries paged in, without the
  records and codes that scoqa's ``load`` would also read (see docs/performance.md).
"""

from __future__ import annotations

import multiprocessing
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np

from .bench_scale import DIM, ReportFn, recall_at_k, synthetic_vectors

#: Backends the scale bench can measure, by their ``SCOQA_BACKEND`` name.
SCALE_BACKENDS = ("faiss", "qdrant-edge")
#: Word pieces per synthetic passage (36-50 measured on the report, docs/performance.md).
PIECES = 40
#: Words per synthetic passage and the size of the vocabulary they are drawn from.
WORDS = 60
VOCABULARY = 20_000
#: Word pieces of a synthetic question, and the candidates the rerank reorders (the searcher's
#: ``RERANK_DEPTH``).
QUESTION_PIECES = 8
RERANK_DEPTH = 30
K = 10


@dataclass(frozen=True)
class BackendScaleResult:
    """One backend holding ``passages`` synthetic passages.

    Attributes:
        backend: ``faiss`` or ``qdrant-edge``.
        passages: Passages saved.
        pieces: Word pieces per passage (each 384 bytes).
        build_seconds: ``Backend.save`` of all of them (qdrant-edge: with its optimize).
        build_peak_rss_mb: Peak RSS of the build process, synthetic data included, in MiB.
        build_peak_anon_mb: Peak of its anonymous part (heap: what must fit in RAM; the rest is
            pages of the index's files, which the kernel can drop and read again), sampled.
        disk_mb: Bytes the index takes on disk afterwards (allocated blocks), in MiB.
        disk_bytes_per_passage: ``disk`` bytes / passages.
        serve_rss_mb: RSS growth of a new process from opening the index to after the queries, in MiB.
        serve_anon_mb: The anonymous part of that growth.
        serve_bytes_per_passage: That growth in bytes / passages.
        search_p50_ms, search_p95_ms: A one-query dense top 10 (``SearchIndex.dense_top``).
        recall_at_10: Of that top 10 against exact search, averaged over the queries.
        rerank_p50_ms, rerank_p95_ms: Dense top 30 reordered by MaxSim over the word pieces.
        queries: Queries timed.
    """

    backend: str
    passages: int
    pieces: int
    build_seconds: float
    build_peak_rss_mb: float
    build_peak_anon_mb: float
    disk_mb: float
    disk_bytes_per_passage: float
    serve_rss_mb: float
    serve_anon_mb: float
    serve_bytes_per_passage: float
    search_p50_ms: float
    search_p95_ms: float
    recall_at_10: float
    rerank_p50_ms: float
    rerank_p95_ms: float
    queries: int


def folder_bytes(folder: Path) -> int:
    """Bytes the files under ``folder`` take on disk (allocated blocks: Qdrant preallocates its
    files in 32 MiB chunks, and their unwritten part takes no room)."""
    return sum(p.stat().st_blocks * 512 for p in Path(folder).rglob("*") if p.is_file())


def _memory_mb() -> dict[str, float]:
    """This process's ``VmHWM`` (peak RSS), ``VmRSS``, ``RssAnon`` and ``RssFile`` in MiB (Linux)."""
    fields = {}
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
            fields[name] = int(value.split()[0]) / 1024
    return fields


class _AnonPeak:
    """The largest ``RssAnon`` seen while it runs, sampled every ``interval`` seconds (the kernel
    keeps the peak of the whole RSS only)."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, _memory_mb()["RssAnon"])
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _memory_mb()["RssAnon"])


def _codec(n: int) -> Any:
    """The codec the synthetic codes are made with: one byte a dimension over [-0.5, 0.5]."""
    from ..index.tokens import TokenCodec

    return TokenCodec(np.zeros(DIM, np.float32), np.zeros((0, 0), np.float32), np.full(DIM, -0.5, np.float32),
                      np.full(DIM, 1 / 255, np.float32), n * PIECES, "uint8")


def synthetic_index(n: int, seed: int = 0) -> dict[str, Any]:
    """``n`` synthetic passages as a build hands them to ``Backend.save``: the keyword arguments
    ``manifest``, ``chunks``, ``vectors``, ``lexical``, ``units`` (None) and ``tokens``."""
    from ..index.files import new_manifest
    from ..index.tokens import TokenVectors
    from ..ingest.chunk import Chunk
    from ..lexical import make_bm25

    vectors, _ = synthetic_vectors(n, 0, seed)
    rng = np.random.default_rng(seed + 1)
    words = np.array([f"w{i}" for i in range(VOCABULARY)])
    texts = [" ".join(words[np.minimum(rng.zipf(1.3, WORDS), VOCABULARY) - 1]) for _ in range(n)]
    chunks = [Chunk(id=f"doc{i // 100}.txt:{i}-{i}:{i:08x}", source=f"doc{i // 100}.txt", section="Section",
                    page=None, line_start=i + 1, line_end=i + 1, kind="paragraph", text=text, context=text)
              for i, text in enumerate(texts)]
    codes = rng.integers(0, 256, (n * PIECES, DIM), dtype=np.uint8)
    tokens = TokenVectors.from_codes(codes, np.arange(n + 1, dtype=np.int64) * PIECES, _codec(n)).arrays()
    manifest = new_manifest(model="synthetic", dim=DIM, chunking={}, sources={}, chunks=n, faiss_index="",
                            problems=[])
    return {"manifest": manifest, "chunks": chunks, "vectors": vectors, "lexical": make_bm25(texts),
            "units": None, "tokens": tokens}


def _settings(kind: str, root: Path) -> Any:
    from ..config import Settings

    return Settings(corpus_dir=root / "corpus", index_dir=root / "index", backend=kind, qdrant_path=root / "edge")


def _where(kind: str, root: Path) -> Path:
    return root / ("edge" if kind == "qdrant-edge" else "index")


def _build(kind: str, n: int, root: Path, seed: int) -> tuple[float, float, float, int]:
    """In a new process: save ``n`` synthetic passages; (seconds, peak RSS MiB, peak anonymous
    RSS MiB, bytes on disk)."""
    from ..index.backend import open_backend

    with _AnonPeak() as anon:
        arguments = synthetic_index(n, seed)
        backend = open_backend(_settings(kind, root))
        started = time.perf_counter()
        backend.save(**arguments)
        seconds = time.perf_counter() - started
        if kind != "faiss":  # Edge writes its folder on close
            backend.client.close()  # type: ignore[attr-defined]
    return seconds, _memory_mb()["VmHWM"], anon.peak, folder_bytes(_where(kind, root))


def _open(kind: str, n: int, root: Path) -> tuple[Any, Callable[[np.ndarray, np.ndarray], Any]]:
    """The saved index as the searcher reads it, and its rerank: ``rerank(vector, question pieces)``."""
    from ..index.backend import open_backend

    settings = _settings(kind, root)
    backend = open_backend(settings)
    if kind == "faiss":
        from ..index.tokens import TokenVectors
        from ..search.rerank import maxsim

        index = backend.load()
        tokens = TokenVectors(**index.tokens)

        def rerank(vector: np.ndarray, pieces: np.ndarray) -> Any:
            rows, _ = index.dense_top(vector, RERANK_DEPTH)
            return rows[np.argsort(-maxsim(pieces, tokens, rows), kind="stable")][:K]

        return index, rerank
    from qdrant_client import models

    from ..index.qdrant import DENSE, LATE, QdrantIndex

    # scoqa's ``load`` reads every passage record and sentence unit back through Python lists;
    # here the dense stage needs only the manifest and the passages' number, so the figures are
    # the engine's own.
    manifest = backend.read_manifest()
    index = QdrantIndex(backend.location, backend, manifest, [None] * n, [], None, None,  # type: ignore[list-item]
                        {}, np.zeros(0, np.int64))
    codec = _codec(n)

    def rerank(vector: np.ndarray, pieces: np.ndarray) -> Any:
        # Qdrant turns the query into the storage's bytes too (the codec's query weights, all
        # below 1, scored 0 for every passage), so the question's own codes are sent: the same
        # work, but not scoqa's order (which needs signed weights against the bytes).
        return index.client.query_points(
            index.collection, query=codec.encode(pieces).astype(np.float32).tolist(), using=LATE, limit=K,
            query_filter=index._this_build(),
            prefetch=models.Prefetch(query=np.asarray(vector, np.float32).tolist(), using=DENSE,
                                     limit=RERANK_DEPTH, filter=index._this_build()),
        ).points

    return index, rerank


def _times_ms(call: Callable[[int], Any], count: int) -> np.ndarray:
    times = np.empty(count)
    for i in range(count):
        started = time.perf_counter()
        call(i)
        times[i] = time.perf_counter() - started
    return times * 1000.0


def _serve(kind: str, n: int, root: Path, queries: int, seed: int) -> dict[str, float]:
    """In a new process: open the index, time the queries; figures of :class:`BackendScaleResult`."""
    import faiss

    from ..engine import limit_threads

    limit_threads()  # one FAISS and BLAS thread, as the engine searches
    vectors, query_rows = synthetic_vectors(n, queries, seed)  # the saved vectors, then queries
    _, truth = faiss.knn(query_rows, vectors, K, faiss.METRIC_INNER_PRODUCT)
    del vectors
    pieces = np.random.default_rng(seed + 3).standard_normal((queries, QUESTION_PIECES, DIM), dtype=np.float32)
    pieces /= np.linalg.norm(pieces, axis=2, keepdims=True)
    before = _memory_mb()
    index, rerank = _open(kind, n, root)
    found = np.full((queries, K), -1, dtype=np.int64)

    def search(i: int) -> None:
        rows, _ = index.dense_top(query_rows[i], K)
        found[i, :len(rows)] = rows

    search_ms = _times_ms(search, queries)
    rerank_ms = _times_ms(lambda i: rerank(query_rows[i], pieces[i]), queries)
    after = _memory_mb()
    return {"search_p50_ms": float(np.percentile(search_ms, 50)), "search_p95_ms": float(np.percentile(search_ms, 95)),
            "recall_at_10": recall_at_k(found, truth), "rerank_p50_ms": float(np.percentile(rerank_ms, 50)),
            "rerank_p95_ms": float(np.percentile(rerank_ms, 95)), "serve_rss_mb": max(0.0, after["VmRSS"] - before["VmRSS"]),
            "serve_anon_mb": max(0.0, after["RssAnon"] - before["RssAnon"])}


def _in_new_process(fn: Callable[..., Any], *args: Any) -> Any:
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def measure_backend(kind: str, n: int, queries: int = 200, seed: int = 0,
                    folder: Path | None = None) -> BackendScaleResult:
    """Save ``n`` synthetic passages into backend ``kind`` and measure it (see the module docstring).

    Args:
        kind: One of :data:`SCALE_BACKENDS`.
        n: Passages (>= 10).
        queries: Queries to time and to compute recall over.
        seed: Of the synthetic data.
        folder: Where the index is written (default: a temporary folder, removed afterwards).

    Raises:
        ValueError: for an unknown backend or too small a size.
    """
    if kind not in SCALE_BACKENDS:
        raise ValueError(f"scale backend must be one of {', '.join(SCALE_BACKENDS)}, got {kind!r}")
    if n < 10:
        raise ValueError(f"a scale size must be at least 10 passages, got {n}")
    if queries < 1:
        raise ValueError(f"the number of scale queries must be >= 1, got {queries}")
    with tempfile.TemporaryDirectory(prefix="scoqa-scale-", dir=folder) as tmp:
        root = Path(tmp)
        build_seconds, peak_mb, anon_mb, disk = _in_new_process(_build, kind, n, root, seed)
        served = _in_new_process(_serve, kind, n, root, queries, seed)
    return BackendScaleResult(
        backend=kind, passages=n, pieces=PIECES, build_seconds=build_seconds, build_peak_rss_mb=peak_mb,
        build_peak_anon_mb=anon_mb, disk_mb=disk / 2**20, disk_bytes_per_passage=disk / n,
        serve_bytes_per_passage=served["serve_rss_mb"] * 2**20 / n, queries=queries, **served,
    )


def run_backends(sizes: Sequence[int], backends: Sequence[str], queries: int = 200,
                 report: ReportFn | None = None) -> list[BackendScaleResult]:
    """:func:`measure_backend` for each size (smallest first) and backend, one at a time."""
    results = []
    for n in sorted(sizes):
        for kind in backends:
            if report is not None:
                report(f"scale: {n:,} synthetic passages into {kind} ...")
            results.append(measure_backend(kind, n, queries))
    return results


def per_passage_lines(results: Sequence[BackendScaleResult]) -> list[str]:
    """For each backend measured at two sizes or more: what one more passage costs on disk and in
    the serving process's RSS (the slope from its smallest to its largest size), for extrapolating."""
    lines = []
    for kind in dict.fromkeys(r.backend for r in results):
        rows = sorted((r for r in results if r.backend == kind), key=lambda r: r.passages)
        small, large = rows[0], rows[-1]
        extra = large.passages - small.passages
        if not extra:
            continue
        disk = (large.disk_mb - small.disk_mb) * 2**20 / extra
        serve = (large.serve_rss_mb - small.serve_rss_mb) * 2**20 / extra
        anon = (large.serve_anon_mb - small.serve_anon_mb) * 2**20 / extra
        lines.append(f"{kind}: {disk / 1024:.1f} KiB on disk and {serve / 1024:.1f} KiB of serving RSS "
                     f"({anon / 1024:.1f} KiB anonymous) per passage more "
                     f"(from {small.passages:,} to {large.passages:,} passages)")
    return lines
