"""The records of a ``scoqa bench`` run, the targets of issues 7 and 14 checked against them, and the tables.

The tables are Markdown, so that a run's output can go into the README as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from ..config import RUNTIMES
from .bench_backends import (
    PIECES,
    SCALE_BACKENDS,
    BackendScaleResult,
    per_passage_lines,
)
from .bench_scale import ScaleResult

#: The size at which the scale targets apply.
TARGET_SCALE = 1_000_000


DEFAULT_SCALE = (10_000, 100_000, 1_000_000)
QUICK_SCALE = (1_000, 2_000)
DEFAULT_THREADS = (1, 2, 4)
#: The targets of issue 14, by name: onnx against torch in one run.
RUNTIME_GOALS = {
    "onnx retrieve() p50": "<= 0.4x torch question embedding p50",
    "onnx ask() p50": "<= 1.1x onnx retrieve() p50",
    "onnx build throughput": ">= 1.7x torch",
    "onnx cold start": "first answer <= 1.0 s, peak RSS <= 400 MiB",
    "onnx vectors": "cosine >= 1 - 1e-5 against torch",
}


@dataclass(frozen=True)
class BenchOptions:
    """What to measure.

    Attributes:
        questions: How many gold questions to time (None: all).
        threads: Numbers of concurrent askers to measure.
        scale: Synthetic index sizes (empty: skip the scale benchmark).
        scale_queries: Queries per scale size.
        scale_backends: Index backends to save the synthetic passages into at each scale size
            (:mod:`scoqa.tools.bench_backends`; empty: dense FAISS search alone, as before).
        repeat: Full builds (and raw encodes) to run; the fastest of each counts.
        quick: The tiny setting (recorded in the result).
        runtimes: Embedding runtimes to compare, measured side by side in the run.
    """

    questions: int | None = None
    threads: tuple[int, ...] = DEFAULT_THREADS
    scale: tuple[int, ...] = DEFAULT_SCALE
    scale_queries: int = 200
    scale_backends: tuple[str, ...] = ()
    repeat: int = 2
    quick: bool = False
    runtimes: tuple[str, ...] = RUNTIMES

    @classmethod
    def tiny(cls) -> BenchOptions:
        """The ``--quick`` setting: a few questions, tiny scale sizes, one build."""
        return cls(questions=5, threads=(1, 2), scale=QUICK_SCALE, scale_queries=20, scale_backends=SCALE_BACKENDS,
                   repeat=1, quick=True)


@dataclass(frozen=True)
class BuildResult:
    """A full index build against raw ``model.encode`` of the same passages.

    Attributes:
        files: Source files in the benchmark corpus.
        chunks: Passages indexed.
        seconds: Full build time (read, clean, chunk, embed, write).
        chunks_per_s: ``chunks / seconds``.
        encode_seconds: Raw ``SentenceTransformer.encode`` of the same indexed texts.
        encode_chunks_per_s: ``chunks / encode_seconds``.
        throughput_ratio: ``chunks_per_s / encode_chunks_per_s`` (1.0 = no overhead).
    """

    files: int
    chunks: int
    seconds: float
    chunks_per_s: float
    encode_seconds: float
    encode_chunks_per_s: float
    throughput_ratio: float


@dataclass(frozen=True)
class UpdateResult:
    """One ``update_index`` run.

    Attributes:
        scenario: ``"nothing changed"`` or ``"one file changed"``.
        seconds: Update time.
        speedup: Full build time divided by this update's time.
        embedded: Passages embedded by the update.
        reused: Passages whose vectors were reused.
        changed_file: The file edited ("" when nothing changed).
        changed_file_chunks: Passages of that file after the update.
    """

    scenario: str
    seconds: float
    speedup: float
    embedded: int
    reused: int
    changed_file: str
    changed_file_chunks: int


@dataclass(frozen=True)
class LatencyResult:
    """Per-question latency over the gold questions (one question at a time, warm engine).

    Attributes:
        questions: Number of questions timed.
        embed_p50_ms, embed_p95_ms: Embedding the question alone.
        retrieve_p50_ms, retrieve_p95_ms: ``scoqa.retrieve(question, k=5)``.
        ask_p50_ms, ask_p95_ms: ``scoqa.ask(question)``.
    """

    questions: int
    embed_p50_ms: float
    embed_p95_ms: float
    retrieve_p50_ms: float
    retrieve_p95_ms: float
    ask_p50_ms: float
    ask_p95_ms: float


@dataclass(frozen=True)
class RuntimeResult:
    """One embedding runtime, measured in the same run as the others, on the same texts.

    Attributes:
        runtime: ``onnx`` or ``torch``.
        latency: Question embedding, ``retrieve`` and ``ask``, in blocks alternating with the other runtimes'.
        build: Full builds of the benchmark corpus (and the runtime's raw encode of the same texts).
        cold_start: A new process that loads the model and answers one question.
        min_cosine: The least cosine between this runtime's vectors and torch's, over the passages'
            and questions' sentence vectors and their content word-piece vectors.
    """

    runtime: str
    latency: LatencyResult
    build: BuildResult
    cold_start: ColdStartResult
    min_cosine: float


@dataclass(frozen=True)
class ColdStartResult:
    """A new process answering one question.

    Attributes:
        first_answer_seconds: From starting the process to the first answer.
        import_seconds: Python start-up and ``import scoqa`` (part of the above).
        model_load_seconds: Loading the embedding model (part of the above).
        peak_rss_mb: Peak resident memory of that process, in MiB.
    """

    first_answer_seconds: float
    import_seconds: float
    model_load_seconds: float
    peak_rss_mb: float


@dataclass(frozen=True)
class ConcurrencyResult:
    """Questions answered by ``threads`` askers sharing one engine.

    Attributes:
        threads: Concurrent askers.
        questions: Questions answered in all.
        seconds: Wall time.
        questions_per_s: ``questions / seconds``.
    """

    threads: int
    questions: int
    seconds: float
    questions_per_s: float


@dataclass(frozen=True)
class Machine:
    """What the numbers were measured on.

    Attributes:
        cpus: Logical CPUs.
        cpu_model: The ``model name`` of ``/proc/cpuinfo``.
        ram_gb: Total memory in GiB.
        load_average_1min: Load average when the run ended (other work on a shared machine).
        python, torch, onnxruntime, faiss: Versions.
        torch_threads: Threads torch uses for one model call.
    """

    cpus: int
    cpu_model: str
    ram_gb: float
    load_average_1min: float
    python: str
    torch: str
    torch_threads: int
    onnxruntime: str
    faiss: str


@dataclass(frozen=True)
class BenchResult:
    """Everything one ``scoqa bench`` run measured (see :mod:`scoqa.tools.bench_report` for targets).

    ``build``, ``latency`` and ``cold_start`` are those of the settings' runtime (the default:
    onnx); ``runtimes`` holds every runtime compared, that one first.
    """

    machine: Machine
    options: BenchOptions
    build: BuildResult
    updates: tuple[UpdateResult, ...]
    latency: LatencyResult
    cold_start: ColdStartResult
    concurrency: tuple[ConcurrencyResult, ...]
    scale: tuple[ScaleResult, ...]
    runtimes: tuple[RuntimeResult, ...] = ()
    backends: tuple[BackendScaleResult, ...] = ()

    def runtime(self, name: str) -> RuntimeResult | None:
        """The comparison's figures for runtime ``name`` (None if it was not measured)."""
        return next((r for r in self.runtimes if r.runtime == name), None)

    def to_json(self) -> dict[str, object]:
        """The result as plain JSON data, targets included."""
        return {**asdict(self), "targets": [asdict(t) for t in targets(self)]}


