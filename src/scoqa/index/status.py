"""How the corpus differs from the index: by content hash, cheaply enough to ask often.

:func:`index_status` backs ``scoqa index status``; :func:`diff_corpus` is shared with the update
(:mod:`scoqa.index.build`) so both always agree on what is added, changed, removed or unreadable; and
:func:`corpus_signature` is the ``stat``-only fingerprint a long-running engine checks before
paying for hashes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Settings
from ..ingest import (
    Document,
    SourceError,
    SourceProblem,
    check_readable,
    discover,
    file_sha256,
    read_document,
    relative_source,
)
from ..ingest.chunk import LEAD_IN_WORDS, MIN_PARAGRAPH_TOKENS
from ..ingest.ocr import PageOCR, page_ocr
from . import files
from .errors import IndexMismatch, IndexNotFound
from .backend import open_backend

#: Appended to the reason of a failing source whose earlier passages the index keeps.
KEPT_NOTE = "; the index keeps its earlier passages"


@dataclass(frozen=True)
class IndexStatus:
    """How the corpus differs from the index.

    Attributes:
        exists: Whether an index has been built.
        stale: Whether any source was added, changed or removed since the build, or the chunking
            settings changed.
        added, changed, removed: Source paths relative to the corpus.
        chunks: Passages in the index.
        files: Sources in the index.
        problems: Files in the corpus that cannot be indexed, one line each with the reason.
        model: Model the index was built with.
        built_at: Build time (UTC, ISO 8601).
        faiss_index: The FAISS index type.
        note: Why the index cannot be used as it is (other model, format or chunking), with what
            to run; empty when it can.
        documents: Passages per indexed document (path relative to the corpus).
        titles: The title each indexed document declares, where it has one.
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
    note: str = ""
    documents: dict[str, int] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CorpusDiff:
    """The corpus compared with the sources an index holds.

    Attributes:
        hashes: sha256 of every source that can be indexed now.
        documents: The added and changed sources, already read (so an update reads them once).
        added, changed, removed: Source paths, sorted.
        problems: The files that cannot be indexed.
    """

    hashes: dict[str, str]
    documents: dict[str, Document]
    added: list[str]
    changed: list[str]
    removed: list[str]
    problems: list[SourceProblem]

    @property
    def stale(self) -> bool:
        """Whether the index misses any change."""
        return bool(self.added or self.changed or self.removed)


#: Bumped whenever reading, cleaning or chunking changes what passages a file gives, so that
#: an update re-reads every source (vectors of unchanged passages are still reused).
INGEST_VERSION = 27


def chunking_params(settings: Settings) -> dict[str, int]:
    """The chunking parameters recorded in the manifest: an index chunked otherwise is re-read."""
    return {
        "ingest_version": INGEST_VERSION,
        "chunk_tokens": settings.chunk_tokens,
        "lead_in_words": LEAD_IN_WORDS,
        "min_paragraph_tokens": MIN_PARAGRAPH_TOKENS,
    }


def corpus_signature(corpus_dir: Path) -> tuple[tuple[str, int, int, int], ...]:
    """A cheap fingerprint of the corpus: path, size, mtime and inode of every file (no reading).

    Equal signatures mean nothing worth hashing has moved; it is what a long-running process
    checks every few seconds before it pays for :func:`index_status`.

    Raises:
        FileNotFoundError: if the corpus folder does not exist.
    """
    paths, problems = discover(corpus_dir)
    entries = []
    for path in [*paths, *(corpus_dir / p.source for p in problems)]:
        try:
            st = path.stat()
            entries.append((relative_source(path, corpus_dir), st.st_size, st.st_mtime_ns, st.st_ino))
        except OSError:
            entries.append((relative_source(path, corpus_dir), -1, -1, -1))
    return tuple(sorted(entries))


