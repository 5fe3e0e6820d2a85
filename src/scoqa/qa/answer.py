"""Extractive answers with [n] citations, follow-up questions and abstention — no language model.

``ask`` resolves a follow-up against the conversation (:mod:`scoqa.conversation`), retrieves
passages, scores every sentence or list entry of them against the question, and quotes the best
one or two verbatim, each followed by the marker of its passage. A list entry is quoted with the
date that gives it meaning ("In September 2004, Beslan, Russia: 300 dead ... [1]").

When the evidence is weak — a name in the question that the corpus never mentions, or no
sentence close to the question in meaning or in words — the reply says the report does not cover
it and lists the nearest passages as possibly related. The thresholds are calibrated on
``tests/data/unanswerable.jsonl`` (18 off-topic and near-topic questions) against the answerable
sets (README, "Answers").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from ..ingest.chunk import sentence_spans
from ..ingest.layout import looks_like_heading, substance_words, title_case
from ..lexical import expand_query
from ..search.searcher import Hit, Searcher
from ..text import MONTH_PATTERN, content_terms, query_terms
from .conversation import needs_context, resolve_history, user_questions

#: Longest answer text, markers included.
MAX_ANSWER_CHARS = 400
#: A second quote is added only if it scores this close to the best one ...
SECOND_QUOTE_RATIO = 0.92
#: ... and the first is cut short enough to leave it this many characters.
SECOND_QUOTE_ROOM = 160
#: Abstain when the best unit is this far from the question in meaning (cosine) ...
MIN_COSINE = 0.3
#: ... and covers less than this share of the question's (IDF-weighted) terms. Both are read off
#: the model's cosine scale, where a question and an unrelated sentence meet below ~0.3, and were
#: chosen on the report's sets and the five devcorpus documents together.
MIN_COVERAGE = 0.4
#: The coverage a typed sentence (a date, number or name) needs to count as being about the question.
TYPED_COVERAGE = 0.3
#: A date or number only answers "when" / "how many" in a sentence at least this close.
MIN_TYPED_COSINE = 0.3
#: Abstain when most of the question's weight lies on words the corpus never uses ...
MIN_KNOWN_SHARE = 0.5
#: ... unless a sentence is this close in meaning and shares words with the question that carry
#: this much of its (IDF-weighted) content: "SCO", in nearly every passage, carries about 0.02.
CONFIDENT_COSINE = 0.55
SHARED_WORDS = 0.1
#: How many of the top passages the answer may quote from.
QUOTE_FROM = 3
#: For "when" / "how many" / "who", a sentence holding a date, number or name must score at
#: least this share of the best sentence's score.
TYPED_RATIO = 0.8
#: A name in at least this share of the passages says nothing of a follow-up's topic.
COMMON_SHARE = 1 / 3
#: Weight of a word carried from earlier turns, against the question's own words, in coverage.
CARRIED_WEIGHT = 0.5
#: At most this much of each entry when an answer is a list.
LIST_ENTRY_CHARS = 120
#: A unit's score: cosine + these weights times its coverage of the question's terms, whether it
#: holds the kind of answer asked for, and its passage's retrieval score relative to the best.
COVERAGE_WEIGHT = 0.5
TYPED_WEIGHT = 0.4
PRIOR_WEIGHT = 1.0
NOT_COVERED = "The documents do not seem to cover this."

_MONTH = MONTH_PATTERN
#: A month, or a year from 1000 to 2099: "upon his arrival in 1666" answers "In what year ...?".
_DATE = re.compile(rf"\b{_MONTH}\b|\b(?:1\d|20)\d\d\b")
_NUMBER = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\w+teen|twenty|thirty|"
                     r"forty|fifty|sixty|seventy|eighty|ninety|dozen|hundred|thousand|million|billion|half|"
                     r"quarter|third)\b", re.IGNORECASE)
_FULL_DATE = re.compile(
    rf"\b{_MONTH}(?:\s+\d{{1,2}}(?:[–-]\d{{1,2}})?)?(?:[–-]{_MONTH}\s+\d{{1,2}})?,?\s+(?:1\d|20)\d\d\b"
    r"|\b(?:1[6-9]|20)\d\d(?:[–-](?:1[6-9]|20)?\d\d)?\b"
)
#: "in Bishkek", "Tashkent, Uzbekistan": a capitalised word, not an acronym ("in the SCO area").
_PLACE = re.compile(r"\b(?:in|at|near|from|to)\s+(?:the\s+)?[A-Z][a-z][\w’'-]*|^[A-Z][a-z][\w’'-]*,\s+[A-Z]")
#: Words, numbers with their inner punctuation ("1,770", "20-01", "5.5"), for :func:`_unsaid`.
_TOKEN = re.compile(r"\w+(?:[’'.,–-]\w+)*")
_LINK = re.compile(r"\bhttps?://\S+|\bwww\.\S+|\S+\.(?:gov|com|org|net|edu|int)(?:/\S*)?")
_INTERROGATIVE = re.compile(r"\b(?:what|which|who|whom|whose|when|where|why|how)\b", re.IGNORECASE)
_PRONOUN_START = re.compile(r"^(?:It|Its|They|Their|This|These|He|His|She|Her)\b")


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
    """

    text: str
    sources: list[Hit]
    answered: bool
    question: str
    search_query: str
    quotes: list[Quote] = field(default_factory=list)
    confidence: float = 0.0