@dataclass(frozen=True)
class Target:
    """One performance target and how this run did.

    Attributes:
        name: What is measured.
        goal: The target, in words.
        measured: The measured value, in words.
        status: ``"pass"``, ``"miss"`` or ``"not run"``.
    """

    name: str
    goal: str
    measured: str
    status: str


def _check(name: str, goal: str, measured: str, ok: bool | None) -> Target:
    return Target(name, goal, measured, "not run" if ok is None else ("pass" if ok else "miss"))


def runtime_targets(result: BenchResult) -> list[Target]:
    """The targets of issue 14: onnx against torch, measured in the same run ("not run" for what
    this run did not measure)."""
    onnx, torch = result.runtime("onnx"), result.runtime("torch")
    checks: dict[str, tuple[str, bool] | None] = {name: None for name in RUNTIME_GOALS}
    if onnx is not None and torch is not None:
        lat, ref = onnx.latency, torch.latency
        checks["onnx retrieve() p50"] = (
            f"{lat.retrieve_p50_ms / ref.embed_p50_ms:.2f}x ({lat.retrieve_p50_ms:.1f} vs {ref.embed_p50_ms:.1f} ms)",
            lat.retrieve_p50_ms <= 0.4 * ref.embed_p50_ms)
        checks["onnx build throughput"] = (
            f"{onnx.build.chunks_per_s / torch.build.chunks_per_s:.2f}x "
            f"({onnx.build.chunks_per_s:.1f} vs {torch.build.chunks_per_s:.1f} passages/s)",
            onnx.build.chunks_per_s >= 1.7 * torch.build.chunks_per_s)
        checks["onnx vectors"] = (f"least cosine {onnx.min_cosine:.7f}", onnx.min_cosine >= 1 - 1e-5)
    if onnx is not None:
        lat, cold = onnx.latency, onnx.cold_start
        checks["onnx ask() p50"] = (
            f"{lat.ask_p50_ms / lat.retrieve_p50_ms:.2f}x ({lat.ask_p50_ms:.1f} vs {lat.retrieve_p50_ms:.1f} ms)",
            lat.ask_p50_ms <= 1.1 * lat.retrieve_p50_ms)
        checks["onnx cold start"] = (f"{cold.first_answer_seconds:.2f} s, {cold.peak_rss_mb:.0f} MiB",
                                     cold.first_answer_seconds <= 1.0 and cold.peak_rss_mb <= 400)
    return [_check(name, goal, *(checks[name] or ("not measured in this run", None)))
            for name, goal in RUNTIME_GOALS.items()]


