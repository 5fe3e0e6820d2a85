"""The public Python API: ``retrieve``, ``ask`` and the index helpers, thin functions over the shared engine.

Each function takes optional :class:`~scoqa.config.Settings` (default: from the ``SCOQA_*``
variables) and uses the process-wide :class:`~scoqa.engine.Engine` for them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .config import LLMSettings, Settings
from .engine import get_engine, validate_query, validate_sources
from .index import build, status
from .qa.answer import Reply
from .search.searcher import Hit

__all__ = ["ask", "ask_stream", "build_index", "index_status", "retrieve", "update_index"]


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


def ask(
    question: str,
    history: Sequence[dict[str, Any]] | None = None,
    *,
    k: int = 5,
    sources: Sequence[str] | None = None,
    settings: Settings | None = None,
) -> Reply:
    """Answer ``question`` from the corpus, quoting the passages it comes from.

    Args:
        question: The question.
        history: Earlier turns as role/content messages (Gradio's chat format; Gradio 6 content
            blocks are accepted). Used to resolve follow-ups such as "When did it happen?".
        k: Passages to retrieve.
        sources: Answer only from these documents (paths relative to the corpus, file names or
            folders); None uses them all.
        settings: Corpus/index locations and model.

    Returns:
        The reply: answer text with ``[n]`` markers, its sources, and whether it is answered. With a
        language model set (``SCOQA_LLM_URL``, ``settings.llm``), the answer is written by it and
        checked (``reply.mode == "generated"``) or, if it does not hold, quoted (``reply.notice`` says why).

    Raises:
        ValueError: for an empty question, ``k < 1`` or a document not in the index.
    """
    final = None
    for final in ask_stream(question, history, k=k, sources=sources, settings=settings):
        pass
    assert isinstance(final, Reply)
    return final


def ask_stream(
    question: str,
    history: Sequence[dict[str, Any]] | None = None,
    *,
    k: int = 5,
    sources: Sequence[str] | None = None,
    settings: Settings | None = None,
) -> Iterator[str | Reply]:
    """:func:`ask`, streamed: the language model's answer as it is written (each item the draft so
    far, a string, never checked), then the final :class:`Reply`. Without a language model, the
    reply alone.

    Raises:
        ValueError: as :func:`ask`.
    """
    question = validate_query(question, k)
    sources = validate_sources(sources)
    if history is not None and not isinstance(history, (list, tuple)):
        raise ValueError(f"history must be a list of role/content messages, got {type(history).__name__}")
    settings = settings or Settings.from_env()
    answerer = get_engine(settings).answerer()
    if not settings.llm.enabled:
        yield answerer.reply(question, history, k, sources)
        return
    from .qa.generate import Draft, Writer

    for event in Writer(endpoint(settings.llm), answerer).answer(question, history, k, sources):
        yield event.text if isinstance(event, Draft) else event.reply


@functools.lru_cache(maxsize=8)
def endpoint(llm: LLMSettings) -> Any:
    """The shared :class:`~scoqa.qa.llm.Endpoint` of ``llm`` (its client and model looked up once)."""
    from .qa.llm import Endpoint

    return Endpoint(llm)


def build_index(settings: Settings | None = None, *, show_progress: bool = False,
                progress: build.ProgressFn | None = None) -> build.BuildReport:
    """Rebuild the index from scratch (see :func:`scoqa.index.build.build_index`)."""
    return build.build_index(settings or Settings.from_env(), show_progress=show_progress, progress=progress)


def update_index(settings: Settings | None = None, *, show_progress: bool = False,
                 progress: build.ProgressFn | None = None) -> build.BuildReport:
    """Update the index incrementally (see :func:`scoqa.index.build.update_index`)."""
    return build.update_index(settings or Settings.from_env(), show_progress=show_progress, progress=progress)


def index_status(settings: Settings | None = None) -> status.IndexStatus:
    """Compare the corpus with the index (see :func:`scoqa.index.status.index_status`)."""
    return status.index_status(settings or Settings.from_env())


def corpus_and_index(settings: Settings | None = None) -> tuple[Path, Path]:
    """The corpus and index folders in effect."""
    settings = settings or Settings.from_env()
    return settings.corpus_dir, settings.index_dir
