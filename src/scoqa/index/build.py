"""Corpus -> index: read, clean, chunk and embed the sources, reusing vectors that did not change.

``build_index`` rebuilds from scratch; ``update_index`` compares the corpus with the manifest by
content hash (:mod:`scoqa.index.status`) and re-embeds only the passages whose indexed text is
new. Both write atomically (see :mod:`scoqa.index.swap`) under a lock, so two builds never
interleave, and both clear away what a killed build left behind.

The build computes everything the index holds: the passages' vectors and word-piece vectors
(:mod:`scoqa.index.tokens`, compressed with a codec fitted on the corpus), their sentence units
(:mod:`scoqa.index.sentences`) and the BM25 retriever (:func:`scoqa.lexical.make_bm25`); the
store only writes them.

A source that cannot be read is reported once, by name and reason, and never stops the others.
If it was indexed before, its earlier passages stay in the index: nothing indexed is lost to a
file that went bad.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..config import Settings
from ..ingest import discover
from ..ingest.chunk import Chunk, chunk_document
from ..ingest.ocr import page_ocr
from ..lexical import make_bm25
from . import files
from .errors import IndexCorrupt, IndexNotFound, IndexProblem
from .backend import SearchIndex, open_backend
from .embed import embedder_for, get_token_counter
from .sentences import Units, plan_units
from .status import (
    CorpusDiff,
    chunking_note,
    chunking_params,
    diff_corpus,
    problem_lines,
)
from .tokens import TokenVectors, store_pieces

__all__ = ["BuildReport", "ProgressFn", "build_index", "update_index"]

log = logging.getLogger(__name__)

#: progress(done, total, description), called while embedding.
ProgressFn = Callable[[int, int, str], None]


@dataclass(frozen=True)
class BuildReport:
    """What a build or update did.

    Attributes:
        chunks: Passages in the index now.
        files: Sources in the index now.
        embedded: Passages embedded by this run.
        reused: Passages whose vector was taken from the previous index.
        removed: Passages of the previous index that are gone (removed files, edited passages).
        seconds: Wall time.
        problems: Files that could not be indexed, one line each with the reason.
        changed: False when the index was already up to date and nothing was written.
        note: Why the previous index could not be reused, if it could not.
    """

    chunks: int
    files: int
    embedded: int
    reused: int
    removed: int
    seconds: float
    problems: list[str] = field(default_factory=list)
    changed: bool = True
    note: str = ""


def _context_key(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\x00{text}".encode()).hexdigest()


def _embed(texts: list[str], settings: Settings, progress: ProgressFn | None, show_progress: bool,
           description: str = "embedding passages and sentences",
           with_tokens: int = 0) -> tuple[np.ndarray, list[np.ndarray]]:
    """Embed ``texts`` (at least one) in batches, reporting progress.

    Returns the vectors and, for the first ``with_tokens`` texts, their content word pieces'
    vectors (taken from the same forward pass).
    """
    embedder = embedder_for(settings)
    # A one-sentence passage is indexed with the same text as its one sentence: embed each
    # distinct text once (the first of equal texts comes first, so a passage keeps its tokens).
    first_of: dict[str, int] = {}
    for i, text in enumerate(texts):
        first_of.setdefault(text, i)
    distinct = sorted(set(first_of.values()))
    bar = None
    if show_progress:
        from tqdm import tqdm

        bar = tqdm(total=len(distinct), desc=description, unit="text")
    # Longest first, so that each batch pads to texts of about the same length, as one
    # SentenceTransformer.encode call does: batches in document order padded 30% more word
    # pieces on the report, and build throughput fell to 63-76% of raw model.encode (scoqa bench).
    # The batch sizes are the runtime's (measured): small batches also keep the build's memory down.
    batches = [[distinct[j] for j in rows] for rows in embedder.plan_batches([texts[i] for i in distinct])]
    vectors = np.empty((len(texts), embedder.dim), dtype=np.float32)
    tokens: list[np.ndarray] = [np.zeros((0, embedder.dim), np.float32)] * with_tokens
    # The embedder runs its batches `workers` at a time (onnx: one per core) and hands them back in order.
    embedded = embedder.embed_batches([texts[i] for i in rows] for rows in batches)
    done = 0
    for rows, (batch_vectors, batch_tokens) in zip(batches, embedded):
        vectors[rows] = batch_vectors
        done += len(rows)
        for row, words in zip(rows, batch_tokens):
            if row < with_tokens:
                tokens[row] = words
        if bar is not None:
            bar.update(len(rows))
        if progress is not None:
            progress(done, len(distinct), description)
    if bar is not None:
        bar.close()
    for i, text in enumerate(texts):
        if first_of[text] != i:
            vectors[i] = vectors[first_of[text]]
            if i < with_tokens:
                tokens[i] = tokens[first_of[text]]
    return vectors, tokens


def _plan_units(
    chunks: list[Chunk], rows: list[int | None], previous: SearchIndex | None, dim: int
) -> tuple[Units, list[int], list[str]]:
    """Sentence-level units of the new passages; a reused passage keeps its units' vectors."""
    old = Units(**previous.units) if previous is not None and previous.units is not None else None

    def reuse(i: int) -> np.ndarray | None:
        row = rows[i]
        if old is None or row is None:
            return None
        span = old.of(row)
        return old.vectors[span.start:span.stop]

    return plan_units(chunks, dim, reuse)


