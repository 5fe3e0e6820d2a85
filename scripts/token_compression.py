"""Measure compressions of the late-interaction word-piece vectors on question sets: recall@1/@3 of
the real hybrid search with each candidate in place of the stored vectors, bytes per passage, and
the rerank's (MaxSim over the fusion's top 30) time per question.

Each candidate is fitted on the corpus's own word-piece vectors (never on the questions) with
:meth:`scoqa.index.tokens.TokenCodec.fit`; the question's vectors stay float32 and meet the codes
as the searcher's rerank does. The float vectors are the passages' word pieces embedded again
(the model gives the build's vectors; the index keeps only their codes).

Run from the repository root, once per corpus (docs/retrieval.md, "Compressed word pieces")::

    .venv/bin/python scripts/token_compression.py --corpus corpus --index index \\
        --data tests/data --data tests/data/heldout
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from scoqa.config import Settings
from scoqa.engine import Engine
from scoqa.index.tokens import TokenCodec, TokenVectors
from scoqa.search.rerank import maxsim
from scoqa.search.searcher import RERANK_DEPTH
from scoqa.tools.evaluate import _doc_name, _Passage, comparable, load_sets, relevant_passages

CANDIDATES = ("float16", "uint8", "uint4", "pca256-uint8", "pca192-uint8", "pca128-float16", "pca128-uint8",
              "pca96-uint8", "pca64-uint8", "pca256-uint4", "pca192-uint4", "pca128-uint4", "residual2")


def parse(candidate: str) -> tuple[int | None, str]:
    """``"pca64-uint8"`` -> (64, "uint8"); ``"float16"`` -> (None, "float16")."""
    if candidate.startswith("pca"):
        dims, code = candidate[3:].split("-")
        return int(dims), code
    return None, candidate


def residual(parts: list[np.ndarray], dim: int, bits: int, seed: int = 0) -> tuple[TokenVectors, float]:
    """PLAID's compression, for comparison: each vector as its nearest of 2^floor(log2(16 sqrt(n)))
    k-means centroids plus a residual of ``bits`` bits per dimension (per-dimension quantile
    buckets, each read as its mean). Returned decoded (float16, so the rerank scores those
    vectors), with the bytes it would store per vector (the codes and a 2-byte centroid id)."""
    import faiss

    rows = np.concatenate(parts).astype(np.float32)
    n = len(rows)
    k = int(2 ** np.floor(np.log2(16 * np.sqrt(n))))
    sample = rows if n <= 100_000 else rows[np.random.default_rng(seed).choice(n, 100_000, replace=False)]
    kmeans = faiss.Kmeans(dim, k, niter=20, seed=seed, spherical=True, verbose=False)
    kmeans.train(sample)
    _, assign = kmeans.index.search(rows, 1)
    centroids = kmeans.centroids[assign[:, 0]]
    rest = rows - centroids
    levels = 2 ** bits
    cuts = np.quantile(rest, np.linspace(0, 1, levels + 1)[1:-1], axis=0)
    bucket = sum((rest > cut).astype(np.int64) for cut in cuts)
    means = np.stack([np.where(bucket == b, rest, 0).sum(0) / np.maximum((bucket == b).sum(0), 1)
                      for b in range(levels)])
    decoded = centroids + means[bucket, np.arange(dim)]
    first = np.cumsum([0] + [len(p) for p in parts])
    out = [decoded[first[i]:first[i + 1]] for i in range(len(parts))]
    return TokenVectors.fit(out, dim, None, "float16"), dim * bits / 8 + 2


def float_pieces(searcher) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    """Every passage's word-piece vectors as float32, embedded again from its indexed text."""
    texts = [c.context for c in searcher.index.chunks]
    parts: list[np.ndarray] = []
    for start in range(0, len(texts), 64):
        parts.extend(searcher.embedder.encode_with_tokens(texts[start:start + 64])[1])
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--data", type=Path, action="append", required=True, help="a question folder (repeatable)")
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    args = parser.parse_args()

    engine = Engine(Settings(corpus_dir=args.corpus, index_dir=args.index))
    searcher = engine.searcher(show_progress=False)
    chunks = searcher.index.chunks
    parts = float_pieces(searcher)
    dim = searcher.embedder.dim
    pieces = sum(len(p) for p in parts)
    print(f"{args.index}: {len(chunks)} passages, {pieces} word pieces ({pieces / len(chunks):.1f} a passage)")
    candidates = [c.strip() for c in args.candidates.split(",") if c.strip()]
    stored: dict[str, TokenVectors] = {}
    per_piece: dict[str, float] = {}
    for candidate in candidates:
        started = time.perf_counter()
        if candidate.startswith("residual"):
            stored[candidate], per_piece[candidate] = residual(parts, dim, int(candidate.removeprefix("residual")))
            print(f"  {candidate}: fitted in {time.perf_counter() - started:.1f} s (scored decoded)")
            continue
        stored[candidate] = TokenVectors.fit(parts, dim, *parse(candidate))
        codec = stored[candidate].codec
        print(f"  {candidate}: fitted in {time.perf_counter() - started:.1f} s ({codec.dims} dims, {codec.code})")

    row_of = {c.id: row for row, c in enumerate(chunks)}
    passages = [_Passage(c.id, _doc_name(c.source), comparable(c.text), comparable(c.context)) for c in chunks]
    results: dict[str, dict[str, tuple[int, int]]] = {c: {} for c in candidates}
    rerank_us: dict[str, list[float]] = {c: [] for c in candidates}
    sizes: dict[str, int] = {}
    for data in args.data:
        items = load_sets(data).retrieval
        sizes[str(data)] = len(items)
        counts = {c: [0, 0] for c in candidates}
        for item in items:
            relevant = set(relevant_passages(passages, item))
            encoded = searcher.encode_query(searcher.respelled(item.question))
            rows = np.array([row_of[h.chunk_id] for h in
                             searcher.search(item.question, RERANK_DEPTH, "fusion", encoded=encoded)], dtype=np.int64)
            for candidate in candidates:
                searcher._tokens = stored[candidate]
                hits = searcher.search(item.question, 3, "hybrid", encoded=encoded)
                ids = [h.chunk_id for h in hits]
                counts[candidate][0] += bool(ids[:1] and ids[0] in relevant)
                counts[candidate][1] += bool(set(ids[:3]) & relevant)
                timings = []
                for _ in range(3):
                    started = time.perf_counter()
                    maxsim(encoded.tokens, stored[candidate], rows)
                    timings.append(time.perf_counter() - started)
                rerank_us[candidate].append(min(timings) * 1e6)
        for candidate in candidates:
            results[candidate][str(data)] = (counts[candidate][0], counts[candidate][1])

    names = [str(d) for d in args.data]
    print()
    print("| candidate | bytes/passage | " + " | ".join(f"{n} ({sizes[n]}) r@1 / r@3" for n in names)
          + " | rerank p50 µs |")
    print("| --- | --- | " + " | ".join("---" for _ in names) + " | --- |")
    for candidate in candidates:
        per_passage = per_piece.get(candidate, stored[candidate].codes.itemsize * stored[candidate].codes.shape[1])
        per_passage *= pieces / len(chunks)
        cells = " | ".join(f"{results[candidate][n][0]} / {results[candidate][n][1]}" for n in names)
        print(f"| {candidate} | {per_passage:,.0f} | {cells} | {statistics.median(rerank_us[candidate]):.0f} |")
    float32 = pieces * dim * 4 / len(chunks)
    print(f"\n(float32 in memory, as the searcher held them before: {float32:,.0f} bytes/passage; "
          f"a PCA codec adds one (dim x dims) float32 basis per index; residual2 is scored decoded, "
          f"so its time is not its own)")


if __name__ == "__main__":
    main()
