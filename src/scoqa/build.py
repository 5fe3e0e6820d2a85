"""Corpus -> index: read, clean, chunk and embed the sources, reusing vectors that did not change.

``build_index`` rebuilds from scratch; ``update_index`` compares the corpus with the manifest by
content hash and re-embeds only the passages whose indexed text is new. Both write atomically
(see :mod:`scoqa.store`) under a lock, so two builds never interleave.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import store
from .chunk import LEAD_IN_WORDS, MIN_PARAGRAPH_TOKENS, Chunk, chunk_document
from .config import Settings
from .embed import get_embedder, get_token_counter
from .ingest import SourceError, SourceProblem, check_readable, discover, file_sha256, read_document, relative_source

log = logging.getLogger(__name__)

#: progress(done, total, description), called while embedding.
ProgressFn = Callable[[int, int, str], None]
EMBED_BATCH = 64


@dataclass(frozen=True)
class IndexStatus:
    """How the corpus differs from the index.

    Attributes:
        exists: Whether an index has been built.
        stale: Whether any source was added, changed or removed since the build.
        added, changed, removed: Source paths relative to the corpus.
        chunks: Passages in the index.
        files: Sources in the index.
        problems: Files in the corpus that cannot be indexed, with reasons.
        model: Model the index was built with.
        built_at: Build time (UTC, ISO 8601).
    """

    exists: bool
    stale: bool
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    chunks: int = 0
    files: int = 0
    problems: list[str] = field(default_factory=list)
    model: str = ""
    built_at: str = ""
    faiss_index: str = ""


@dataclass(frozen=True)
class BuildReport:
    """What a build or update did."""

    chunks: int
    files: int
    embedded: int
    reused: int
    removed: int
    seconds: float
    problems: list[str] = field(default_factory=list)
    changed: bool = True


def _context_key(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\x00{text}".encode()).hexdigest()


def _chunking_params(settings: Settings) -> dict[str, int]:
    return {
        "chunk_tokens": settings.chunk_tokens,
        "lead_in_words": LEAD_IN_WORDS,
        "min_paragraph_tokens": MIN_PARAGRAPH_TOKENS,
    }


def scan_corpus(corpus_dir: Path) -> tuple[dict[str, str], list[SourceProblem]]:
    """Hash every indexable file of the corpus (cheap checks only; no parsing)."""
    paths, problems = discover(corpus_dir)
    hashes: dict[str, str] = {}
    for path in paths:
        source = relative_source(path, corpus_dir)
        try:
            check_readable(path, corpus_dir)
            hashes[source] = file_sha256(path)
        except (SourceError, OSError) as exc:
            problems.append(SourceProblem(source, str(exc)))
    return hashes, problems


def index_status(settings: Settings | None = None) -> IndexStatus:
    """Compare the corpus with the index manifest by content hash.

    Raises:
        FileNotFoundError: if the corpus folder does not exist.
    """
    settings = settings or Settings.from_env()
    hashes, problems = scan_corpus(settings.corpus_dir)
    try:
        manifest = store.read_manifest(settings.index_dir)
    except store.IndexNotFound:
        return IndexStatus(False, True, added=sorted(hashes), problems=[str(p) for p in problems])
    indexed: dict[str, str] = manifest.get("sources", {})
    problem_sources = {p.source for p in problems}
    added = sorted(set(hashes) - set(indexed))
    changed = sorted(s for s in hashes if s in indexed and hashes[s] != indexed[s])
    removed = sorted(s for s in indexed if s not in hashes and s not in problem_sources)
    return IndexStatus(
        exists=True,
        stale=bool(added or changed or removed),
        added=added,
        changed=changed,
        removed=removed,
        chunks=int(manifest.get("chunks", 0)),
        files=len(indexed),
        problems=[str(p) for p in problems],
        model=str(manifest.get("model", "")),
        built_at=str(manifest.get("built_at", "")),
        faiss_index=str(manifest.get("faiss_index", "")),
    )


def _embed(texts: list[str], settings: Settings, progress: ProgressFn | None, show_progress: bool) -> np.ndarray:
    embedder = get_embedder(settings.model)
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    bar = None
    if show_progress:
        from tqdm import tqdm

        bar = tqdm(total=len(texts), desc="embedding passages", unit="passage")
    parts = []
    for start in range(0, len(texts), EMBED_BATCH):
        batch = texts[start:start + EMBED_BATCH]
        parts.append(embedder.encode(batch, batch_size=EMBED_BATCH))
        if bar is not None:
            bar.update(len(batch))
        if progress is not None:
            progress(start + len(batch), len(texts), "embedding passages")
    if bar is not None:
        bar.close()
    return np.vstack(parts)


def _build(
    settings: Settings,
    previous: store.Index | None,
    keep_sources: set[str],
    progress: ProgressFn | None,
    show_progress: bool,
) -> BuildReport:
    """Assemble a new index: keep ``previous``'s passages of ``keep_sources``, read the rest."""
    started = time.perf_counter()
    hashes, problems = scan_corpus(settings.corpus_dir)
    count = get_token_counter(settings.model)
    chunks: list[Chunk] = []
    sources: dict[str, str] = {}
    old_by_source: dict[str, list[int]] = {}
    if previous is not None:
        for i, chunk in enumerate(previous.chunks):
            old_by_source.setdefault(chunk.source, []).append(i)
    kept_rows: dict[int, int] = {}  # new position -> row in previous.vectors
    for source in sorted(hashes):
        if previous is not None and source in keep_sources:
            for row in old_by_source.get(source, []):
                kept_rows[len(chunks)] = row
                chunks.append(previous.chunks[row])
            sources[source] = hashes[source]
            continue
        try:
            doc = read_document(settings.corpus_dir / source, settings.corpus_dir)
        except SourceError as exc:
            problems.append(SourceProblem(source, str(exc)))
            continue
        chunks.extend(chunk_document(doc, settings.chunk_tokens, count))
        sources[source] = doc.sha256
    # Sources that fail now but were indexed before keep their passages: nothing indexed is lost.
    failing = {p.source for p in problems}
    if previous is not None:
        for source, sha in previous.manifest.get("sources", {}).items():
            if source in failing and source not in sources:
                for row in old_by_source.get(source, []):
                    kept_rows[len(chunks)] = row
                    chunks.append(previous.chunks[row])
                sources[source] = sha
                log.warning("%s: keeping its passages from the previous build", source)
    # Reuse vectors by (model, indexed text): edits elsewhere in a file do not re-embed the rest.
    cache: dict[str, int] = {}
    if previous is not None:
        for row, chunk in enumerate(previous.chunks):
            cache.setdefault(_context_key(settings.model, chunk.context), row)
    rows: list[int | None] = []
    for position, chunk in enumerate(chunks):
        rows.append(kept_rows.get(position, cache.get(_context_key(settings.model, chunk.context))))
    missing = [i for i, row in enumerate(rows) if row is None]
    fresh = _embed([chunks[i].context for i in missing], settings, progress, show_progress)
    dim = fresh.shape[1] if fresh.size else (previous.vectors.shape[1] if previous is not None else 0)
    if not dim:
        dim = get_embedder(settings.model).dim
    vectors = np.zeros((len(chunks), dim), dtype=np.float32)
    for i, row in enumerate(rows):
        if row is not None:
            vectors[i] = previous.vectors[row]  # type: ignore[union-attr]
    if missing:
        vectors[missing] = fresh
    reused_rows = {row for row in rows if row is not None}
    removed = (len(previous.chunks) - len(reused_rows)) if previous is not None else 0
    manifest = store.new_manifest(
        model=settings.model,
        dim=dim,
        chunking=_chunking_params(settings),
        sources=sources,
        chunks=len(chunks),
        faiss_index="",
        problems=[str(p) for p in problems],
    )
    store.save_index(settings.index_dir, manifest, chunks, vectors)
    for problem in problems:
        log.warning("%s", problem)
    return BuildReport(
        chunks=len(chunks),
        files=len(sources),
        embedded=len(missing),
        reused=len(chunks) - len(missing),
        removed=removed,
        seconds=time.perf_counter() - started,
        problems=[str(p) for p in problems],
    )


