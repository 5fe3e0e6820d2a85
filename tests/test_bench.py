"""`scoqa bench` end to end on the tiny setting, the corpus split it benchmarks on, and the FAISS size policy.

These tests check that every figure is produced and well formed, that the targets which are not
timings pass, and that each timing target's status agrees with the run's figures; they assert no timing.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scoqa.index import faiss_index
from scoqa.tools.bench import prepare_corpus
from scoqa.tools.bench_backends import (
    BackendScaleResult,
    folder_bytes,
    per_passage_lines,
)
from scoqa.tools.bench_scale import recall_at_k, synthetic_vectors

from .conftest import CORPUS, ROOT

SECTIONS = ("backends", "build", "cold_start", "concurrency", "latency", "machine", "options", "runtimes", "scale",
            "targets", "updates")


def _numbers(data: object) -> list[float]:
    """Every number in a JSON value (booleans excluded)."""
    if isinstance(data, dict):
        return [n for value in data.values() for n in _numbers(value)]
    if isinstance(data, list):
        return [n for value in data for n in _numbers(value)]
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        return [float(data)]
    return []


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict]:
    """`scoqa bench --quick` run once in a subprocess, from a folder that is not the project."""
    folder = tmp_path_factory.mktemp("bench")
    out = folder / "results" / "bench.json"
    run = subprocess.run(
        [sys.executable, "-m", "scoqa.interfaces.cli", "--corpus", str(CORPUS), "bench", "--quick", "--scale", "1000,2000",
         "--json-out", str(out)],
        cwd=folder, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr
    return run, json.loads(out.read_text(encoding="utf-8"))


def test_quick_bench_produces_every_field(quick_run) -> None:  # type: ignore[no-untyped-def]
    _, data = quick_run
    assert set(data) == set(SECTIONS)
    build = data["build"]
    assert build["files"] >= 4 and build["chunks"] > 0
    for key in ("seconds", "chunks_per_s", "encode_seconds", "encode_chunks_per_s", "throughput_ratio"):
        assert build[key] > 0, key
    unchanged, changed = data["updates"]
    assert unchanged["scenario"] == "nothing changed" and unchanged["embedded"] == 0
    assert unchanged["reused"] == build["chunks"]
    assert changed["scenario"] == "one file changed" and changed["changed_file"]
    assert 0 < changed["embedded"] <= changed["changed_file_chunks"]
    assert data["latency"]["questions"] == 5
    for key in ("embed", "retrieve", "ask"):
        assert 0 < data["latency"][f"{key}_p50_ms"] <= data["latency"][f"{key}_p95_ms"]
    cold = data["cold_start"]
    assert cold["first_answer_seconds"] > cold["model_load_seconds"] > 0
    # The runtimes side by side: onnx (the default, so the pipeline's figures) first, then torch.
    onnx, torch = data["runtimes"]
    assert (onnx["runtime"], torch["runtime"]) == ("onnx", "torch")
    assert onnx["latency"] == data["latency"] and onnx["build"] == data["build"] and onnx["cold_start"] == cold
    for runtime in (onnx, torch):
        assert runtime["build"]["chunks"] == build["chunks"] and runtime["build"]["chunks_per_s"] > 0
        assert runtime["latency"]["questions"] == 5
        assert runtime["cold_start"]["first_answer_seconds"] > runtime["cold_start"]["model_load_seconds"] > 0
    assert onnx["min_cosine"] >= 1 - 1e-5 and torch["min_cosine"] == pytest.approx(1.0, abs=1e-6)
    # Each process that answered held its model and index: torch's alone is ~300 MiB (the README
    # reports ~1,050 MiB for it); onnx's needs no torch and stays well under it.
    assert 400 < torch["cold_start"]["peak_rss_mb"] < 1600, torch["cold_start"]
    assert 100 < onnx["cold_start"]["peak_rss_mb"] < torch["cold_start"]["peak_rss_mb"], onnx["cold_start"]
    assert [c["threads"] for c in data["concurrency"]] == [1, 2]
    assert all(c["questions_per_s"] > 0 for c in data["concurrency"])
    assert [s["vectors"] for s in data["scale"]] == [1000, 2000]
    for row in data["scale"]:
        assert row["index"] == "IndexFlatIP" and row["recall_at_10"] == pytest.approx(1.0)
        assert row["index_mb"] > 0 and row["search_p50_ms"] > 0 and row["exact_search_p50_ms"] > 0
    # The same synthetic passages saved into each backend through its own save, searched through dense_top.
    assert [(b["passages"], b["backend"]) for b in data["backends"]] == [
        (1000, "faiss"), (1000, "qdrant-edge"), (2000, "faiss"), (2000, "qdrant-edge")]
    for row in data["backends"]:
        assert row["pieces"] == 40 and row["queries"] == 20
        assert row["recall_at_10"] >= 0.95, row  # exact (faiss below 20k) or Edge's HNSW
        # 40 pieces of 384 bytes a passage are on disk, whatever else each backend keeps
        assert row["disk_bytes_per_passage"] > 40 * 384 and row["disk_mb"] * 2**20 == pytest.approx(
            row["disk_bytes_per_passage"] * row["passages"])
        assert 0 < row["search_p50_ms"] <= row["search_p95_ms"] and 0 < row["rerank_p50_ms"] <= row["rerank_p95_ms"]
        assert row["build_seconds"] > 0 and row["build_peak_rss_mb"] >= row["build_peak_anon_mb"] > 50
        assert row["serve_rss_mb"] >= 0 and row["serve_anon_mb"] >= 0
    statuses = {t["name"]: t["status"] for t in data["targets"]}
    assert len(statuses) == 12 and set(statuses.values()) <= {"pass", "miss", "not run"}
    # Targets that are not timings hold on any machine.
    assert statuses["update, one file changed"] == "pass"
    assert statuses["onnx vectors"] == "pass"
    assert statuses["1M vectors: search p50"] == statuses["1M vectors: recall@10"] == "not run"  # no 1M scale
    # Timings pass or miss with the machine, but always as this run's own figures say.
    latency, speedup = data["latency"], unchanged["speedup"]
    timings = {
        "update, nothing changed": speedup >= 20,
        "retrieve() p50": latency["retrieve_p50_ms"] <= 1.2 * latency["embed_p50_ms"],
        "ask() p50": latency["ask_p50_ms"] <= 2 * latency["retrieve_p50_ms"],
        "build throughput": build["throughput_ratio"] >= 0.8,
        "onnx retrieve() p50": onnx["latency"]["retrieve_p50_ms"] <= 0.4 * torch["latency"]["embed_p50_ms"],
        "onnx ask() p50": onnx["latency"]["ask_p50_ms"] <= 1.1 * onnx["latency"]["retrieve_p50_ms"],
        "onnx build throughput": onnx["build"]["chunks_per_s"] >= 1.7 * torch["build"]["chunks_per_s"],
        "onnx cold start": cold["first_answer_seconds"] <= 1.0 and cold["peak_rss_mb"] <= 400,
    }
    for name, ok in timings.items():
        assert statuses[name] == ("pass" if ok else "miss"), (name, statuses[name], data)
    assert all(math.isfinite(n) and n >= 0 for n in _numbers(data))


def test_quick_bench_prints_the_tables(quick_run) -> None:  # type: ignore[no-untyped-def]
    run, _ = quick_run
    for heading in ("### Pipeline", "### Embedding runtimes", "| onnx |", "| torch |", "### Dense search at scale",
                    "### Index backends at scale", "| qdrant-edge |", "qdrant-edge: ", "### Targets", "Machine:"):
        assert heading in run.stdout
    assert "Traceback" not in run.stderr


def test_bench_errors_are_sentences(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "scoqa.interfaces.cli", "bench", "--quick", "--questions-file", str(tmp_path / "missing.jsonl")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 2
    assert "gold questions file" in run.stderr and "--questions-file" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_one_file_corpus_is_split_at_headings_into_files(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    sections = [
        f"Section {name}\n\nThe member states met in {name} and agreed on joint measures against terrorism. "
        "They signed a protocol and planned a joint exercise for the following year.\n"
        for name in ("Astana", "Beijing", "Bishkek", "Dushanbe", "Moscow", "Tashkent")
    ]
    text = "Report\n\n" + "\n".join(sections)
    (source / "report.txt").write_text(text, encoding="utf-8")
    files = prepare_corpus(source, tmp_path / "corpus")
    assert files == [f"report-part{n}.txt" for n in range(1, 5)]
    parts = [(tmp_path / "corpus" / name).read_text(encoding="utf-8") for name in files]
    assert "".join(parts) == text  # nothing lost or repeated, and in order
    assert all(part.startswith("Section ") for part in parts[1:])  # cut at headings


def test_size_policy_is_exact_below_the_limit_and_approximate_above(tmp_path: Path) -> None:
    vectors, queries = synthetic_vectors(3000, 50)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    exact, kind = faiss_index.make_faiss_index(vectors, exact_limit=3000)
    assert kind == "IndexFlatIP"
    approx, kind = faiss_index.make_faiss_index(vectors, exact_limit=2999)
    assert kind.startswith("IndexHNSWFlat") and approx.ntotal == 3000
    _, truth = exact.search(queries, 10)
    _, found = approx.search(queries, 10)
    assert recall_at_k(found, truth) >= 0.95


def test_recall_at_k_counts_the_exact_top_k_found() -> None:
    truth = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    assert recall_at_k(truth[:, ::-1], truth, k=4) == 1.0  # order within the top k does not count
    assert recall_at_k(np.array([[1, 2, 9, 9], [9, 9, 9, 9]]), truth, k=4) == pytest.approx(0.25)
    assert recall_at_k(np.array([[3, 1, 2, 4]]), truth[:1], k=2) == pytest.approx(0.5)  # only the first k of each
    with pytest.raises(ValueError, match="one row per query"):
        recall_at_k(truth[:1], truth)
    with pytest.raises(ValueError, match="k must be >= 1"):
        recall_at_k(truth, truth, k=0)


def test_folder_bytes_counts_allocated_blocks_not_apparent_size(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "data.bin").write_bytes(b"x" * 10_000)
    with (tmp_path / "sparse.mmap").open("wb") as fh:  # a preallocated file, as Qdrant makes them
        fh.truncate(32 * 2**20)
    used = folder_bytes(tmp_path)
    assert 10_000 <= used < 2**20


def _backend_row(kind: str, passages: int, disk_mb: float, serve_mb: float) -> BackendScaleResult:
    return BackendScaleResult(kind, passages, 40, 1.0, 100.0, 80.0, disk_mb, disk_mb * 2**20 / passages, serve_mb,
                              serve_mb / 2, serve_mb * 2**20 / passages, 1.0, 2.0, 1.0, 1.0, 2.0, 20)


def test_per_passage_lines_give_the_slope_between_the_smallest_and_largest_size() -> None:
    rows = [_backend_row("faiss", 10_000, 100.0, 50.0), _backend_row("qdrant-edge", 10_000, 300.0, 400.0),
            _backend_row("faiss", 110_000, 1100.0, 1050.0), _backend_row("qdrant-edge", 20_000, 300.0, 400.0)]
    faiss_line, edge_line = per_passage_lines(rows)
    # (1100 - 100) MiB over 100,000 more passages: 10.24 KiB each, on disk and in RSS alike
    assert faiss_line.startswith("faiss: 10.2 KiB on disk and 10.2 KiB of serving RSS (5.1 KiB anonymous)")
    assert "10,000 to 110,000" in faiss_line
    assert edge_line.startswith("qdrant-edge: 0.0 KiB on disk")
    assert per_passage_lines(rows[:2]) == []  # one size each: no slope


def test_latency_times_each_runtime_in_blocks_of_alternating_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each runtime takes the questions back to back (interleaving them measured each runtime
    against the other's caches and threads), the order reversed every round, a warm-up untimed."""
    from types import SimpleNamespace

    import scoqa.api
    import scoqa.engine
    from scoqa.config import Settings
    from scoqa.tools.bench import BLOCK_WARM_UP, measure_latency

    calls: list[tuple[str, str]] = []

    class Embedder:
        def __init__(self, runtime: str) -> None:
            self.runtime = runtime

        def encode(self, texts: list[str]) -> None:
            calls.append((self.runtime, "embed"))

    monkeypatch.setattr(scoqa.engine, "get_engine", lambda settings: SimpleNamespace(
        searcher=lambda show_progress: SimpleNamespace(embedder=Embedder(settings.runtime))))
    monkeypatch.setattr(scoqa.api, "retrieve", lambda q, k, settings: calls.append((settings.runtime, "retrieve")))
    monkeypatch.setattr(scoqa.api, "ask", lambda q, settings: calls.append((settings.runtime, "ask")))
    base = Settings(corpus_dir=CORPUS, index_dir=Path("unused"))
    runtimes = {"onnx": base.with_(runtime="onnx"), "torch": base.with_(runtime="torch")}
    questions = [f"question {n}?" for n in range(5)]
    result = measure_latency(runtimes, questions, lambda message: None, rounds=3)

    block = BLOCK_WARM_UP + 3 * len(questions)  # warm-up asks, then embed, retrieve, ask each
    assert len(calls) == 6 * block
    order = [calls[n * block][0] for n in range(6)]
    assert order == ["onnx", "torch", "torch", "onnx", "onnx", "torch"]
    for n, runtime in enumerate(order):
        assert {r for r, _ in calls[n * block:(n + 1) * block]} == {runtime}
        timed = [what for _, what in calls[n * block + BLOCK_WARM_UP:(n + 1) * block]]
        assert timed == ["embed", "retrieve", "ask"] * len(questions)
    for latency in result.values():
        assert latency.questions == len(questions)
        assert 0 < latency.embed_p50_ms <= latency.embed_p95_ms
