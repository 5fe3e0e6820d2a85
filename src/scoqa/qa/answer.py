"""Extractive answers with [n] citations, follow-up questions and abstention — no language model.

:class:`Answerer` analyses the question once (:mod:`scoqa.qa.question`: follow-ups resolved
against the conversation, the kind of answer wanted), retrieves passages, scores every sentence or
list entry of them (:mod:`scoqa.qa.evidence`), declines when the evidence is weak
(:mod:`scoqa.qa.abstain`), and otherwise quotes the best one or two verbatim, each followed by
the marker of its passage. A list entry is quoted with the date that gives it meaning
("In September 2004, Beslan, Russia: 300 dead ... [1]"); a sentence that introduces a list is
answered with the list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..ingest.chunk import sentence_spans
from ..search.searcher import Hit, Searcher
from ..text import query_terms
from .abstain import not_covered, unsupported
from .conversation import needs_context
from .evidence import PRONOUN_START, Candidate, Readings, candidates, defining_rows
from .front import FrontMatter, asks_about_document
from .question import Question, analyse

#: Longest answer text, markers included.
MAX_ANSWER_CHARS = 400
#: A second quote is added only if it scores this close to the best one ...
SECOND_QUOTE_RATIO = 0.92
#: ... and the first is cut short enough to leave it this many characters.
SECOND_QUOTE_ROOM = 160
#: The sentence after the best one is quoted with it when it scores this close (and no other
#: sentence was chosen second): measured on all thirteen sets, 0.7 and 0.8 gave five more right
#: answers (setC, setE, setG twice, setJ) and lost none, 0.9 two, 0 (always) lost two in setF.
CONTINUATION_RATIO = 0.8
#: How many of the top passages the answer may quote from.
QUOTE_FROM = 3
#: A name in at least this share of the passages says nothing of a follow-up's topic.
COMMON_SHARE = 1 / 3
#: At most this many passages a search for a defined term alone adds to those found (:func:`defining_rows`).
DEFINING_PASSAGES = 3
#: At most this much of each entry when an answer is a list.
LIST_ENTRY_CHARS = 120


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
        confidence: The best unit's score (cosine + coverage), for display and calibration.
        mode: ``"extractive"`` (sentences quoted from the sources) or ``"generated"`` (written by a
            language model from them, every ``[n]`` checked: :mod:`scoqa.qa.generate`).
        notice: One line on how the answer was made when a language model was asked: which model
            wrote it, or why the quoted answer is given instead. Empty otherwise.
    """

    text: str
    sources: list[Hit]
    answered: bool
    question: str
    search_query: str
    quotes: list[Quote] = field(default_factory=list)
    confidence: float = 0.0
    mode: str = "extractive"
    notice: str = ""


def _quote_text(hit: Hit, start: int, end: int) -> str:
    text = hit.text[start:end]
    if hit.kind == "item" and hit.date:
        return f"In {hit.date}, {text}"
    return text


