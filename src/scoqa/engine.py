"""The engine: the embedding model and the loaded index for one set of settings, kept current.

One :class:`Engine` per settings holds the embedding model and the loaded index; it is created on
first use (:func:`get_engine`), shared by every caller in the process (the app's requests
included), and reloads the index when a build or update swaps a new one in. The public functions
over it are in :mod:`scoqa.api`.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import warnings
from collections.abc import Sequence

from .config import Settings
from .index import build, files
from .index.errors import IndexLocked
from .index import status as corpus_status
from .index.backend import Backend, open_backend
from .index.embed import Embedder, embedder_for
from .qa.answer import Answerer
from .search.searcher import MODES, Hit, Searcher

log = logging.getLogger(__name__)

__all__ = ["Engine", "StaleIndexWarning", "get_engine", "skipped_summary", "validate_query", "validate_sources"]


class StaleIndexWarning(UserWarning):
    """The corpus changed since the index was built and auto-update is off."""


def validate_query(query: object, k: object) -> str:
    """Check the arguments of a search; return the stripped query.

    Raises:
        ValueError: for an empty query or a k below 1.
    """
    if not isinstance(query, str):
        raise ValueError(f"query must be a string, got {type(query).__name__}")
    if not query.strip():
        raise ValueError('query is empty: ask a question, e.g. "When was the SCO founded?"')
    if isinstance(k, bool) or not isinstance(k, int):
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return query.strip()


def validate_sources(sources: object) -> list[str] | None:
    """Check a ``sources`` argument: None, or a non-empty list of document names.

    Raises:
        ValueError: for a single string (a common slip), an empty list or a non-string entry.
    """
    if sources is None:
        return None
    if isinstance(sources, str):
        raise ValueError(f"sources must be a list of document names, e.g. [{sources!r}], got a string")
    names = list(sources)  # type: ignore[call-overload]
    if not names or not all(isinstance(n, str) and n.strip() for n in names):
        raise ValueError(f"sources must be a non-empty list of document names, got {sources!r}")
    return names


def skipped_summary(count: int) -> str:
    """The one line that stands for ``count`` skipped files outside the index commands."""
    return f"{count} file{'s' if count != 1 else ''} skipped — `scoqa index status` lists them"


def _some(names: list[str], shown: int = 5) -> str:
    """``a, b, c and 7 more``: a list short enough for one warning line."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


@functools.cache
def limit_threads() -> None:
    """One thread for FAISS and numpy's BLAS in this process, set once when the first searcher
    is made. A search answers one question at a time: OpenMP threads only add start-up and
    spin-wait costs (benchmark: p95 20 ms against 0.3 ms at 10k vectors on a busy machine), and
    right after the model's forward pass torch's threads are still spinning, so a two-thread
    OpenBLAS product in the rerank waited for them (measured: retrieve p50 16 ms against 8 ms
    with one BLAS thread, query embedding 7 ms)."""
    import faiss
    from threadpoolctl import threadpool_limits

    faiss.omp_set_num_threads(1)
    threadpool_limits(limits=1, user_api="blas")