@dataclass(frozen=True)
class _Candidate:
    hit: int  # index into the hits
    start: int
    end: int
    cosine: float
    coverage: float
    score: float
    typed: bool  # has what the question type asks for (a date, a number, a name)


#: What the first question phrase of a question asks for. Order matters: "how long ago" before
#: "how long", "what year" before "what".
_ASKS = (
    (re.compile(r"\b(?:when|what year|which year|what date|what day|how long ago)\b"), "when"),
    (re.compile(r"\b(?:how many|how much|how large|how big|how long|how far|how old|how often|what share|"
                r"what percentage|what percent|what proportion|what (?:dollar |total )?amount|what number of|"
                # "What was the monthly pay ...?": the thing asked is a quantity.
                r"what (?:is|was|are|were) (?:the |its |their )?(?:\w+ )?(?:pay|salary|wage|cost|price|fee|"
                r"budget|revenue|population|size|length|height|weight|distance|speed|temperature|age|"
                r"duration|total|number|rate|count)s?\b)"), "number"),
    (re.compile(r"\b(?:who|whom|whose)\b"), "who"),
    (re.compile(r"\b(?:where|which city|which country|in what city|in which city)\b"), "where"),
    (re.compile(r"\b(?:what|which|why|how)\b"), ""),
)
#: A question opening with one of these asks yes or no ("Does GitHub look at nationality when
#: applying sanctions?"): a later "when" is a conjunction, not what is asked.
_YES_NO = re.compile(r"^(?:does|do|did|is|are|was|were|can|could|will|would|should|has|have|had|may|must)\b")
#: "Until when ...?" asks for a condition as often as for a date.
_UNTIL_WHEN = re.compile(r"\buntil when\b")


def question_type(question: str) -> str:
    """What kind of answer a question wants: ``when``, ``number``, ``who``, ``where`` or ``""``.

    The kind is that of the question's first question phrase, so that "How long is each step when
    troops move at double time?" asks for a number, not a date.
    """
    q = question.lower().strip()
    if _YES_NO.match(q) or _UNTIL_WHEN.search(q):
        return ""
    first: tuple[int, str] | None = None
    for pattern, kind in _ASKS:
        match = pattern.search(q)
        if match and (first is None or match.start() < first[0]):
            first = (match.start(), kind)
    return first[1] if first else ""


def _said(word: str, asked: set[str]) -> bool:
    """Whether ``word`` is a form of a word of the question: "Tajikistan" of "Tajik", "Chechnya"
    of "Chechen" (the same word, one the start of the other, or the same first five letters)."""
    return word in asked or any(
        (min(len(a), len(word)) >= 4 and (word.startswith(a) or a.startswith(word)))
        or (min(len(a), len(word)) >= 5 and word[:5] == a[:5])
        for a in asked
    )


def _unsaid(text: str, question: str) -> str:
    """The words of ``text`` the question does not say, links aside: "BOD 20-01" in the question
    and the sentence, or the digits of a web address, are no date or number the sentence gives."""
    asked = {w.lower() for w in _TOKEN.findall(question)}
    return " ".join(w for w in _TOKEN.findall(_LINK.sub(" ", text)) if w.lower() not in asked)


def _type_match(kind: str, text: str, question: str) -> float:
    if kind == "when":
        return 1.0 if _DATE.search(_unsaid(text, question)) else 0.0
    if kind == "number":
        # A date's digits do not count anything: "How many soldiers ...?" is not answered by "2010".
        return 1.0 if _NUMBER.search(_FULL_DATE.sub(" ", _unsaid(text, question))) else 0.0
    if kind == "where":
        return 1.0 if _PLACE.search(text) else 0.0
    if kind == "who":
        # A name, a nationality or a title the question does not already say (in any form):
        # "Chinese consul", "Quentin Peel", "M. Imanaliev"; the first word is capitalised anyway.
        asked = set(re.findall(r"[\w’'-]+", question.lower()))
        words = re.findall(r"[\w’'-]+", text)
        return 1.0 if any(w[:1].isupper() and not _said(w.lower(), asked) for w in words[1:]) else 0.0
    return 0.0


