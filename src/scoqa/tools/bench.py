"""``scoqa bench``: build, update, query latency, cold start, concurrency and scale, measured.

Everything runs on a copy of the corpus in a temporary folder (the user's ``index/`` is never
touched). When the corpus has fewer than :data:`MIN_FILES` files, its largest text file is split
at section headings into several files, so that "one file changed" means something.

The embedding runtimes (onnx, torch) are measured side by side in the same run, on the same
texts: builds one after the other, questions in alternating blocks, a cold start each, and the cosine of
each runtime's vectors against torch's.

The machine is shared and timings are noisy: compare the ratios of one run (build against raw
encode, update against build, retrieve against query embedding, onnx against torch), not absolute
numbers across runs.
The result is a :class:`~scoqa.tools.bench_report.BenchResult` (frozen dataclasses all the way down),
printed as tables by :mod:`scoqa.tools.bench_report` and written as JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..config import Settings, environment_without_settings
from .bench_backends import run_backends
from .bench_report import (
    BenchOptions,
    BenchResult,
    BuildResult,
    ColdStartResult,
    ConcurrencyResult,
    LatencyResult,
    Machine,
    RuntimeResult,
    UpdateResult,
)
from .bench_scale import run_scale

#: The gold questions shipped with the tests, used as the query load.
GOLD_QUESTIONS = Path(__file__).resolve().parents[3] / "tests" / "data" / "gold_retrieval.jsonl"
#: A corpus with fewer files than this gets its largest text file split at headings.
MIN_FILES = 4
#: Appended to one file for the "one file changed" update.
_EDIT = ("\n\nThis paragraph was added by scoqa bench to measure how long an update takes when one "
         "file of the corpus changes.\n")

ReportFn = Callable[[str], None]


# -- helpers -------------------------------------------------------------------------------------
def _ms_percentiles(seconds: Sequence[float]) -> tuple[float, float]:
    values = np.asarray(seconds) * 1000.0
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


def load_questions(path: Path = GOLD_QUESTIONS, limit: int | None = None) -> list[str]:
    """The ``question`` field of each line of a JSONL gold file.

    Raises:
        FileNotFoundError: if the file is missing.
        ValueError: if it holds no question.
    """
    if not path.is_file():
        raise FileNotFoundError(f"gold questions file {str(path)!r} not found: give one with --questions-file")
    with path.open(encoding="utf-8") as fh:
        questions = [str(json.loads(line)["question"]) for line in fh if line.strip()]
    if not questions:
        raise ValueError(f"gold questions file {str(path)!r} holds no question")
    return questions[:limit] if limit else questions


def _split_points(path: Path, corpus: Path, parts: int) -> list[int]:
    """Line numbers of section headings that cut ``path`` into about ``parts`` equal pieces."""
    from ..ingest import read_document
    from ..ingest.layout import clean_document

    doc = read_document(path, corpus)
    headings = sorted({b.line_start for b in clean_document(doc) if b.kind == "heading" and b.line_start > 1})
    total = len(doc.lines)
    points: list[int] = []
    for i in range(1, parts):
        wanted = total * i / parts
        candidates = [h for h in headings if h not in points and (not points or h > points[-1])]
        if candidates:
            points.append(min(candidates, key=lambda h: abs(h - wanted)))
    return points


def prepare_corpus(source: Path, target: Path, min_files: int = MIN_FILES) -> list[str]:
    """Copy the corpus to ``target``, splitting its largest text file if it has too few files.

    Returns:
        The source names in the copy, sorted.

    Raises:
        FileNotFoundError: if ``source`` is not a folder.
    """
    from ..ingest import discover

    if not source.is_dir():
        raise FileNotFoundError(f"corpus folder {str(source)!r} not found: give one with --corpus")
    shutil.copytree(source, target)
    paths, _ = discover(target)
    texts = [p for p in paths if p.suffix in (".txt", ".md")]
    if len(paths) < min_files and texts:
        largest = max(texts, key=lambda p: p.stat().st_size)
        points = _split_points(largest, target, min_files - len(paths) + 1)
        if points:
            lines = largest.read_text(encoding="utf-8").splitlines(keepends=True)
            bounds = [1, *points, len(lines) + 1]
            for n, (start, end) in enumerate(zip(bounds, bounds[1:]), start=1):
                part = largest.with_name(f"{largest.stem}-part{n}{largest.suffix}")
                part.write_text("".join(lines[start - 1:end - 1]), encoding="utf-8")
            largest.unlink()
    paths, _ = discover(target)
    return sorted(str(p.relative_to(target)) for p in paths)


# -- measurements --------------------------------------------------------------------------------
def runtime_settings(settings: Settings, runtimes: Sequence[str]) -> dict[str, Settings]:
    """``settings`` for each runtime to compare, the settings' own runtime first."""
    return {runtime: settings.with_(runtime=runtime) for runtime in dict.fromkeys([settings.runtime, *runtimes])}