def diff_corpus(corpus_dir: Path, indexed: dict[str, str], ocr: PageOCR | None = None) -> CorpusDiff:
    """Compare the corpus with ``indexed`` (source -> sha256) by content hash.

    Unchanged files are only hashed; added and changed files are read in full (scanned PDF pages
    with ``ocr``, whose cache makes a second reading cheap), so that a file that cannot be parsed
    is reported as a problem rather than as a change.

    Raises:
        FileNotFoundError: if the corpus folder does not exist.
    """
    paths, problems = discover(corpus_dir)
    hashes: dict[str, str] = {}
    documents: dict[str, Document] = {}
    for path in paths:
        source = relative_source(path, corpus_dir)
        try:
            if source in indexed:
                check_readable(path, corpus_dir)
                sha = file_sha256(path)
                if sha == indexed[source]:
                    hashes[source] = sha
                    continue
            document = read_document(path, corpus_dir, ocr)
        except SourceError as exc:
            problems.append(SourceProblem(source, str(exc)))
            continue
        except OSError as exc:  # hashing an indexed file that has just become unreadable
            problems.append(SourceProblem(source, f"cannot be read ({exc.strerror or exc}); check its permissions"))
            continue
        hashes[source] = document.sha256
        if indexed.get(source) != document.sha256:  # it may have changed back while being read
            documents[source] = document
    failing = {p.source for p in problems}
    return CorpusDiff(
        hashes=hashes,
        documents=documents,
        added=sorted(s for s in documents if s not in indexed),
        changed=sorted(s for s in documents if s in indexed),
        removed=sorted(s for s in indexed if s not in hashes and s not in failing),
        problems=sorted(problems, key=lambda p: p.source),
    )


def problem_lines(problems: list[SourceProblem], kept: set[str]) -> list[str]:
    """One line per problem; those of sources in ``kept`` say that their earlier passages stay."""
    return [f"{p}{KEPT_NOTE}" if p.source in kept else str(p) for p in problems]


def chunking_note(manifest: dict[str, Any], settings: Settings) -> str:
    """Empty if the index was chunked as ``settings`` say, else what differs."""
    chunking = chunking_params(settings)
    built = manifest.get("chunking") or {}
    differ = [k for k in sorted(set(built) | set(chunking)) if built.get(k) != chunking.get(k)]
    if not differ:
        return ""
    if differ == ["ingest_version"]:
        return "the documents were read by an earlier version of scoqa's readers"
    changed = ", ".join(f"{k} {built.get(k)} -> {chunking.get(k)}" for k in differ)
    return f"the index was cut into passages with other settings ({changed})"


def index_status(settings: Settings | None = None) -> IndexStatus:
    """Compare the corpus with the index manifest by content hash.

    Raises:
        FileNotFoundError: if the corpus folder does not exist.
        IndexCorrupt: if the manifest is unreadable or an index file is missing or truncated.
    """
    settings = settings or Settings.from_env()
    discover(settings.corpus_dir)  # a missing corpus is the first thing to tell
    try:
        backend = open_backend(settings)
        manifest = backend.read_manifest()
    except IndexNotFound:
        diff = diff_corpus(settings.corpus_dir, {}, page_ocr(settings))
        return IndexStatus(False, True, added=diff.added, problems=problem_lines(diff.problems, set()))
    indexed: dict[str, str] = manifest.get("sources", {})
    diff = diff_corpus(settings.corpus_dir, indexed, page_ocr(settings))
    chunking = chunking_note(manifest, settings)
    try:
        files.check_manifest(manifest, backend.location, settings.model)
        note = f"{chunking}: run `scoqa index update`" if chunking else ""
    except IndexMismatch as exc:
        note = str(exc)
    return IndexStatus(
        exists=True,
        stale=diff.stale or bool(chunking),
        added=diff.added,
        changed=diff.changed,
        removed=diff.removed,
        chunks=int(manifest.get("chunks", 0)),
        files=len(indexed),
        problems=problem_lines(diff.problems, set(indexed)),
        model=str(manifest.get("model", "")),
        built_at=str(manifest.get("built_at", "")),
        faiss_index=str(manifest.get("faiss_index", "")),
        note=note,
        documents=dict(manifest.get("passages") or {}),
        titles=dict(manifest.get("titles") or {}),
    )