def _assemble(
    settings: Settings,
    previous: SearchIndex | None,
    diff: CorpusDiff,
    *,
    reuse_vectors: bool,
    progress: ProgressFn | None,
    show_progress: bool,
    note: str,
) -> BuildReport:
    """Write a new index: the sources of ``diff``, plus ``previous``'s passages where allowed.

    Unchanged sources (in ``diff.hashes`` but not ``diff.documents``) keep their passages from
    ``previous``; a source that fails now but was indexed keeps them too. With ``reuse_vectors``,
    a passage whose indexed text was embedded before (same model) takes its vector from
    ``previous`` instead of being embedded again.
    """
    started = time.perf_counter()
    # An index written before passages kept their word-piece vectors has nothing to reuse them from.
    reuse_vectors = reuse_vectors and previous is not None and previous.tokens is not None
    old_tokens = TokenVectors(**previous.tokens) if reuse_vectors else None  # type: ignore[union-attr,arg-type]
    count = get_token_counter(settings.model)
    old_manifest = previous.manifest if previous is not None else {}
    old_rows: dict[str, list[int]] = {}
    if previous is not None:
        for row, chunk in enumerate(previous.chunks):
            old_rows.setdefault(chunk.source, []).append(row)
    chunks: list[Chunk] = []
    rows: list[int | None] = []  # row of each new chunk's vector in previous.vectors, if reused
    sources: dict[str, str] = {}
    titles: dict[str, str] = {}
    old_titles: dict[str, str] = old_manifest.get("titles") or {}

    def keep_previous(source: str) -> None:
        if old_titles.get(source):
            titles[source] = old_titles[source]
        for row in old_rows.get(source, []):
            chunks.append(previous.chunks[row])  # type: ignore[union-attr]
            rows.append(row if reuse_vectors else None)

    for source in sorted(diff.hashes):
        document = diff.documents.get(source)
        if document is None:
            keep_previous(source)
        else:
            new = chunk_document(document, settings.chunk_tokens, count)
            if document.title:
                titles[source] = document.title
            chunks.extend(new)
            rows.extend([None] * len(new))
        sources[source] = diff.hashes[source]
    # Sources that fail now but were indexed before keep their passages: nothing indexed is lost.
    kept = {p.source for p in diff.problems if p.source in old_manifest.get("sources", {})}
    for source in sorted(kept):
        keep_previous(source)
        sources[source] = old_manifest["sources"][source]
    if reuse_vectors and previous is not None:
        cache: dict[str, int] = {}
        for row, chunk in enumerate(previous.chunks):
            cache.setdefault(_context_key(settings.model, chunk.context), row)
        rows = [cache.get(_context_key(settings.model, c.context)) if r is None else r for c, r in zip(chunks, rows)]
    missing = [i for i, row in enumerate(rows) if row is None]
    # Without anything new to embed there is no need to load the model to learn its dimension.
    dim = int(old_manifest["dim"]) if reuse_vectors and chunks and not missing else embedder_for(settings).dim
    units, unit_missing, unit_texts = _plan_units(chunks, rows, previous, dim)
    # Passages and sentences go through the model together, longest first, as one encode call
    # would take them.
    texts = [chunks[i].context for i in missing] + unit_texts
    fresh, fresh_tokens = (
        _embed(texts, settings, progress, show_progress, with_tokens=len(missing)) if texts
        else (np.zeros((0, dim), np.float32), [])
    )
    vectors = np.zeros((len(chunks), dim), dtype=np.float32)
    for i, row in enumerate(rows):
        if row is not None:
            vectors[i] = previous.vectors[row]  # type: ignore[union-attr]
    if missing:
        vectors[missing] = fresh[: len(missing)]
    tokens = store_pieces(dict(zip(missing, fresh_tokens)), {i: row for i, row in enumerate(rows) if row is not None},
                          len(chunks), old_tokens, dim)
    if unit_missing:
        units.vectors[unit_missing] = fresh[len(missing):]
    before = Counter((c.source, c.context) for c in previous.chunks) if previous is not None else Counter()
    after = Counter((c.source, c.context) for c in chunks)
    problems = problem_lines(diff.problems, kept)
    manifest = files.new_manifest(
        model=settings.model,
        dim=dim,
        chunking=chunking_params(settings),
        sources=sources,
        chunks=len(chunks),
        faiss_index="",
        problems=problems,
        titles=titles,
        passages=dict(Counter(c.source for c in chunks)),
    )
    open_backend(settings).save(manifest, chunks, vectors, make_bm25([c.context for c in chunks]),
                                units.arrays(), tokens.arrays())
    return BuildReport(
        chunks=len(chunks),
        files=len(sources),
        embedded=len(missing),
        reused=len(chunks) - len(missing),
        removed=sum((before - after).values()),
        seconds=time.perf_counter() - started,
        problems=problems,
        note=note,
    )