def _warm_up(runtimes: dict[str, Settings]) -> None:
    """Load the models (exporting the ONNX one if needed), tokenizer, segmenter, faiss and bm25s so
    that no timing counts them."""
    import faiss  # noqa: F401

    from ..config import import_bm25s
    from ..index.embed import embedder_for, get_token_counter
    from ..ingest.chunk import sentence_spans

    import_bm25s()
    for settings in runtimes.values():
        # One text a batch: the batches run as a build's do (onnx opens its build session here).
        embedder_for(settings).encode(["warm-up sentence"] * 4, batch_size=1)
        get_token_counter(settings.model)("warm-up")
    sentence_spans("Warm up. The segmenter.")


def measure_build(runtimes: dict[str, Settings], files: int, repeat: int, report: ReportFn) -> dict[str, BuildResult]:
    """Time ``build_index`` and the runtime's raw ``encode`` on the same passages, for each runtime
    in turn (the first builds the settings' index, the others an index of their own beside it);
    keep the best of each."""
    from ..index import store
    from ..index.build import build_index
    from ..index.embed import embedder_for
    from ..index.sentences import unit_texts

    build_times: dict[str, list[float]] = {runtime: [] for runtime in runtimes}
    encode_times: dict[str, list[float]] = {runtime: [] for runtime in runtimes}
    chunks = 0
    for attempt in range(1, repeat + 1):
        for n, (runtime, settings) in enumerate(runtimes.items()):
            if n:
                settings = settings.with_(index_dir=settings.index_dir.with_name(f"{settings.index_dir.name}-{runtime}"))
            report(f"full build {attempt}/{repeat} with {runtime} ...")
            built = build_index(settings)
            build_times[runtime].append(built.seconds)
            chunks = built.chunks
            # The build embeds each passage and each of its sentences; raw encode gets the same texts.
            built_chunks = store.load_index(settings.index_dir).chunks
            texts = [c.context for c in built_chunks] + unit_texts(built_chunks)
            embedder = embedder_for(settings)
            batches = f"{embedder.batch_pieces} word pieces" if embedder.batch_pieces else f"{embedder.batch_size} texts"
            report(f"raw encode with {runtime} {attempt}/{repeat} of {len(texts)} texts ({batches} a batch) ...")
            started = time.perf_counter()
            embedder.encode(texts)
            encode_times[runtime].append(time.perf_counter() - started)
    results = {}
    for runtime in runtimes:
        seconds, encode_seconds = min(build_times[runtime]), min(encode_times[runtime])
        results[runtime] = BuildResult(
            files=files,
            chunks=chunks,
            seconds=seconds,
            chunks_per_s=chunks / seconds,
            encode_seconds=encode_seconds,
            encode_chunks_per_s=chunks / encode_seconds,
            throughput_ratio=encode_seconds / seconds,
        )
    return results


