"""The public Python API: ``retrieve`` (and the index helpers), over a shared, lazily loaded engine.

One :class:`Engine` per settings holds the embedding model and the loaded index; it is created on
first use, shared by every caller in the process (the app's requests included), and reloads the
index when a build or update swaps a new one in.
"""

from __future__ import annotations

import logging
import threading
import warnings
from pathlib import Path

from . import build, store
from .config import Settings
from .embed import Embedder, get_embedder
from .retrieve import MODES, Hit, Searcher

log = logging.getLogger(__name__)

__all__ = ["Engine", "Hit", "build_index", "get_engine", "index_status", "retrieve", "update_index"]


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
        raise ValueError("query is empty: ask a question, e.g. retrieve('When was the SCO founded?')")
    if isinstance(k, bool) or not isinstance(k, int):
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return query.strip()


class Engine:
    """The model and index for one set of settings, loaded once and shared between threads."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self._searcher: Searcher | None = None
        self._manifest_stamp: tuple[int, int] | None = None
        self.warnings: list[str] = []

    @property
    def embedder(self) -> Embedder:
        """The shared embedding model."""
        return get_embedder(self.settings.model)

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = (self.settings.index_dir / store.MANIFEST).stat()
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns)

    def _ensure_current(self, show_progress: bool) -> None:
        """Build the index if missing, bring it up to date if stale, and load it."""
        status = build.index_status(self.settings)
        if not status.exists:
            log.warning("no index at %s yet: building it from %s", self.settings.index_dir, self.settings.corpus_dir)
            build.build_index(self.settings, show_progress=show_progress)
        elif status.stale:
            changes = ", ".join(
                f"{what}: {', '.join(names)}"
                for what, names in (("added", status.added), ("changed", status.changed), ("removed", status.removed))
                if names
            )
            if self.settings.auto_update:
                log.warning("corpus changed since the index was built (%s): updating", changes)
                build.update_index(self.settings, show_progress=show_progress)
            else:
                message = (
                    f"the corpus changed since the index was built ({changes}); answers use the old index. "
                    "Run `scoqa index update` (or set SCOQA_AUTO_UPDATE=1)"
                )
                self.warnings = [message]
                warnings.warn(message, StaleIndexWarning, stacklevel=4)

    def searcher(self, show_progress: bool = True) -> Searcher:
        """The searcher over the current index, (re)loading it when the index on disk changed."""
        with self._lock:
            stamp = self._stamp()
            if self._searcher is None or stamp != self._manifest_stamp:
                if self._searcher is None:
                    self._ensure_current(show_progress)
                    stamp = self._stamp()
                index = store.load_index(self.settings.index_dir, self.settings.model)
                self._searcher = Searcher(index, self.embedder)
                self._manifest_stamp = stamp
            return self._searcher

    def refresh(self) -> None:
        """Re-check the corpus against the index on the next search (used after edits)."""
        with self._lock:
            self._searcher = None

    def retrieve(self, query: str, k: int = 5, mode: str = "hybrid") -> list[Hit]:
        """See :func:`scoqa.retrieve`."""
        query = validate_query(query, k)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        return self.searcher().search(query, k, mode)


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


def retrieve(query: str, k: int = 5, *, mode: str = "hybrid", settings: Settings | None = None) -> list[Hit]:
    """Find the passages of the corpus that best answer ``query``.

    The first call loads the model and the index, building the index (with a progress bar) if
    there is none yet.

    Args:
        query: A question or keywords.
        k: How many passages to return (>= 1).
        mode: ``"hybrid"`` (BM25 + dense, fused; default), ``"dense"`` or ``"bm25"``.
        settings: Corpus/index locations and model; default from ``SCOQA_*`` variables.

    Returns:
        Up to ``k`` hits, best first.

    Raises:
        ValueError: for an empty query, ``k < 1`` or an unknown mode.
        FileNotFoundError: if the corpus folder does not exist.
    """
    validate_query(query, k)
    return get_engine(settings).retrieve(query, k, mode)


def build_index(settings: Settings | None = None, *, show_progress: bool = False) -> build.BuildReport:
    """Rebuild the index from scratch (see :func:`scoqa.build.build_index`)."""
    report = build.build_index(settings or Settings.from_env(), show_progress=show_progress)
    return report


def update_index(settings: Settings | None = None, *, show_progress: bool = False) -> build.BuildReport:
    """Update the index incrementally (see :func:`scoqa.build.update_index`)."""
    return build.update_index(settings or Settings.from_env(), show_progress=show_progress)


def index_status(settings: Settings | None = None) -> build.IndexStatus:
    """Compare the corpus with the index (see :func:`scoqa.build.index_status`)."""
    return build.index_status(settings or Settings.from_env())


def corpus_and_index(settings: Settings | None = None) -> tuple[Path, Path]:
    """The corpus and index folders in effect."""
    settings = settings or Settings.from_env()
    return settings.corpus_dir, settings.index_dir