def _coverage(terms: list[str], idf: Callable[[str], float], text_terms: set[str]) -> float:
    """IDF-weighted share of ``terms`` found in ``text_terms``."""
    weights = [idf(t) for t in terms]
    total = sum(weights)
    if total <= 0:
        return 0.0
    return sum(w for t, w in zip(terms, weights) if t in text_terms) / total


def _missing_names(question: str, searcher: Searcher) -> list[str]:
    """Names and numbers the question uses that the corpus never mentions (in any close spelling)."""
    own = set(content_terms(question))
    return [
        word
        for position, word in enumerate(re.findall(r"[\w’'-]+", question))
        if word in own and ((word[:1].isupper() and position > 0) or word[:1].isdigit())
        and not searcher.is_known(word)
    ]


def _known_share(words: list[str], searcher: Searcher) -> float:
    """Share of the question's content words (by length, a cheap proxy for rarity) the corpus uses."""
    words = [w for w in words if query_terms(w)]  # stop words carry no topic
    total = sum(len(w) for w in words)
    return sum(len(w) for w in words if searcher.is_known(w)) / total if total else 0.0


def quotable(text: str) -> bool:
    """Whether a unit reads as a statement an answer can quote, not a title or a label: it has a
    few words, it does not have the shape of a heading ("General Introduction", "FEDERALIST No.
    10"), and not every word of substance is capitalised as in a title ("The Structure of the
    Government Must Furnish the Proper Checks and Balances.")."""
    words = text.split()
    if len(words) < 4:
        return False
    if len(words) <= 12 and text.rstrip()[-1:] not in ".!?:;\"”’" and looks_like_heading(text):
        return False
    return len(substance_words(text)) < 4 or not title_case(text)


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


