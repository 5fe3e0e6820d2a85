"""Abstention: when the evidence is too weak to answer, say so instead of guessing.

A question is declined when it names something the corpus never mentions or a year no passage
found names, when no sentence is close to it in meaning nor in words, when it asks "when" /
"how many" and the sentence it would quote, or every sentence about it, holds no date or
number, when most of it lies on words the corpus never uses, when the sentence it would quote
does not name the quantity it asks for by name ("What royalty rate ...?"), or when it asks
when, how many, who or where about a name ("India", "the United Kingdom") that the passage it
would quote never names. The thresholds are read off the model's cosine scale and were chosen
on the report's sets and the devcorpus together, then checked on the other sets of documents in
evalsets/ (docs/answers.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePosixPath

import numpy as np

from ..lexical import expand_query
from ..search.searcher import Hit, Searcher
from ..text import YEAR_PATTERN, query_terms
from .evidence import Candidate, same_word
from .question import MEASURES, Question, names

NOT_COVERED = "The documents do not seem to cover this."
#: Abstain when the best unit is this far from the question in meaning (cosine) ...
MIN_COSINE = 0.35
#: ... and covers less than this share of the question's (IDF-weighted) terms. Both are read off
#: the model's cosine scale, where a question and an unrelated sentence meet below ~0.35 (the
#: off-topic questions of four sets found sentences at 0.25-0.37 sharing a common word or two:
#: "mountain", "sea level"); of all answerable questions, those this far had coverage 0.43 or more.
MIN_COVERAGE = 0.4
#: The coverage a typed sentence (a date, number or name) needs to count as being about the question.
TYPED_COVERAGE = 0.3
#: A date or number only answers "when" / "how many" in a sentence at least this close.
MIN_TYPED_COSINE = 0.3
#: For "when" / "how many", a sentence holding a date or number must score at least this share
#: of the best sentence's score.
TYPED_RATIO = 0.8
#: Abstain when most of the question's weight lies on words the corpus never uses ...
MIN_KNOWN_SHARE = 0.5
#: ... unless a sentence is this close in meaning and shares words with the question that carry
#: this much of its (IDF-weighted) content: "SCO", in nearly every passage, carries about 0.02.
CONFIDENT_COSINE = 0.55
SHARED_WORDS = 0.1
#: ... or covers at least this share of its words.
KNOWN_COVERAGE = 0.5
#: Kinds of question whose names bound the answer: "How many warheads does China have?" is not
#: answered by a passage about Russia's, nor "Who chaired X?" by one about Y. (The names of a
#: "why" or "what" question are as often the document's setting: checked there, they cost
#: seven answers on five sets.)
BOUNDED_KINDS = ("when", "number", "who", "where")
#: A name the passage does not spell is still there when the passage names something the model
#: places this close to it: "Moscow" and "Russia" (cosine 0.83), "Britain" and "United Kingdom"
#: (0.87); not "India" and "China" (0.70), nor "United Kingdom" and "United States" (0.67).
SAME_NAME = 0.8
#: "What royalty rate has the ISA proposed ...?", "What was the monthly pay of ...?": a quantity
#: the question names (its words before it: "royalty rate"), followed by what it is of.
_MEASURE = re.compile(
    r"^(?:what|which) (?:(?:is|was|are|were) (?:the |its |their )?)?((?:[\w-]+ ){0,2}?)"
    rf"(?:{'|'.join(MEASURES)})s?(?=\s*[,?]|\s+(?:of|for|on|in|at|does|do|did|has|have|had|is|was|are|"
    r"were|will|would|can|must|should)\b)", re.IGNORECASE)
#: Words that say how a quantity is counted, not which one it is ("the monthly pay").
_COUNTED = frozenset(query_terms("total minimum maximum average annual monthly daily"))
_ACRONYM = re.compile(r"\b[A-Z]{2,}\b")
_YEAR = re.compile(YEAR_PATTERN)


def unsupported(question: Question, ranked: list[Candidate], passages: list[Hit], searcher: Searcher,
                title_words: Callable[[str], set[str]]) -> bool:
    """Whether the evidence ``ranked`` (best first, not empty), from ``passages``, is too weak to
    answer ``question``; ``title_words`` gives a document's title-page words (its title and
    authors name what each of its passages is about)."""
    best = ranked[0]
    if question.missing:
        return True  # "Madrid", "NATO": the documents never mention what is asked about
    if not years_met(question.text, passages):
        return True  # "How many cases were reported in 2012?", and no passage speaks of 2012
    if best.cosine < MIN_COSINE and best.coverage < MIN_COVERAGE:
        return True  # nothing close in meaning nor in words
    if question.kind in ("when", "number") and (not best.typed or not any(
        c.typed and (c.coverage >= TYPED_COVERAGE or c.cosine >= MIN_TYPED_COSINE)
        and c.score >= TYPED_RATIO * best.score for c in ranked
    )):
        # Asked "when" / "how many", and the sentence the answer would quote holds no date or
        # number beyond those the question says ("On April 12, 2011, the Secretary-General issued
        # a statement on the bombing" does not say how many died, whatever other sentence does),
        # or no sentence about it, scoring close to the best, has one. ("Who" is answered by a
        # role as often as by a name: "a corporal and seven privates".)
        return True
    # A follow-up is judged with the words it carries.
    known = known_share(question.words, searcher) if question.words else 1.0
    # Mostly about words the corpus never uses, and no sentence close in meaning or in words.
    # Closeness in meaning alone does not count then: "the SCO's position on climate change"
    # is near "environmental protection" (cosine 0.64) without sharing a word of substance.
    close = best.cosine >= CONFIDENT_COSINE and best.coverage >= SHARED_WORDS
    if known <= MIN_KNOWN_SHARE and not close and best.coverage < KNOWN_COVERAGE:
        return True
    hit = passages[best.hit]
    if not measure_named(question.text, hit.text[best.start:best.end], searcher):
        return True  # asked "What royalty rate ...?", and the sentence names no royalty nor any rate
    # Asked "How many contracts does India hold?", and the passage is about contracts, not India's.
    return question.kind in BOUNDED_KINDS and unnamed(question.text, hit, searcher, title_words) is not None


def measure_named(question: str, sentence: str, searcher: Searcher) -> bool:
    """Whether ``sentence`` names the quantity ``question`` asks for by name ("the royalty rate":
    royalty or rate), or the question names none."""
    match = _MEASURE.search(question.strip())
    if not match:
        return True
    asked = [t for t in query_terms(f"{match.group(1)} {match.group(0).split()[-1]}") if t not in _COUNTED]
    said = set(query_terms(expand_query(sentence, searcher.acronyms)))
    return not asked or any(same_word(t, said) for t in asked)


def unnamed(question: str, hit: Hit, searcher: Searcher, title_words: Callable[[str], set[str]]) -> str | None:
    """The first name of ``question`` that the passage ``hit`` neither says (in its heading, its
    text or its document's title page, from ``title_words``, acronyms expanded, in any form) nor
    names otherwise (a name of the passage that the model places within :data:`SAME_NAME`); None
    when it says all. The passage and the title page are read only for a question with a name."""
    asked = names(question)
    if not asked:
        return None
    said = set(query_terms(expand_query(f"{hit.section} . {hit.text}", searcher.acronyms)))
    # "the Department of Transportation" is said by "DOT", whether or not the corpus spells it out.
    acronyms = set(_ACRONYM.findall(f"{hit.section} {hit.text}"))
    # Each word of the name, anywhere in the passage: "the ReportStream Waters API" is said by
    # "The Waters API—the primary secure entry point to ReportStream".
    absent = [name for name in asked if not (all(same_word(w, said) for w in query_terms(name))
                                             or _initials(name) & acronyms)]
    if absent:
        titled = title_words(hit.source)
        absent = [name for name in absent if not all(same_word(w, titled) for w in query_terms(name))]
    if not absent:
        return None
    own = sorted(set(names(f"{hit.section}. {hit.text}", openings=True)))
    if not own:
        return absent[0]
    vectors = searcher.embedder.encode(absent + own)
    closest = np.max(vectors[: len(absent)] @ vectors[len(absent):].T, axis=1)
    return next((name for name, cosine in zip(absent, closest) if cosine < SAME_NAME), None)


def _initials(name: str) -> set[str]:
    """The acronyms a name may go by: "Department of Transportation" → DOT, DT."""
    words = name.split()
    return {"".join(w[0] for w in words).upper(), "".join(w[0] for w in words if w[0].isupper())}


def years_met(question: str, passages: list[Hit]) -> bool:
    """Whether every year ``question`` names is in one of the ``passages`` (text, date or heading).

    A year bounds what is asked ("How many outdoor workers died of heat in 2012?"): passages that
    never name it answer another year's question. Other numbers do not count: a question names a
    document by its number ("SP 800-122") more often than its passages do.
    """
    asked = set(_YEAR.findall(question))
    if not asked:
        return True
    said = " ".join(f"{p.text} {p.date} {p.section}" for p in passages)
    return asked <= set(_YEAR.findall(said))


def known_share(words: tuple[str, ...] | list[str], searcher: Searcher) -> float:
    """Share of the question's content words (by length, a cheap proxy for rarity) the corpus uses."""
    words = [w for w in words if query_terms(w)]  # stop words carry no topic
    total = sum(len(w) for w in words)
    return sum(len(w) for w in words if searcher.is_known(w)) / total if total else 0.0


def not_covered(hits: list[Hit], searcher: Searcher) -> str:
    """The abstention sentence: it names the document when the search had only one to look in
    (by its title where it has one), else speaks of the documents."""
    searched = {h.source for h in hits}
    if len(searched) == 1 and len(searcher.sources()) == 1:
        source = next(iter(searched))
        title = searcher.titles().get(source) or PurePosixPath(source).name
        return f"“{title}” does not seem to cover this."
    return NOT_COVERED