def targets(result: BenchResult) -> list[Target]:
    """Every target of issues 7 and 14 with its measured value."""
    build, latency = result.build, result.latency
    unchanged, changed = result.updates
    big = next((s for s in result.scale if s.vectors >= TARGET_SCALE), None)
    return [
        _check("update, nothing changed", ">= 20x faster than full build",
               f"{unchanged.speedup:.0f}x ({unchanged.seconds * 1000:.0f} ms vs {build.seconds:.2f} s)",
               unchanged.speedup >= 20),
        _check("update, one file changed", "re-embeds only that file's passages",
               f"{changed.embedded} embedded (file has {changed.changed_file_chunks}), {changed.reused} reused",
               0 < changed.embedded <= changed.changed_file_chunks),
        _check("retrieve() p50", "<= 1.2x query embedding p50",
               f"{latency.retrieve_p50_ms / latency.embed_p50_ms:.2f}x "
               f"({latency.retrieve_p50_ms:.1f} vs {latency.embed_p50_ms:.1f} ms)",
               latency.retrieve_p50_ms <= 1.2 * latency.embed_p50_ms),
        _check("ask() p50", "<= 2x retrieve() p50",
               f"{latency.ask_p50_ms / latency.retrieve_p50_ms:.2f}x "
               f"({latency.ask_p50_ms:.1f} vs {latency.retrieve_p50_ms:.1f} ms)",
               latency.ask_p50_ms <= 2 * latency.retrieve_p50_ms),
        _check("1M vectors: search p50", "<= 5 ms",
               f"{big.search_p50_ms:.2f} ms ({big.index})" if big else "scale 1M not run",
               big.search_p50_ms <= 5 if big else None),
        _check("1M vectors: recall@10", ">= 0.95",
               f"{big.recall_at_10:.3f}" if big else "scale 1M not run",
               big.recall_at_10 >= 0.95 if big else None),
        _check("build throughput", ">= 80% of raw model.encode",
               f"{build.throughput_ratio:.0%} ({build.chunks_per_s:.1f} vs {build.encode_chunks_per_s:.1f} passages/s)",
               build.throughput_ratio >= 0.8),
        *runtime_targets(result),
    ]


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def runtime_table(runtimes: Sequence[RuntimeResult]) -> str:
    """The runtimes side by side, one row each (the README's Performance table)."""
    return _table(
        ("runtime", "question p50 / p95", "retrieve p50", "ask p50", "build passages/s", "new process → first answer",
         "peak RSS", "cosine vs torch (least)"),
        [(r.runtime, f"{r.latency.embed_p50_ms:.1f} / {r.latency.embed_p95_ms:.1f} ms", f"{r.latency.retrieve_p50_ms:.1f} ms",
          f"{r.latency.ask_p50_ms:.1f} ms", f"{r.build.chunks_per_s:.1f}", f"{r.cold_start.first_answer_seconds:.2f} s",
          f"{r.cold_start.peak_rss_mb:.0f} MiB", f"{r.min_cosine:.7f}") for r in runtimes],
    )


