"""The public Python API: ``retrieve`` and the index helpers, thin functions over the shared engine.

Each function takes optional :class:`~scoqa.config.Settings` (default: from the ``SCOQA_*``
variables) and uses the process-wide :class:`~scoqa.engine.Engine` for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .config import Settings
from .engine import get_engine, validate_query
from .index import build
from .search.searcher import Hit

__all__ = ["build_index", "index_status", "retrieve", "update_index"]


def retrieve(query: str, k: int = 5, *, mode: str = "hybrid", sources: Sequence[str] | None = None,
             settings: Settings | None = None) -> list[Hit]:
    """Find the passages of the corpus that best answer ``query``.

    The first call loads the model and the index, building the index (with a progress bar) if
    there is none yet.

    Args:
        query: A question or keywords.
        k: How many passages to return (>= 1).
        mode: ``"hybrid"`` (BM25 + dense, fused, then reranked by late interaction; default),
            ``"fusion"`` (without the rerank), ``"dense"`` or ``"bm25"``.
        sources: Search only these documents: paths relative to the corpus folder, file names or
            folders (``["report.pdf"]``); None searches them all.
        settings: Corpus/index locations and model; default from ``SCOQA_*`` variables.

    Returns:
        Up to ``k`` hits, best first.

    Raises:
        ValueError: for an empty query, ``k < 1``, an unknown mode or a document not in the index.
        FileNotFoundError: if the corpus folder does not exist.
    """
    validate_query(query, k)
    return get_engine(settings).retrieve(query, k, mode, sources)


def build_index(settings: Settings | None = None, *, show_progress: bool = False,
                progress: build.ProgressFn | None = None) -> build.BuildReport:
    """Rebuild the index from scratch (see :func:`scoqa.build.build_index`)."""
    return build.build_index(settings or Settings.from_env(), show_progress=show_progress, progress=progress)


def update_index(settings: Settings | None = None, *, show_progress: bool = False,
                 progress: build.ProgressFn | None = None) -> build.BuildReport:
    """Update the index incrementally (see :func:`scoqa.build.update_index`)."""
    return build.update_index(settings or Settings.from_env(), show_progress=show_progress, progress=progress)


def index_status(settings: Settings | None = None) -> build.IndexStatus:
    """Compare the corpus with the index (see :func:`scoqa.build.index_status`)."""
    return build.index_status(settings or Settings.from_env())


def corpus_and_index(settings: Settings | None = None) -> tuple[Path, Path]:
    """The corpus and index folders in effect."""
    settings = settings or Settings.from_env()
    return settings.corpus_dir, settings.index_dir