def _clip(text: str, limit: int) -> str:
    """Cut a quote to ``limit`` characters at a word boundary, marking the cut."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 1)].rsplit(" ", 1)[0]
    return f"{cut}…"


def _body_first(ranked: list[Candidate]) -> tuple[list[Candidate], list[Candidate]]:
    """``ranked`` split into body text's candidates and footnotes' (each best first)."""
    return [c for c in ranked if not c.note], [c for c in ranked if c.note]


def _continuation(best: Candidate, ranked: list[Candidate], hit: Hit) -> Candidate | None:
    """The sentence right after ``best`` in its passage, when it scores nearly as well and the
    best holds no answer of the kind asked: a sentence that names the question's subject is often
    followed by the one that answers it ("Messages sent over TCP connections use server port 53.
    The message is prefixed with a two byte length field ..."). Not for a list entry or a table's
    row, nor a sentence that opens a list ("Some of them are:") without it."""
    if best.typed or hit.tabular or hit.kind == "item":
        return None
    after = [c for c in ranked[1:] if c.hit == best.hit and c.start >= best.end]
    following = min(after, key=lambda c: c.start) if after else None
    if (following is None or hit.text[best.end:following.start].strip()
            or following.score < CONTINUATION_RATIO * best.score
            or hit.text[following.start:following.end].rstrip().endswith(":")):
        return None
    return following


class Answerer:
    """Answers questions from the passages of one searcher."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher
        #: The passages' sentences as read for answers, kept (one answerer serves an index:
        #: :meth:`scoqa.engine.Engine.answerer`).
        self.readings = Readings(searcher)
        self._front: FrontMatter | None = None

    @property
    def front(self) -> FrontMatter:
        """The documents' title pages, read on the first question that needs them."""
        if self._front is None:
            self._front = FrontMatter(self.searcher)
        return self._front

    def _common(self, word: str) -> bool:
        """Whether ``word`` is in so many passages (a third or more) that it names no topic."""
        terms = query_terms(word)
        return bool(terms) and all(self.searcher.document_share(t) >= COMMON_SHARE for t in terms)

    def reply(self, text: str, history: Sequence[dict[str, Any]] | None, k: int,
              sources: Sequence[str] | None = None) -> Reply:
        """Answer ``text`` (with ``history`` for follow-ups) from the top ``k`` passages, of
        ``sources`` only when given."""
        return self.answer(text, history, k, sources)[1]

    def answer(self, text: str, history: Sequence[dict[str, Any]] | None, k: int,
               sources: Sequence[str] | None = None, resolved: str | None = None) -> tuple[Question, Reply]:
        """:meth:`reply`, with the question as analysed; ``resolved`` is a standalone form of a
        follow-up written by a language model (:mod:`scoqa.qa.rewrite`), searched instead of the
        rules' expansion."""
        question = analyse(text, history, self.searcher, self._common, resolved)
        hits = self.searcher.search(question.query, k, "hybrid", question.encoded, sources=sources,
                                    focus=question.focus)
        if not hits:
            return question, Reply(not_covered(hits, self.searcher), [], False, text, question.query)
        # "Who wrote it?" in a conversation is about what the last answer quoted, not a title page.
        about_document = asks_about_document(text, part=True) and not (history and needs_context(text))
        front = self.front.answer(text, hits) if about_document else []
        if front:
            return question, self._front_reply(question, hits, front)
        top = hits[:QUOTE_FROM]
        rows = [self.searcher.row_of[h.chunk_id] for h in hits]
        ranked, notes = _body_first(candidates(self.readings, question, top, rows[:QUOTE_FROM]))
        if not ranked and len(hits) > len(top):
            # The first passages found are a title page or a table of contents, with nothing to
            # quote ("THE ELEMENTS OF STYLE BY WILLIAM STRUNK, Jr. PROFESSOR OF ENGLISH ..."): the
            # others found may say it in a sentence.
            top = hits
            ranked, notes = _body_first(candidates(self.readings, question, top, rows))
        if question.kind == "define" and not any(c.typed for c in ranked):
            # "How does Madison define a faction?": no sentence of the first passages says what it
            # is; one of the others found may ("By a faction, I understand ..."), or one of those
            # a search for the term alone finds.
            found = {h.chunk_id for h in hits}
            chunks = self.searcher.index.chunks
            extra = [r for r in defining_rows(self.searcher, text, {h.source for h in top})
                     if chunks[r].id not in found][:DEFINING_PASSAGES]
            wider_hits = hits + [Hit.from_chunk(chunks[r], hits[-1].score) for r in extra]
            # Scored again only when there is more to read than the candidates already are.
            wider, wider_notes = (_body_first(candidates(self.readings, question, wider_hits, rows + extra))
                                  if len(wider_hits) > len(top) else ([], []))
            if any(c.typed for c in wider):
                hits, top, notes = wider_hits, wider_hits, wider_notes
                ranked = [c for c in wider if c.typed] + [c for c in wider if not c.typed]
        best = ranked[0] if ranked else None
        if best is None or unsupported(question, ranked, top, self.searcher, lambda source: self.front.words[source]):
            return question, Reply(not_covered(hits, self.searcher), hits[:3], False, text, question.query,
                                   confidence=best.score if best else 0.0)
        listed = self._list_reply(question, hits, best)
        if listed is not None:
            return question, listed
        chosen = [best]
        best_text = " ".join(hits[best.hit].text[best.start:best.end].split())
        # A footnote may say why ("Some contend deep-seabed mining cannot be profitable due to ...
        # extreme water pressure"): it is quoted second, beside the body sentence, never alone.
        for other in sorted(ranked[1:] + notes, key=lambda c: -c.score):
            if other.score < SECOND_QUOTE_RATIO * best.score:
                break
            # Another row of the table the best row is in answers for another row's label.
            overlaps = other.hit == best.hit and (hits[best.hit].tabular
                                                  or not (other.end <= best.start or other.start >= best.end))
            repeated = " ".join(hits[other.hit].text[other.start:other.end].split()) == best_text
            if not (overlaps or repeated):
                chosen.append(other)
                break
        following = _continuation(best, ranked, hits[best.hit]) if len(chosen) == 1 else None
        if following is not None:
            chosen.append(following)
        return question, self._compose(question, hits, chosen, best.score, continued=following is not None)

    def _list_reply(self, question: Question, hits: list[Hit], best: Candidate) -> Reply | None:
        """When the best sentence introduces a list ("Its main tasks and duties are:"), the answer
        is the list: the sentence, then as many of its entries as fit, each cited."""
        hit = hits[best.hit]
        lead = " ".join(hit.text[best.start:best.end].split())
        if hit.kind != "paragraph" or not lead.endswith(":"):
            return None
        chunks = self.searcher.index.chunks
        entries: list[Hit] = []
        for row in range(self.searcher.row_of[hit.chunk_id] + 1, len(chunks)):
            chunk = chunks[row]
            if chunk.kind != "item" or chunk.source != hit.source or not " ".join(chunk.lead_in.split()).endswith(lead):
                break
            entries.append(Hit.from_chunk(chunk, hit.score))
        if not entries:
            return None
        parts = [f"{_quote_text(hit, best.start, best.end)} [1]"]
        quotes = [Quote(0, best.start, best.end)]
        budget = MAX_ANSWER_CHARS - len(parts[0])
        for n, entry in enumerate(entries, start=1):
            marker = f" [{n + 1}]"
            room = budget - len(marker) - 1
            if room < 60:
                break
            # Each entry gets a share of the room, so that a long first one does not hide the rest.
            parts.append(_clip(_quote_text(entry, 0, len(entry.text)), min(room, LIST_ENTRY_CHARS)) + marker)
            quotes.append(Quote(n, 0, len(entry.text)))
            budget -= len(parts[-1]) + 1
        sources = [hit] + entries[:len(quotes) - 1]
        return Reply(" ".join(parts), sources, True, question.text, question.query, quotes, best.score)

    @staticmethod
    def _antecedent_start(hit: Hit, cand: Candidate, room: int) -> int:
        """Start the quote one sentence earlier when it opens with a pronoun and there is room."""
        if hit.kind == "item" or not PRONOUN_START.match(hit.text[cand.start:cand.end]):
            return cand.start
        earlier = [s for s, e in sentence_spans(hit.text) if e <= cand.start]
        if earlier and cand.end - earlier[-1] <= room:
            return earlier[-1]
        return cand.start

    @staticmethod
    def _front_reply(question: Question, hits: list[Hit], front: list[tuple[Hit, str]]) -> Reply:
        """The answer to a question about a document itself: its title-page lines and headings,
        in reading order, as many as fit, each cited (a heading by the passage under it)."""
        kept: list[tuple[Hit, str, bool]] = []
        budget = MAX_ANSWER_CHARS
        for hit, said in front:
            text = " ".join(said.split())
            room = budget - len(" [n]") - (1 if kept else 0)
            if kept and room < min(60, len(text)):
                break
            kept.append((hit, _clip(text, room), said is hit.text))
            budget -= len(kept[-1][1]) + len(" [n]") + 1
        cited = list({hit.chunk_id: hit for hit, _, _ in kept}.values())
        ids = [hit.chunk_id for hit in cited]
        text = " ".join(f"{said} [{ids.index(hit.chunk_id) + 1}]" for hit, said, _ in kept)
        quotes = [Quote(ids.index(hit.chunk_id), 0, len(hit.text)) for hit, _, whole in kept if whole]
        further = [h for h in hits[:3] if h.chunk_id not in ids]
        return Reply(text, cited + further, True, question.text, question.query, quotes, 1.0)

    def _compose(self, question: Question, hits: list[Hit], chosen: list[Candidate], confidence: float,
                 continued: bool = False) -> Reply:
        if len(chosen) > 1 and not continued:
            # The first quote may start a sentence early, at what its pronoun points to ("Consider
            # a library called "Firetruck." It requires ..."): a second quote it already holds goes.
            first = chosen[0]
            start = self._antecedent_start(hits[first.hit], first, MAX_ANSWER_CHARS)
            chosen = [first] + [c for c in chosen[1:]
                                if not (c.hit == first.hit and start <= c.start and c.end <= first.end)]
        order: list[int] = []
        for cand in chosen:
            if cand.hit not in order:
                order.append(cand.hit)
        # Cited passages first, so marker [n] is sources[n-1]; then the rest as further reading.
        sources_idx = order + [i for i in range(min(len(hits), 3)) if i not in order]
        sources = [hits[i] for i in sources_idx]
        parts: list[str] = []
        quotes: list[Quote] = []
        budget = MAX_ANSWER_CHARS
        for n, cand in enumerate(chosen):
            marker = f" [{order.index(cand.hit) + 1}]"
            room = budget - len(marker) - (1 if parts else 0)
            if n == 0 and len(chosen) > 1 and not continued:
                # A long first sentence must not crowd out a second one that scored almost as
                # well: keep room for (part of) it.
                second = len(_quote_text(hits[chosen[1].hit], chosen[1].start, chosen[1].end))
                room -= min(second + 5, SECOND_QUOTE_ROOM)
            if n > 0 and room < min(60, len(_quote_text(hits[cand.hit], cand.start, cand.end))):
                break
            # The sentence a continuation's pronoun points to is the one quoted just before it.
            start = cand.start if continued and n > 0 else self._antecedent_start(hits[cand.hit], cand, room)
            text = _clip(_quote_text(hits[cand.hit], start, cand.end), room)
            parts.append(text + marker)
            quotes.append(Quote(order.index(cand.hit), start, cand.end))
            budget -= len(parts[-1]) + 1
        return Reply(" ".join(parts), sources, True, question.text, question.query, quotes, confidence)