def measure_updates(settings: Settings, build_seconds: float, report: ReportFn) -> tuple[UpdateResult, ...]:
    """Time ``update_index`` with nothing changed, then after appending a paragraph to one file."""
    from ..index import files, store
    from ..index.build import update_index

    results = []
    report("index update, nothing changed ...")
    unchanged = update_index(settings)
    results.append(UpdateResult("nothing changed", unchanged.seconds, build_seconds / unchanged.seconds,
                                unchanged.embedded, unchanged.reused, "", 0))
    sources = sorted(files.read_manifest(settings.index_dir)["sources"])
    edited = sources[len(sources) // 2]
    with (settings.corpus_dir / edited).open("a", encoding="utf-8") as fh:
        fh.write(_EDIT)
    report(f"index update, one file changed ({edited}) ...")
    changed = update_index(settings)
    file_chunks = sum(1 for c in store.load_index(settings.index_dir).chunks if c.source == edited)
    results.append(UpdateResult("one file changed", changed.seconds, build_seconds / changed.seconds,
                                changed.embedded, changed.reused, edited, file_chunks))
    return tuple(results)


#: Each runtime's timed questions run in this many blocks, the runtimes' order reversed each round.
LATENCY_ROUNDS = 2
#: Questions each runtime answers, untimed, before each of its blocks (the first calls of a process
#: load the index; later ones bring the runtime's weights back into the caches).
BLOCK_WARM_UP = 3


def measure_latency(runtimes: dict[str, Settings], questions: Sequence[str],
                    report: ReportFn, rounds: int = LATENCY_ROUNDS) -> dict[str, LatencyResult]:
    """Time embedding, ``retrieve`` and ``ask`` for each question with each runtime, on the first
    runtime's index.

    Each runtime takes all the questions back to back, as a process serving them does (a process
    loads one runtime), in ``rounds`` blocks whose order alternates (onnx, torch, torch, onnx, ...)
    so that the machine's drift hits them alike. Interleaving the runtimes question by question,
    as earlier benches did, measured each against the other: a call right after the other
    runtime's found its own weights out of the caches and, after torch, torch's OpenMP threads
    still spinning; onnx embedded a question in ~4.9 ms that way against ~2.5 ms alone
    (docs/performance.md, "Ninth session").
    """
    from ..api import ask, retrieve
    from ..engine import get_engine

    first = next(iter(runtimes.values()))
    runtimes = {runtime: settings.with_(index_dir=first.index_dir) for runtime, settings in runtimes.items()}
    embedders = {runtime: get_engine(settings).searcher(show_progress=False).embedder
                 for runtime, settings in runtimes.items()}
    report(f"latency over {len(questions)} questions with {', '.join(runtimes)}, {rounds} blocks each ...")
    timings: dict[str, tuple[list[float], list[float], list[float]]] = {runtime: ([], [], []) for runtime in runtimes}
    order = list(runtimes)
    for block in range(rounds):
        for runtime in order if block % 2 == 0 else order[::-1]:
            settings, embedder = runtimes[runtime], embedders[runtime]
            for question in questions[:BLOCK_WARM_UP]:
                ask(question, settings=settings)
            embed, found, answered = timings[runtime]
            for question in questions:
                started = time.perf_counter()
                embedder.encode([question])
                embed.append(time.perf_counter() - started)
                started = time.perf_counter()
                retrieve(question, k=5, settings=settings)
                found.append(time.perf_counter() - started)
                started = time.perf_counter()
                ask(question, settings=settings)
                answered.append(time.perf_counter() - started)
    return {runtime: LatencyResult(len(questions), *_ms_percentiles(embed), *_ms_percentiles(found),
                                   *_ms_percentiles(answered))
            for runtime, (embed, found, answered) in timings.items()}


def measure_agreement(runtimes: dict[str, Settings], questions: Sequence[str]) -> dict[str, float]:
    """The least cosine between each runtime's vectors and torch's: sentence vectors and content
    word-piece vectors of the index's passages and of the questions."""
    from ..index import store
    from ..index.embed import embedder_for

    first = next(iter(runtimes.values()))
    passages = [c.context for c in store.load_index(first.index_dir).chunks]
    reference = embedder_for(first.with_(runtime="torch"))
    expected = [reference.encode_with_tokens(passages), reference.encode_with_tokens(questions, query=True)]
    least = {}
    for runtime, settings in runtimes.items():
        embedder = embedder_for(settings)
        got = [embedder.encode_with_tokens(passages), embedder.encode_with_tokens(questions, query=True)]
        least[runtime] = min(
            min(_least_cosine(vectors, want_vectors),
                _least_cosine(np.concatenate([*tokens, np.zeros((0, embedder.dim), np.float32)]),
                              np.concatenate([*want_tokens, np.zeros((0, embedder.dim), np.float32)])))
            for (vectors, tokens), (want_vectors, want_tokens) in zip(got, expected))
    return least


def _least_cosine(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        return -1.0  # other word pieces kept: as far apart as vectors get
    if not len(a):
        return 1.0
    return float(np.min(np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))))


_COLD_START = """
import json, sys, time
from pathlib import Path
started = time.time()
from scoqa import ask
from scoqa.config import Settings
from scoqa.index.embed import embedder_for
imported = time.time()
settings = Settings(corpus_dir=Path(sys.argv[1]), index_dir=Path(sys.argv[2]), model=sys.argv[3], runtime=sys.argv[5])
embedder_for(settings)
loaded = time.time()
ask(sys.argv[4], settings=settings)
answered = time.time()
# This process's own peak: the kernel's ru_maxrss of a child starts from its parent's RSS at the fork.
peak = next((int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")), None)
print(json.dumps({"started": started, "imported": imported, "loaded": loaded, "answered": answered, "peak_kb": peak}))
"""