def _load_previous(settings: Settings) -> tuple[SearchIndex | None, str]:
    """The index on disk, whatever model built it; or None, and why when there is one."""
    try:
        return open_backend(settings).load(), ""
    except IndexNotFound:
        return None, ""
    except IndexProblem as exc:
        return None, exc.reason


def _current_manifest(settings: Settings) -> tuple[dict[str, Any] | None, str]:
    """The manifest of the index an update can start from, and why it must re-read every source.

    Returns:
        ``(None, "")`` without an index; ``(None, why)`` for a damaged one (rebuilt from scratch);
        ``(manifest, why)`` when the chunking settings changed; ``(manifest, "")`` otherwise.

    Raises:
        IndexMismatch: for an index of another model or of a newer format, which an update must
            not silently replace: the message says to run ``scoqa index build --force``. An index
            an earlier scoqa wrote is rebuilt: nothing else can read it.
    """
    try:
        backend = open_backend(settings)
        manifest = backend.read_manifest()
    except IndexNotFound:
        return None, ""
    except IndexCorrupt as exc:
        return None, f"rebuilding the index from scratch: {exc.reason}"
    version = manifest.get("format_version")
    if isinstance(version, int) and version < files.FORMAT_VERSION:
        # Written by an earlier scoqa: no scoqa reads it any more, so building is the only way on.
        return None, (f"rebuilding the index from scratch: it was written by an earlier scoqa (format {version}, "
                      f"this one reads {files.FORMAT_VERSION})")
    files.check_manifest(manifest, backend.location, settings.model)
    chunking = chunking_note(manifest, settings)
    return manifest, f"{chunking}: re-reading every source" if chunking else ""