def backend_table(results: Sequence[BackendScaleResult]) -> str:
    """The backends side by side at each size (docs/performance.md's table)."""
    return _table(
        ("passages", "backend", "build s", "build peak RSS (anon) MiB", "disk MiB", "disk KiB/passage",
         "serving RSS (anon) MiB", "dense top-10 p50 / p95 ms", "recall@10", "rerank top 30 p50 / p95 ms"),
        [(f"{r.passages:,}", r.backend, f"{r.build_seconds:.1f}", f"{r.build_peak_rss_mb:.0f} ({r.build_peak_anon_mb:.0f})",
          f"{r.disk_mb:.0f}", f"{r.disk_bytes_per_passage / 1024:.1f}", f"{r.serve_rss_mb:.0f} ({r.serve_anon_mb:.0f})",
          f"{r.search_p50_ms:.2f} / {r.search_p95_ms:.2f}", f"{r.recall_at_10:.3f}",
          f"{r.rerank_p50_ms:.2f} / {r.rerank_p95_ms:.2f}") for r in results],
    )


def format_result(result: BenchResult) -> str:
    """The run as Markdown tables: pipeline, concurrency, scale, targets and the machine."""
    b, lat, cold = result.build, result.latency, result.cold_start
    rows: list[Sequence[object]] = [
        ("full index build", f"{b.seconds:.2f} s", f"{b.chunks} passages from {b.files} files, "
         f"{b.chunks_per_s:.1f} passages/s"),
        ("raw model.encode, same passages", f"{b.encode_seconds:.2f} s",
         f"{b.encode_chunks_per_s:.1f} passages/s; build reaches {b.throughput_ratio:.0%} of it"),
    ]
    for u in result.updates:
        what = f"{u.embedded} embedded, {u.reused} reused"
        if u.changed_file:
            what += f"; {u.changed_file} has {u.changed_file_chunks} passages"
        rows.append((f"index update, {u.scenario}", f"{u.seconds * 1000:.0f} ms",
                     f"{u.speedup:.0f}x faster than full build; {what}"))
    rows += [
        ("embed the question alone", f"p50 {lat.embed_p50_ms:.1f} ms", f"p95 {lat.embed_p95_ms:.1f} ms; "
         f"{lat.questions} gold questions"),
        ("retrieve(question, k=5)", f"p50 {lat.retrieve_p50_ms:.1f} ms", f"p95 {lat.retrieve_p95_ms:.1f} ms"),
        ("ask(question)", f"p50 {lat.ask_p50_ms:.1f} ms", f"p95 {lat.ask_p95_ms:.1f} ms"),
        ("cold start: new process to first answer", f"{cold.first_answer_seconds:.2f} s",
         f"imports {cold.import_seconds:.2f} s, model load {cold.model_load_seconds:.2f} s"),
        ("peak memory (RSS) of that process", f"{cold.peak_rss_mb:.0f} MiB", ""),
    ]
    for c in result.concurrency:
        rows.append((f"{c.threads} concurrent asker(s)", f"{c.questions_per_s:.1f} questions/s",
                     f"{c.questions} questions in {c.seconds:.2f} s"))
    parts = [f"### Pipeline (real corpus, runtime {result.runtimes[0].runtime if result.runtimes else 'onnx'})",
             _table(("measurement", "value", "detail"), rows)]
    if result.runtimes:
        parts += ["### Embedding runtimes (same run, same texts)", runtime_table(result.runtimes)]
    if result.scale:
        parts += ["### Dense search at scale (synthetic 384-d vectors)", _table(
            ("vectors", "index (size policy)", "build s", "index MiB", "RSS growth MiB", "search p50 ms",
             "search p95 ms", "recall@10", "exact search p50 ms"),
            [(f"{s.vectors:,}", s.index, f"{s.build_seconds:.1f}", f"{s.index_mb:.0f}", f"{s.rss_growth_mb:.0f}",
              f"{s.search_p50_ms:.3f}", f"{s.search_p95_ms:.3f}", f"{s.recall_at_10:.3f}",
              f"{s.exact_search_p50_ms:.2f}") for s in result.scale],
        )]
    if result.backends:
        parts += [f"### Index backends at scale (synthetic passages, {PIECES} word pieces each)", backend_table(result.backends),
                  *per_passage_lines(result.backends)]
    parts += ["### Targets", _table(("target", "goal", "measured", "result"),
                                    [(t.name, t.goal, t.measured, t.status) for t in targets(result)])]
    m = result.machine
    parts.append(f"Machine: {m.cpus} CPUs ({m.cpu_model}), {m.ram_gb} GiB RAM, load average "
                 f"{m.load_average_1min} at the end; Python {m.python}, torch {m.torch} "
                 f"({m.torch_threads} threads), onnxruntime {m.onnxruntime}, faiss {m.faiss}.")
    return "\n\n".join(parts)