class Engine:
    """The model and index for one set of settings, loaded once and shared between threads.

    The engine keeps itself current in a long-running process (the app): it reloads the index
    when a build or ``scoqa index watch`` swaps a new one in (a ``stat`` of the manifest per
    search), and looks at the corpus at most every :attr:`corpus_check_interval` seconds — a
    ``stat`` of each file, hashing only when one moved. A stale index is updated when
    ``settings.auto_update`` is on, otherwise a :class:`StaleIndexWarning` says what to run.
    """

    #: Seconds between two looks at the corpus for changes.
    corpus_check_interval: float = 3.0

    def __init__(self, settings: Settings, corpus_check_interval: float | None = None) -> None:
        self.settings = settings
        if corpus_check_interval is not None:
            self.corpus_check_interval = corpus_check_interval
        self._lock = threading.RLock()
        self._searcher: Searcher | None = None
        self._answerer: Answerer | None = None
        self._manifest_stamp: object = None
        self._backend: Backend | None = None
        self._corpus_signature: object = None
        self._corpus_checked_at = float("-inf")
        self._reported: tuple[str, ...] = ()
        self.warnings: list[str] = []
        #: The files the index could not take in, one line each (as ``scoqa index status`` lists them).
        self.problems: list[str] = []

    @property
    def embedder(self) -> Embedder:
        """The shared embedding model."""
        return embedder_for(self.settings)

    @property
    def backend(self) -> Backend:
        """Where the index lives (``SCOQA_BACKEND``)."""
        if self._backend is None:
            self._backend = open_backend(self.settings)
        return self._backend

    def _stamp(self) -> object:
        return self.backend.stamp()

    def _report(self, lines: list[str]) -> None:
        """Say in one line how many files were skipped, once per distinct set of problems.

        The lines themselves are kept in :attr:`problems`; ``scoqa index status`` (and the app's
        index panel) list them. A search or an answer is no place for a wall of file names.
        """
        self.problems = list(lines)
        if tuple(lines) != self._reported and lines:
            log.warning("%s", skipped_summary(len(lines)))
        self._reported = tuple(lines)

    def _ensure_current(self, show_progress: bool) -> None:
        """Build the index if missing, bring it up to date if stale (or warn), refuse if unusable."""
        # Taken before hashing: an edit made during the check is seen by the next one.
        self._corpus_signature = corpus_status.corpus_signature(self.settings.corpus_dir)
        self._corpus_checked_at = time.monotonic()
        status = corpus_status.index_status(self.settings)
        if not status.exists:
            log.warning("no index at %s yet: building it from %s", self.backend.location, self.settings.corpus_dir)
            # An update, not a forced build: if another process builds it meanwhile, its work is used.
            report = build.update_index(self.settings, show_progress=show_progress)
            self._report(report.problems)
            return
        # Another model or format: never replaced behind the user's back; the message says what to run.
        manifest = self.backend.read_manifest()
        files.check_manifest(manifest, self.backend.location, self.settings.model)
        if not status.stale:
            self.warnings = []
            self._report(status.problems)
            return
        changes = ", ".join(
            f"{what}: {_some(names)}"
            for what, names in (("added", status.added), ("changed", status.changed), ("removed", status.removed))
            if names
        ) or corpus_status.chunking_note(manifest, self.settings)
        if self.settings.auto_update:
            log.warning("corpus changed since the index was built (%s): updating", changes)
            try:
                # Never queue behind another build (e.g. `scoqa index watch`): its result is
                # picked up by the manifest check as soon as it is swapped in.
                report = build.update_index(self.settings, show_progress=show_progress, lock_wait=0)
            except IndexLocked:
                log.warning("another build is running; searching the current index until it is done")
                self._corpus_signature = None  # look again at the next check
                return
            self.warnings = []
            self._report(report.problems)
        else:
            message = (
                f"the corpus changed since the index was built ({changes}); answers use the old index. "
                "Run `scoqa index update` (or set SCOQA_AUTO_UPDATE=1)"
            )
            if self.warnings != [message]:
                warnings.warn(message, StaleIndexWarning, stacklevel=5)
            self.warnings = [message]
            self._report(status.problems)

    def _check_corpus(self, show_progress: bool) -> None:
        """Look for corpus changes if the last look is older than the interval (stat first, then hash)."""
        now = time.monotonic()
        if now - self._corpus_checked_at < self.corpus_check_interval:
            return
        self._corpus_checked_at = now
        if corpus_status.corpus_signature(self.settings.corpus_dir) != self._corpus_signature:
            self._ensure_current(show_progress)

    def searcher(self, show_progress: bool = True) -> Searcher:
        """The searcher over the current index, (re)loading it when the index on disk changed.

        Raises:
            IndexMismatch: for an index of another model, dimension or format.
            IndexCorrupt: for a damaged index. Both messages say what to run.
        """
        with self._lock:
            if self._searcher is None:
                self._ensure_current(show_progress)
            else:
                self._check_corpus(show_progress)
            stamp = self._stamp()
            if self._searcher is None or stamp != self._manifest_stamp:
                index = self.backend.load(self.settings.model)
                files.check_manifest(index.manifest, index.path, dim=self.embedder.dim)
                limit_threads()
                self._searcher = Searcher(index, self.embedder)
                self._manifest_stamp = stamp
            return self._searcher

    def answerer(self, show_progress: bool = True) -> Answerer:
        """The answerer over the current index: one per searcher (:meth:`searcher`), so that what
        it reads of the index for answers (the passages' sentences, the documents' title pages)
        is read once, not once a question."""
        with self._lock:
            searcher = self.searcher(show_progress)
            if self._answerer is None or self._answerer.searcher is not searcher:
                self._answerer = Answerer(searcher)
            return self._answerer

    def refresh(self) -> None:
        """Re-check the corpus against the index on the next search (used after edits)."""
        with self._lock:
            self._searcher = None

    def retrieve(self, query: str, k: int = 5, mode: str = "hybrid", sources: Sequence[str] | None = None) -> list[Hit]:
        """See :func:`scoqa.retrieve`."""
        query = validate_query(query, k)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        return self.searcher().search(query, k, mode, sources=validate_sources(sources))


_engines: dict[Settings, Engine] = {}
_engines_lock = threading.Lock()


def get_engine(settings: Settings | None = None) -> Engine:
    """The shared engine for ``settings`` (default: from the environment)."""
    settings = settings or Settings.from_env()
    with _engines_lock:
        engine = _engines.get(settings)
        if engine is None:
            engine = _engines[settings] = Engine(settings)
        return engine
