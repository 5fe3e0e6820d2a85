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
* the answer does not give what the question asks for: a date for "when", a number for "how
  many", a name for "who" and "where" — words of the question do not count, and this holds
  whatever the quoted answer gives (:func:`gives_what_is_asked`);
* it leaves out what makes the quoted answer an answer (:func:`left_out`): every date or number
  the quoted answer gives for "when" and "how many", one of its names for "who" and "where",
  its passage for any other question.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..search.searcher import Hit
from .answer import MAX_ANSWER_CHARS, Answerer, Quote, Reply
from .evidence import _type_match, answer_facts
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


#: What a question of each kind asks for, as the notice names it when the model's answer lacks it.
ASKED_FOR = {"when": "date", "number": "number", "who": "name", "where": "place"}


def gives_what_is_asked(kind: str, text: str, question: str) -> bool:
    """Whether ``text`` gives what a question of ``kind`` asks for, beyond the question's own words:
    a date, a number (as quoted answers are scored: :mod:`scoqa.qa.evidence`), or a name for "who"
    and "where" ("Bishkek, Kyrgyzstan: market bomb attack" names a place without "in"). "The RATS
    operates in accordance with the SCO Charter" gives no date for "When was the SCO Charter
    adopted?". Other kinds ask for nothing in particular: True."""
    if kind not in ASKED_FOR:
        return True
    text = MARKERS.sub(" ", text)
    if kind in ("who", "where"):
        return bool(answer_facts(kind, text, question))
    return bool(_type_match(kind, text, question))


def _facts(kind: str, text: str, question: str) -> set[str]:
    """:func:`~scoqa.qa.evidence.answer_facts` of ``text``, one dash for all: a model writes
    "September 9-25, 2010" where the passage has "9–25"."""
    return {f.replace("–", "-") for f in answer_facts(kind, MARKERS.sub(" ", text), question)}


def left_out(question: Question, floor: Reply, checked: Checked) -> str:
    """Why the checked answer cannot stand for the quoted one, or "" when it can.

    It must give what the question asks for (:func:`gives_what_is_asked`). If the quoted answer
    gives it, the checked answer must hold every date ("when") or number ("how many") of the
    quoted answer, whole ("June 2001", not "2001"): when a quote gives several ("Mongolia (June
    2004), ... and Afghanistan (June 2012)"), nothing tells for sure which one the question asks
    for, and one of them alone may be the wrong one. For "who" and "where" it must hold one of
    the quoted answer's names; for any other question it must cite a passage the quoted answer
    quotes. When the quoted answer gives no date, number or name of the kind asked (it quoted the
    wrong sentence), a checked answer that does may stand: the check holds its date, number or
    name to the passage it cites.
    """
    kind, asked = question.kind, question.text
    if not gives_what_is_asked(kind, checked.text, asked):
        return f"the model's answer gives no {ASKED_FOR[kind]}"
    wanted = _facts(kind, floor.text, asked) if gives_what_is_asked(kind, floor.text, asked) else set()
    said = _facts(kind, checked.text, asked)
    if kind in ("when", "number") and wanted:
        holds = wanted <= said
    elif wanted:
        holds = bool(wanted & said)
    else:
        holds = kind in ASKED_FOR or bool({q.source for q in floor.quotes} & set(checked.order))
    return "" if holds else "the model's answer left out what the passages say"


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
        why = left_out(question, floor, checked)
        if why:
            yield self._fallback(floor, raw, checked, started, why)
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
