"""``scoqa bench``: build, update, query latency, cold start, concurrency and scale, measured.

Everything runs on a copy of the corpus in a temporary folder (the user's ``index/`` is never
touched). When the corpus has fewer than :data:`MIN_FILES` files, its largest text file is split
at section headings into several files, so that "one file changed" means something.

The machine is shared and timings are noisy: compare the ratios of one run (build against raw
encode, update against build, retrieve against query embedding), not absolute numbers across runs.
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

from .bench_report import (
    BenchOptions,
    BenchResult,
    BuildResult,
    ColdStartResult,
    ConcurrencyResult,
    LatencyResult,
    Machine,
    UpdateResult,
)
from ..config import Settings, environment_without_settings
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
def _warm_up(settings: Settings) -> None:
    """Load the model, tokenizer, segmenter, faiss and bm25s so that no timing counts them."""
    import bm25s  # noqa: F401
    import faiss  # noqa: F401

    from ..index.embed import get_embedder, get_token_counter
    from ..ingest.chunk import sentence_spans

    get_embedder(settings.model).encode(["warm-up sentence"] * 4)
    get_token_counter(settings.model)("warm-up")
    sentence_spans("Warm up. The segmenter.")


def measure_build(settings: Settings, files: int, repeat: int, report: ReportFn) -> BuildResult:
    """Time ``build_index`` and raw ``model.encode`` on the same passages; keep the best of each."""
    from ..index import store
    from ..index.build import build_index
    from ..index.embed import get_embedder
    from ..index.sentences import unit_texts

    model = get_embedder(settings.model).model
    build_times, encode_times = [], []
    chunks = 0
    for attempt in range(1, repeat + 1):
        report(f"full build {attempt}/{repeat} ...")
        built = build_index(settings)
        build_times.append(built.seconds)
        chunks = built.chunks
        # The build embeds each passage and each of its sentences; raw encode gets the same texts.
        built_chunks = store.load_index(settings.index_dir).chunks
        texts = [c.context for c in built_chunks] + unit_texts(built_chunks)
        report(f"raw model.encode {attempt}/{repeat} of {len(texts)} passages ...")
        started = time.perf_counter()
        model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        encode_times.append(time.perf_counter() - started)
    seconds, encode_seconds = min(build_times), min(encode_times)
    return BuildResult(
        files=files,
        chunks=chunks,
        seconds=seconds,
        chunks_per_s=chunks / seconds,
        encode_seconds=encode_seconds,
        encode_chunks_per_s=chunks / encode_seconds,
        throughput_ratio=encode_seconds / seconds,
    )


def measure_updates(settings: Settings, build_seconds: float, report: ReportFn) -> tuple[UpdateResult, ...]:
    """Time ``update_index`` with nothing changed, then after appending a paragraph to one file."""
    from ..index import store
    from ..index.build import update_index

    results = []
    report("index update, nothing changed ...")
    unchanged = update_index(settings)
    results.append(UpdateResult("nothing changed", unchanged.seconds, build_seconds / unchanged.seconds,
                                unchanged.embedded, unchanged.reused, "", 0))
    sources = sorted(store.read_manifest(settings.index_dir)["sources"])
    edited = sources[len(sources) // 2]
    with (settings.corpus_dir / edited).open("a", encoding="utf-8") as fh:
        fh.write(_EDIT)
    report(f"index update, one file changed ({edited}) ...")
    changed = update_index(settings)
    file_chunks = sum(1 for c in store.load_index(settings.index_dir).chunks if c.source == edited)
    results.append(UpdateResult("one file changed", changed.seconds, build_seconds / changed.seconds,
                                changed.embedded, changed.reused, edited, file_chunks))
    return tuple(results)


def measure_latency(settings: Settings, questions: Sequence[str], report: ReportFn) -> LatencyResult:
    """Time embedding, ``retrieve`` and ``ask`` for each question, interleaved so noise hits all three."""
    from ..api import ask, retrieve
    from ..engine import get_engine

    engine = get_engine(settings)
    embedder = engine.searcher(show_progress=False).embedder
    for question in questions[:3]:  # first calls load the index and warm caches
        ask(question, settings=settings)
    report(f"latency over {len(questions)} questions ...")
    embed, found, answered = [], [], []
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
    return LatencyResult(len(questions), *_ms_percentiles(embed), *_ms_percentiles(found), *_ms_percentiles(answered))


_COLD_START = """
import json, sys, time
from pathlib import Path
started = time.time()
from scoqa import ask
from scoqa.config import Settings
from scoqa.index.embed import get_embedder
imported = time.time()
settings = Settings(corpus_dir=Path(sys.argv[1]), index_dir=Path(sys.argv[2]), model=sys.argv[3])
get_embedder(settings.model)
loaded = time.time()
ask(sys.argv[4], settings=settings)
print(json.dumps({"started": started, "imported": imported, "loaded": loaded, "answered": time.time()}))
"""


def measure_cold_start(settings: Settings, question: str, report: ReportFn) -> ColdStartResult:
    """Start a new Python process that answers one question; time it and read its peak memory.

    Raises:
        RuntimeError: if that process fails (its error output is included).
    """
    report("cold start in a new process ...")
    env = environment_without_settings()
    args = [sys.executable, "-c", _COLD_START, str(settings.corpus_dir), str(settings.index_dir),
            settings.model, question]
    with tempfile.TemporaryFile() as errors:
        spawned = time.time()
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors, env=env)
        assert process.stdout is not None
        output = process.stdout.read()
        # wait4 gives this child's own peak RSS (RUSAGE_CHILDREN would mix in every earlier child).
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
        peak_rss_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
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
        faiss=faiss.__version__,
    )


def run_bench(settings: Settings, options: BenchOptions, questions_file: Path = GOLD_QUESTIONS,
              report: ReportFn | None = None) -> BenchResult:
    """Run every measurement on a temporary copy of ``settings.corpus_dir``.

    Args:
        settings: The corpus to copy, the model and the chunking (the index setting is ignored).
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
        say(f"benchmark corpus: {len(files)} file(s) in {tmp}; loading the model ...")
        _warm_up(bench)
        build = measure_build(bench, len(files), options.repeat, say)
        updates = measure_updates(bench, build.seconds, say)
        latency = measure_latency(bench, questions, say)
        cold = measure_cold_start(bench, questions[0], say)
        concurrency = measure_concurrency(bench, questions, options.threads, say)
    scale = tuple(run_scale(options.scale, options.scale_queries, say))
    return BenchResult(machine_info(), options, build, updates, latency, cold, concurrency, scale)