def measure_cold_start(settings: Settings, question: str, report: ReportFn) -> ColdStartResult:
    """Start a new Python process that answers one question; time it and read its peak memory.

    Raises:
        RuntimeError: if that process fails (its error output is included).
    """
    report(f"cold start in a new process with {settings.runtime} ...")
    env = environment_without_settings()
    args = [sys.executable, "-c", _COLD_START, str(settings.corpus_dir), str(settings.index_dir),
            settings.model, question, settings.runtime]
    with tempfile.TemporaryFile() as errors:
        spawned = time.time()
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors, env=env)
        assert process.stdout is not None
        output = process.stdout.read()
        # wait4 gives this child's peak RSS (RUSAGE_CHILDREN would mix in every earlier child), but
        # no less than the RSS of this process when it forked: the child's own VmHWM is used where
        # /proc has it.
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            detail = errors.read().decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"the cold-start process failed (exit {process.returncode}): {detail[0]}")
    stamps = json.loads(output.decode().strip().splitlines()[-1])
    return ColdStartResult(
        first_answer_seconds=stamps["answered"] - spawned,
        import_seconds=stamps["imported"] - spawned,
        model_load_seconds=stamps["loaded"] - stamps["imported"],
        peak_rss_mb=(stamps.get("peak_kb") or usage.ru_maxrss) / 1024,  # kilobytes on Linux
    )


def measure_concurrency(settings: Settings, questions: Sequence[str], threads: Sequence[int],
                        report: ReportFn) -> tuple[ConcurrencyResult, ...]:
    """Answer all ``questions`` with each number of concurrent askers sharing one engine."""
    from ..api import ask

    results = []
    for count in threads:
        report(f"{count} concurrent asker(s) ...")
        with ThreadPoolExecutor(max_workers=count) as pool:
            started = time.perf_counter()
            list(pool.map(lambda q: ask(q, settings=settings), questions))
            seconds = time.perf_counter() - started
        results.append(ConcurrencyResult(count, len(questions), seconds, len(questions) / seconds))
    return tuple(results)


def machine_info() -> Machine:
    """CPU count and model, RAM, and the versions that matter for the numbers."""
    import platform

    import faiss
    import onnxruntime
    import psutil
    import torch

    cpu_model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return Machine(
        cpus=os.cpu_count() or 0,
        cpu_model=cpu_model,
        ram_gb=round(psutil.virtual_memory().total / 2**30, 1),
        load_average_1min=round(os.getloadavg()[0], 2),
        python=platform.python_version(),
        torch=torch.__version__,
        torch_threads=torch.get_num_threads(),
        onnxruntime=onnxruntime.__version__,
        faiss=faiss.__version__,
    )


def run_bench(settings: Settings, options: BenchOptions, questions_file: Path = GOLD_QUESTIONS,
              report: ReportFn | None = None) -> BenchResult:
    """Run every measurement on a temporary copy of ``settings.corpus_dir``.

    Args:
        settings: The corpus to copy, the model, the runtime and the chunking (the index setting is
            ignored). ``build``, ``latency`` and ``cold_start`` are its runtime's; ``options.runtimes``
            are measured beside it.
        options: What to measure.
        questions_file: JSONL file whose ``question`` fields are the query load.
        report: Called with a progress line before each step.

    Raises:
        FileNotFoundError: if the corpus folder or the questions file is missing.
        ValueError: if the options cannot be measured.
    """
    say: ReportFn = report or (lambda line: None)
    questions = load_questions(questions_file, options.questions)
    if options.repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {options.repeat}")
    with tempfile.TemporaryDirectory(prefix="scoqa-bench-") as tmp:
        files = prepare_corpus(settings.corpus_dir, Path(tmp) / "corpus")
        bench = settings.with_(corpus_dir=Path(tmp) / "corpus", index_dir=Path(tmp) / "index", auto_update=False)
        runtimes = runtime_settings(bench, options.runtimes)
        say(f"benchmark corpus: {len(files)} file(s) in {tmp}; loading the model ({', '.join(runtimes)}) ...")
        _warm_up(runtimes)
        builds = measure_build(runtimes, len(files), options.repeat, say)
        updates = measure_updates(bench, builds[bench.runtime].seconds, say)
        latencies = measure_latency(runtimes, questions, say)
        colds = {runtime: measure_cold_start(settings.with_(index_dir=bench.index_dir), questions[0], say)
                 for runtime, settings in runtimes.items()}
        concurrency = measure_concurrency(bench, questions, options.threads, say)
        say("cosine of each runtime's vectors against torch's ...")
        agreement = measure_agreement(runtimes, questions)
    scale = tuple(run_scale(options.scale, options.scale_queries, say))
    backends = tuple(run_backends(options.scale, options.scale_backends, options.scale_queries, say))
    compared = tuple(RuntimeResult(runtime, latencies[runtime], builds[runtime], colds[runtime], agreement[runtime])
                     for runtime in runtimes)
    return BenchResult(machine_info(), options, builds[bench.runtime], updates, latencies[bench.runtime],
                       colds[bench.runtime], concurrency, scale, compared, backends)
