"""Extractive answers with [n] citations, follow-up questions and abstention (no language model).

Placeholder implementation: the public shapes (:class:`Reply`, :class:`Quote`, :func:`ask`) are
final; the answer selection is refined in its own change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .api import get_engine, validate_query
from .chunk import sentence_spans
from .config import Settings
from .retrieve import Hit


@dataclass(frozen=True)
class Quote:
    """A verbatim piece of a source used in an answer.

    Attributes:
        source: 0-based index into ``Reply.sources`` (the marker is ``[source + 1]``).
        start: Start offset of the quoted text in ``Reply.sources[source].text``.
        end: End offset (exclusive).
    """

    source: int
    start: int
    end: int


@dataclass(frozen=True)
class Reply:
    """The assistant's answer to one question.

    Attributes:
        text: The answer, with ``[n]`` markers; ``[n]`` refers to ``sources[n-1]``.
        sources: The passages cited (or, when not answered, the possibly related ones).
        answered: False when the report does not support an answer.
        question: The question as asked.
        search_query: The query actually searched (a follow-up is expanded with earlier turns).
        quotes: Where each quoted sentence sits in its source, for highlighting.
    """

    text: str
    sources: list[Hit]
    answered: bool
    question: str
    search_query: str
    quotes: list[Quote] = field(default_factory=list)


def ask(
    question: str,
    history: Sequence[dict[str, Any]] | None = None,
    *,
    k: int = 5,
    settings: Settings | None = None,
) -> Reply:
    """Answer ``question`` from the corpus, quoting the passages it comes from.

    Args:
        question: The question.
        history: Earlier turns as role/content messages (Gradio's chat format).
        k: Passages to consider.
        settings: Corpus/index locations and model.

    Returns:
        The reply.

    Raises:
        ValueError: for an empty question or ``k < 1``.
    """
    question = validate_query(question, k)
    hits = get_engine(settings).retrieve(question, k=k)
    if not hits:
        return Reply("The report does not cover this.", [], False, question, question)
    start, end = sentence_spans(hits[0].text)[0]
    text = f"{hits[0].text[start:end]} [1]"
    return Reply(text, [hits[0]], True, question, question, [Quote(0, start, end)])