def _compatible(settings: Settings) -> bool:
    """Whether the index on disk was built with these settings (format, model, chunking)."""
    try:
        manifest = store.read_manifest(settings.index_dir)
        store.check_manifest(manifest, settings.index_dir, settings.model)
    except store.IndexProblem:
        return False
    return manifest.get("chunking") == _chunking_params(settings)


def _previous(settings: Settings) -> store.Index | None:
    """The current index if it can seed an update (same format, model and chunking), else None."""
    try:
        previous = store.load_index(settings.index_dir, settings.model)
    except store.IndexProblem as exc:
        if not isinstance(exc, store.IndexNotFound):
            log.warning("not reusing the existing index: %s", exc)
        return None
    if previous.manifest.get("chunking") != _chunking_params(settings):
        return None
    return previous


def build_index(
    settings: Settings | None = None,
    *,
    progress: ProgressFn | None = None,
    show_progress: bool = False,
    lock_wait: float | None = None,
) -> BuildReport:
    """Rebuild the index from scratch: every source is read and every passage embedded.

    Args:
        settings: Locations and model; defaults to :meth:`Settings.from_env`.
        progress: Called as ``progress(done, total, description)`` while embedding.
        show_progress: Show a tqdm bar on the terminal.
        lock_wait: Seconds to wait for another build; None waits until it ends.

    Raises:
        FileNotFoundError: if the corpus folder does not exist.
        store.IndexLocked: if another build holds the lock past ``lock_wait``.
    """
    settings = settings or Settings.from_env()
    with store.build_lock(settings.index_dir, lock_wait):
        return _build(settings, None, set(), progress, show_progress)


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
    passages are dropped. With nothing changed, nothing is written.

    Args and raises: as :func:`build_index`.
    """
    settings = settings or Settings.from_env()
    started = time.perf_counter()
    with store.build_lock(settings.index_dir, lock_wait):
        status = index_status(settings)
        if status.exists and not status.stale and _compatible(settings):
            return BuildReport(
                chunks=status.chunks, files=status.files, embedded=0, reused=status.chunks, removed=0,
                seconds=time.perf_counter() - started, problems=status.problems, changed=False,
            )
        previous = _previous(settings) if status.exists else None
        keep = set() if previous is None else (
            set(previous.manifest.get("sources", {})) - set(status.changed) - set(status.removed)
        )
        return _build(settings, previous, keep, progress, show_progress)