class Answerer:
    """Scores the units of retrieved passages and composes the reply."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher

    def not_covered(self, hits: list[Hit]) -> str:
        """The abstention sentence: it names the document when the search had only one to look
        in (by its title where it has one), else speaks of the documents."""
        searched = {h.source for h in hits}
        if len(searched) == 1 and len(self.searcher.sources()) == 1:
            source = next(iter(searched))
            title = self.searcher.titles().get(source) or PurePosixPath(source).name
            return f"“{title}” does not seem to cover this."
        return NOT_COVERED

    def _common(self, word: str) -> bool:
        """Whether ``word`` is in so many passages (a third or more) that it names no topic."""
        terms = query_terms(word)
        return bool(terms) and all(self.searcher.document_share(t) >= COMMON_SHARE for t in terms)

    def candidates(self, hits: list[Hit], rows: list[int], query: str, vector: np.ndarray,
                   kind: str, question: str) -> list[_Candidate]:
        units = self.searcher.units
        # Acronyms are expanded on the unit's side, so that "SCO" is covered by either form
        # without the long form tripling the weight of "SCO" in the question.
        # Question words ("happen", "take place") say what kind of answer is wanted, not what it
        # is about: only the content words count for coverage.
        terms = query_terms(" ".join(content_terms(self.searcher.lexical_query(query, acronyms=False))))
        # In a follow-up, the words carried from earlier turns say what it is about and the
        # question's own words what is asked: a sentence that only names the old topic again
        # ("... the Regional Anti-Terrorist Structure ...") should not outscore the one that
        # answers ("Its main tasks and duties are:").
        own = set(query_terms(" ".join(content_terms(question))))
        carried = {t for t in terms if t not in own} if query != question else set()

        def weight(term: str) -> float:
            return self.searcher.idf(term) * (CARRIED_WEIGHT if term in carried else 1.0)

        found: list[_Candidate] = []
        best_hit = max((h.score for h in hits), default=1.0) or 1.0
        for n, (hit, row) in enumerate(zip(hits, rows)):
            if hit.kind == "footnote":
                continue  # a footnote is found and shown, but an answer is body text
            prior = hit.score / best_hit
            previous = ""
            for u in units.of(row):
                start, end = (int(x) for x in units.spans[u])
                if hit.kind != "item" and not quotable(hit.text[start:end]):
                    continue
                cosine = float(units.vectors[u] @ vector)
                words = f"{hit.date} {hit.text[start:end]}" if hit.kind == "item" else hit.text[start:end]
                # "It is located in Bishkek": a sentence opening with a pronoun is about what the
                # sentence before it names, so it is matched with that sentence's words too.
                context = previous if _PRONOUN_START.match(words) else ""
                unit_words = expand_query(f"{context} {words}", self.searcher.acronyms)
                coverage = _coverage(terms, weight, set(query_terms(unit_words)))
                previous = words
                typed = _type_match(kind, words, question)
                score = cosine + COVERAGE_WEIGHT * coverage + TYPED_WEIGHT * typed + PRIOR_WEIGHT * prior
                found.append(_Candidate(n, start, end, cosine, coverage, score, typed > 0))
        return sorted(found, key=lambda c: -c.score)

    def reply(self, question: str, history: Sequence[dict[str, Any]] | None, k: int,
              sources: Sequence[str] | None = None) -> Reply:
        query = resolve_history(question, history, self._common)
        kind = question_type(question)
        # "And in Kyrgyzstan?" asks what the previous question asked; "What are its main tasks?"
        # asks its own kind of question.
        if not kind and needs_context(question) and not _INTERROGATIVE.search(question):
            previous = user_questions(history)
            kind = question_type(previous[-1]) if previous else ""
        encoded = self.searcher.encode_query(query)
        hits = self.searcher.search(query, k, "hybrid", encoded, sources=sources)
        if not hits:
            return Reply(self.not_covered(hits), [], False, question, query)
        top = hits[:QUOTE_FROM]
        rows = [self.searcher.row_of[h.chunk_id] for h in top]
        ranked = self.candidates(top, rows, query, encoded.vector, kind, question)
        best = ranked[0] if ranked else None
        if best is None or self._unsupported(question, query, kind, ranked):
            return Reply(self.not_covered(hits), hits[:3], False, question, query,
                         confidence=best.score if best else 0.0)
        listed = self._list_reply(question, query, hits, best)
        if listed is not None:
            return listed
        chosen = [best]
        best_text = " ".join(hits[best.hit].text[best.start:best.end].split())
        for other in ranked[1:]:
            if other.score < SECOND_QUOTE_RATIO * best.score:
                break
            overlaps = other.hit == best.hit and not (other.end <= best.start or other.start >= best.end)
            repeated = " ".join(hits[other.hit].text[other.start:other.end].split()) == best_text
            if not (overlaps or repeated):
                chosen.append(other)
                break
        return self._compose(question, query, hits, chosen, best.score)

    def _unsupported(self, question: str, query: str, kind: str, ranked: list[_Candidate]) -> bool:
        """Whether the evidence is too weak to answer (thresholds calibrated, see module doc)."""
        best = ranked[0]
        if _missing_names(question, self.searcher):
            return True  # "Madrid", "NATO": the report never mentions what is asked about
        if best.cosine < MIN_COSINE and best.coverage < MIN_COVERAGE:
            return True  # nothing close in meaning nor in words
        if kind in ("when", "number") and not any(
            c.typed and (c.coverage >= TYPED_COVERAGE or c.cosine >= MIN_TYPED_COSINE)
            and c.score >= TYPED_RATIO * best.score for c in ranked
        ):
            # Asked "when" / "how many", and no sentence about it — scoring close to the best —
            # has a date or a number: the sentence about the thing asked lacks it. ("Who" is
            # answered by a role as often as by a name: "a corporal and seven privates".)
            return True
        words = content_terms(query)  # a follow-up is judged with the terms it carries
        known = _known_share(words, self.searcher) if words else 1.0
        # Mostly about words the report never uses, and no sentence close in meaning or in words.
        # Closeness in meaning alone does not count then: "the SCO's position on climate change"
        # is near "environmental protection" (cosine 0.64) without sharing a word of substance.
        close = best.cosine >= CONFIDENT_COSINE and best.coverage >= SHARED_WORDS
        return known <= MIN_KNOWN_SHARE and not close and best.coverage < 0.5

    def _list_reply(self, question: str, query: str, hits: list[Hit], best: _Candidate) -> Reply | None:
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
        return Reply(" ".join(parts), sources, True, question, query, quotes, best.score)

    @staticmethod
    def _antecedent_start(hit: Hit, cand: _Candidate, room: int) -> int:
        """Start the quote one sentence earlier when it opens with a pronoun and there is room."""
        if hit.kind == "item" or not _PRONOUN_START.match(hit.text[cand.start:cand.end]):
            return cand.start
        earlier = [s for s, e in sentence_spans(hit.text) if e <= cand.start]
        if earlier and cand.end - earlier[-1] <= room:
            return earlier[-1]
        return cand.start

    def _compose(self, question: str, query: str, hits: list[Hit], chosen: list[_Candidate],
                 confidence: float) -> Reply:
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
            if n == 0 and len(chosen) > 1:
                # A long first sentence must not crowd out a second one that scored almost as
                # well: keep room for (part of) it.
                second = len(_quote_text(hits[chosen[1].hit], chosen[1].start, chosen[1].end))
                room -= min(second + 5, SECOND_QUOTE_ROOM)
            if n > 0 and room < min(60, len(_quote_text(hits[cand.hit], cand.start, cand.end))):
                break
            start = self._antecedent_start(hits[cand.hit], cand, room)
            text = _clip(_quote_text(hits[cand.hit], start, cand.end), room)
            parts.append(text + marker)
            quotes.append(Quote(order.index(cand.hit), start, cand.end))
            budget -= len(parts[-1]) + 1
        return Reply(" ".join(parts), sources, True, question, query, quotes, confidence)