def _start(settings: Settings) -> None:
    """Work every build does first, under the lock: clear what killed builds left behind."""
    for leftover in open_backend(settings).tidy():
        log.info("removed %s, left by an interrupted build", leftover)


def build_index(
    settings: Settings | None = None,
    *,
    progress: ProgressFn | None = None,
    show_progress: bool = False,
    lock_wait: float | None = None,
) -> BuildReport:
    """Rebuild the index from scratch: every source is read and every passage embedded.

    Only the passages of sources that cannot be read now are taken from the previous index (and
    embedded again), so that a file gone bad loses nothing.

    Args:
        settings: Locations and model; defaults to :meth:`Settings.from_env`.
        progress: Called as ``progress(done, total, description)`` while embedding.
        show_progress: Show a tqdm bar on the terminal.
        lock_wait: Seconds to wait for another build; None waits until it ends.

    Returns:
        What was done.

    Raises:
        FileNotFoundError: if the corpus folder does not exist.
        IndexLocked: if another build holds the lock past ``lock_wait``.
    """
    settings = settings or Settings.from_env()
    discover(settings.corpus_dir)
    with open_backend(settings).lock(lock_wait):
        _start(settings)
        previous, _ = _load_previous(settings)  # only to keep the passages of files gone bad
        diff = diff_corpus(settings.corpus_dir, {}, page_ocr(settings))
        return _assemble(settings, previous, diff, reuse_vectors=False, progress=progress,
                         show_progress=show_progress, note="")


def update_index(
    settings: Settings | None = None,
    *,
    progress: ProgressFn | None = None,
    show_progress: bool = False,
    lock_wait: float | None = None,
) -> BuildReport:
    """Bring the index in step with the corpus, embedding only new passages.

    Unchanged files keep their passages and vectors; changed and added files are re-read, and
    their passages embedded unless the same indexed text was embedded before; removed files'
    passages are dropped. With nothing changed, nothing is written. A damaged index is rebuilt,
    and a change of chunking settings re-reads every source (the report's ``note`` says so).

    Args and returns: as :func:`build_index`.

    Raises:
        FileNotFoundError: if the corpus folder does not exist.
        IndexLocked: if another build holds the lock past ``lock_wait``.
        IndexMismatch: if the index was built with another model or a newer format version (one
            an earlier scoqa wrote is rebuilt).
    """
    settings = settings or Settings.from_env()
    started = time.perf_counter()
    discover(settings.corpus_dir)
    with open_backend(settings).lock(lock_wait):
        _start(settings)
        manifest, note = _current_manifest(settings)
        indexed: dict[str, str] = manifest.get("sources", {}) if manifest is not None else {}
        diff = diff_corpus(settings.corpus_dir, {} if note else indexed, page_ocr(settings))
        if manifest is not None and not note and not diff.stale:
            chunks = int(manifest.get("chunks", 0))
            return BuildReport(
                chunks=chunks, files=len(indexed), embedded=0, reused=chunks, removed=0,
                seconds=time.perf_counter() - started, problems=problem_lines(diff.problems, set(indexed)),
                changed=False,
            )
        previous = None
        if manifest is not None:
            previous, damage = _load_previous(settings)
            if previous is None:  # the manifest looked fine, the files behind it are not: start over
                note = f"rebuilding the index from scratch: {damage}"
                diff = diff_corpus(settings.corpus_dir, {}, page_ocr(settings))
        return _assemble(settings, previous, diff, reuse_vectors=previous is not None, progress=progress,
                         show_progress=show_progress, note=note)
