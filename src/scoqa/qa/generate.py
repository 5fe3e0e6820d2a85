"""Generative answers from a language model, grounded in the passages and checked, with the quoted
answer as the floor.

:class:`Writer` answers as scoqa always does first (:class:`~scoqa.qa.answer.Answerer`): the
follow-up resolved (by the model, checked: :mod:`scoqa.qa.rewrite`), the passages found, the
quoted answer composed, and abstention decided. Only an answered question goes to the model,
with the reply's passages numbered [1]..[n]; its answer streams out as :class:`Draft` pieces,
then every ``[n]`` is checked against passage n and corrected or dropped
(:mod:`scoqa.qa.grounding`). The quoted answer is given instead, with a one-line notice, when

* the endpoint is down, slow, fails or sends what is not a chat completion;
* too little of the model's answer holds (no sentence, or fewer than half of them), or what holds
  is longer than a quoted answer may be (400 characters);
* the answer leaves out what makes the quoted answer an answer: its date for "when", its
  number for "how many", its name for "who" and "where", its passage for any other question.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..search.searcher import Hit
from .answer import MAX_ANSWER_CHARS, Answerer, Quote, Reply
from .evidence import answer_facts
from .grounding import MARKERS, Checked, Grounding, passage_text
from .llm import Endpoint, LLMError
from .question import Question
from .rewrite import rewrite_followup

log = logging.getLogger(__name__)

#: The longest answer the model may write, in its tokens (answers are at most 400 characters).
MAX_TOKENS = 120

SYSTEM = (
    "You answer questions about documents using only the numbered passages given. "
    "Answer in one to three short sentences. After each sentence write the number of the passage "
    "it comes from in square brackets, like [1]. Copy names, numbers and dates exactly as the "
    "passages write them. Do not add anything the passages do not say."
)


@dataclass(frozen=True)
class Draft:
    """The model's answer so far, as it streams in: not yet checked, never final."""

    text: str


@dataclass(frozen=True)
class Outcome:
    """How one question was answered with a language model.

    Attributes:
        reply: The final reply: generated and checked, or the quoted one.
        raw: The model's answer as written ("" when it was not asked or failed).
        checked: The check of that answer, None when there was none.
        seconds: Time the model took (rewrite and answer), 0 when it was not asked.
        fallback: Why the quoted answer was given although the model was asked; "" otherwise.
        asked: Whether the model was asked for an answer (not when scoqa declined).
    """

    reply: Reply
    raw: str = ""
    checked: Checked | None = None
    seconds: float = 0.0
    fallback: str = ""
    asked: bool = False


def prompt(question: str, passages: Sequence[Hit]) -> list[dict[str, str]]:
    """The chat messages that ask for an answer to ``question`` from ``passages``, numbered from 1."""
    numbered = "\n\n".join(f"[{n}] {' '.join(passage_text(h).split())}" for n, h in enumerate(passages, start=1))
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"Passages:\n\n{numbered}\n\nQuestion: {question}"},
    ]


def keeps_the_answer(question: Question, floor: Reply, checked: Checked) -> bool:
    """Whether the checked answer keeps what makes the quoted answer an answer: one of its dates,
    numbers or names of the kind asked, or (for other questions) a citation of a passage it quotes."""
    quoted = MARKERS.sub(" ", floor.text)
    wanted = answer_facts(question.kind, quoted, question.text)
    if wanted:
        return bool(wanted & answer_facts(question.kind, MARKERS.sub(" ", checked.text), question.text))
    return bool({q.source for q in floor.quotes} & set(checked.order))


class Writer:
    """Answers with a language model over the passages of one answerer's searcher."""

    def __init__(self, endpoint: Endpoint, answerer: Answerer, max_tokens: int = MAX_TOKENS) -> None:
        self.endpoint = endpoint
        self.answerer = answerer
        self.max_tokens = max_tokens

    def answer(self, text: str, history: Sequence[dict[str, Any]] | None, k: int,
               sources: Sequence[str] | None = None) -> Iterator[Draft | Outcome]:
        """Answer ``text``: drafts while the model writes, then one :class:`Outcome`."""
        started = time.monotonic()
        resolved = rewrite_followup(self.endpoint, text, history)
        question, floor = self.answerer.answer(text, history, k, sources, resolved)
        if not floor.answered:  # abstention is scoqa's decision: the model is not asked
            yield Outcome(floor, seconds=time.monotonic() - started if resolved else 0.0)
            return
        pieces: list[str] = []
        asked = question.query if resolved else text
        try:
            for piece in self.endpoint.stream(prompt(asked, floor.sources), self.max_tokens):
                pieces.append(piece)
                yield Draft("".join(pieces))
        except LLMError as exc:
            yield self._fallback(floor, "".join(pieces), None, started, str(exc))
            return
        raw = "".join(pieces)
        checked = Grounding(self.answerer.searcher, floor.sources, question.query).check(raw)
        if not checked.kept or 2 * checked.kept < checked.sentences:
            why = "the model's answer did not hold up against the passages" if raw.strip() else \
                "the language model sent an empty answer"
            yield self._fallback(floor, raw, checked, started, why)
            return
        if len(checked.text) > MAX_ANSWER_CHARS:
            yield self._fallback(floor, raw, checked, started, "the model's answer was too long")
            return
        if not keeps_the_answer(question, floor, checked):
            yield self._fallback(floor, raw, checked, started, "the model's answer left out what the passages say")
            return
        sources = [floor.sources[p] for p in checked.order]
        sources += [h for h in floor.sources if h not in sources]
        reply = Reply(checked.text, sources, True, floor.question, floor.search_query,
                      [Quote(n, start, end) for n, start, end in checked.quotes], floor.confidence, "generated",
                      f"Written by {self.endpoint.name} from the sources; every [n] checked against its passage.")
        yield Outcome(reply, raw, checked, time.monotonic() - started, "", True)

    def _fallback(self, floor: Reply, raw: str, checked: Checked | None, started: float, why: str) -> Outcome:
        log.info("quoted answer given: %s", why)
        reply = replace(floor, notice=f"Quoted answer: {why}.")
        return Outcome(reply, raw, checked, time.monotonic() - started, why, True)

    def reply(self, text: str, history: Sequence[dict[str, Any]] | None, k: int,
              sources: Sequence[str] | None = None) -> Outcome:
        """The :class:`Outcome` of :meth:`answer`, drafts skipped."""
        final = None
        for event in self.answer(text, history, k, sources):
            final = event
        assert isinstance(final, Outcome)
        return final
