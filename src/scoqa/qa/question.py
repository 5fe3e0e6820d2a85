"""A question, analysed once: what it asks for, what it is about, and what is searched.

:func:`analyse` resolves a follow-up against the conversation (:mod:`scoqa.qa.conversation`),
decides the kind of answer wanted, embeds the search query, and cuts it into the terms that
scoring and abstention weigh. Every later stage reads this one record instead of cutting the
question again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..search.searcher import Query, Searcher
from ..text import MONTHS, content_terms, query_terms
from .conversation import last_answer, needs_context, quoted, resolve_history, user_questions

_INTERROGATIVE = re.compile(r"\b(?:what|which|who|whom|whose|when|where|why|how)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Question:
    """One question as the answerer sees it.

    Attributes:
        text: The question as asked.
        query: What is searched: the question, with the words of earlier turns it leans on.
        kind: The kind of answer wanted (:func:`question_type`): ``when``, ``number``, ``who``,
            ``name``, ``where``, ``address``, ``define``, ``why`` or ``""``.
        encoded: The query's sentence vector and content word-piece vectors (one forward pass).
        terms: BM25 terms of the query's content words (acronyms as written), for coverage.
        carried: Those of ``terms`` that came from earlier turns, not from the question itself.
        words: The query's content words, for how much of it the corpus knows.
        missing: Names and numbers of the question that the corpus never mentions.
        focus: For a follow-up, the rows of the passages under the heading the previous answer
            quoted from, searched first; None otherwise.
    """

    text: str
    query: str
    kind: str
    encoded: Query
    terms: tuple[str, ...]
    carried: frozenset[str]
    words: tuple[str, ...]
    missing: tuple[str, ...]
    focus: np.ndarray | None = None


#: Quantities a question asks for by name: "What was the monthly pay ...?", "What royalty rate ...?".
MEASURES = ("pay", "salary", "wage", "cost", "price", "fee", "fine", "budget", "revenue", "population", "size",
            "length", "height", "weight", "distance", "speed", "temperature", "age", "duration", "rate")
#: What the first question phrase of a question asks for. Order matters: "how long ago" before
#: "how long", "what year" before "what".
_ASKS = (
    # "What radiocarbon date ...", "In which fiscal year ...", "Over what period ...".
    (re.compile(r"\b(?:when|how long ago|(?:what|which) (?:[\w-]+ )?"
                r"(?:years?|dates?|days?|months?|decades?|century|centuries|periods?)(?![\w-]))"), "when"),
    (re.compile(r"\b(?:how many|how much|how large|how big|how long|how far|how old|how often|what share|"
                r"what percentage|what percent|what proportion|what (?:dollar |total )?amount|what number of|"
                # "What was the monthly pay ...?": the thing asked is a quantity.
                rf"what (?:is|was|are|were) (?:the |its |their )?(?:[\w-]+ )?(?:{'|'.join(MEASURES)}|total|number|"
                r"count)s?\b|"
                # "What minimum password length ...?", "What size blocks ...?"
                rf"what (?:[\w-]+ ){{0,2}}(?:{'|'.join(MEASURES)})s?\b|"
                # "What is the longest a label can be?": a bound, not a thing ("the longest river").
                r"what(?:'s| is| was) the (?:longest|shortest|largest|smallest|highest|lowest|most|least|fewest|"
                r"maximum|minimum|biggest)\s+(?:a|an|the|that|this|it|one|you|they|any|each)\b)"), "number"),
    # "To which email address should agencies send ...?": an address to write to or visit.
    (re.compile(r"\b(?:what|which) (?:e-?mail|web ?site|web address|web page|url|(?:tele)?phone number|fax number)\b"),
     "address"),
    (re.compile(r"\b(?:who|whom|whose)\b"), "who"),
    (re.compile(r"\b(?:where|which city|which country|in what city|in which city)\b"), "where"),
    # "How does the guide define patch management?", "What is meant by source reduction?"
    (re.compile(r"\b(?:how (?:does|do|did|is|are|was|were) [^?]+? defined?|what (?:is|was) meant by|"
                r"what (?:is|was) the definition of|what does [\w’' -]+ mean)\b"), "define"),
    # "Which 1980 U.S. law lets NOAA license ...?", "What agency ...?": something with a name.
    (re.compile(r"\b(?:which|what) (?:[\w.-]+ ){0,2}?(?:laws?|acts?|agency|agencies|organi[sz]ations?|"
                r"company|companies|firms?|countr(?:y|ies)|nations?|states?|city|cities|towns?|treat(?:y|ies)|departments?|offices?|"
                r"courts?|committees?|universit(?:y|ies)|newspapers?|journals?|magazines?|tribes?|famil(?:y|ies)|"
                r"officials?|composers?|authors?|rivers?|islands?|regions?|provinces?|ships?)\b"), "name"),
    # "What is the highest tier called?", "What name does the introduction give to ...?": a term.
    (re.compile(r"\b(?:what|which) (?:name|term)s? (?:does|did|do|is|was|has|have|had|will)\b|"
                r"\b(?:what|which) (?:[\w’'-]+ ){1,14}?(?:called|named|termed|known as)"
                r"(?=\s*[?,]|\s*$|\s+(?:in|by|throughout|among|at|on|today|now|here|there)\b)"), "term"),
    # "Why does TFTP acknowledge packets in lock step?": a reason or a purpose.
    (re.compile(r"\b(?:why|for what (?:reason|purpose)|"
                r"what (?:is|was|are|were) the (?:[\w-]+ )?reasons? (?:for|why))\b"), "why"),
    (re.compile(r"\b(?:what|which|how)\b"), ""),
)
#: A question opening with one of these asks yes or no ("Does GitHub look at nationality when
#: applying sanctions?"): a later "when" is a conjunction, not what is asked.
_AUXILIARY = r"(?:does|do|did|is|are|was|were|can|could|will|would|should|has|have|had|may|must)\b"
_YES_NO = re.compile(rf"^{_AUXILIARY}")
#: "Until when ...?" asks for a condition as often as for a date.
_UNTIL_WHEN = re.compile(r"\buntil when\b")
#: "When the tool builds its grid, what code does a cell get ...?", "When sorting versions, does
#: the build metadata matter?": a leading clause that sets the scene (no auxiliary after its
#: "when", so it asks nothing), before the question proper.
_SETTING = re.compile(r"^(?:when|whenever|if|once|after|before|while)\s+(?!(?:did|do|does|is|are|was|were|will|"
                      r"would|has|have|had|can|could|should|shall|may|might|must)\b)[^,?]+,\s*"
                      rf"(?=(?:and\s+|then\s+|so\s+)?(?:what|which|who|whom|whose|how|where|why|when)\b|{_AUXILIARY})")


def question_type(question: str) -> str:
    """What kind of answer a question wants: ``when``, ``number``, ``who``, ``name`` (of a law, an
    agency, a place ...), ``where``, ``address`` (an email or web address, a phone number),
    ``define`` (what a term means), ``term`` (what something is called), ``why`` (a reason or a
    purpose) or ``""``.

    The kind is that of the question's first question phrase, so that "How long is each step when
    troops move at double time?" asks for a number, not a date.
    """
    q = _SETTING.sub("", question.lower().strip(), count=1)
    if _YES_NO.match(q) or _UNTIL_WHEN.search(q):
        return ""
    first: tuple[int, str] | None = None
    for pattern, kind in _ASKS:
        match = pattern.search(q)
        if match and (first is None or match.start() < first[0]):
            first = (match.start(), kind)
    return first[1] if first else ""



def analyse(text: str, history: Sequence[dict[str, Any]] | None, searcher: Searcher,
            common: Callable[[str], bool], resolved: str | None = None) -> Question:
    """Analyse ``text`` once, in the context of ``history``, against the searcher's corpus.

    Args:
        text: The question.
        history: Earlier turns as role/content messages.
        searcher: The searcher of the corpus (its vocabulary, acronyms and model).
        common: Whether a word is in so many passages that it names no topic (see
            :func:`scoqa.qa.conversation.resolve`).
        resolved: The question made standalone by a language model (checked), searched instead
            of the rules' expansion of a follow-up; None for the rules.
    """
    query = searcher.respelled(resolved or resolve_history(text, history, common))
    kind = question_type(text)
    # "And in Kyrgyzstan?" asks what the previous question asked; "What are its main tasks?"
    # asks its own kind of question.
    if not kind and needs_context(text) and not _INTERROGATIVE.search(text):
        previous = user_questions(history)
        kind = question_type(previous[-1]) if previous else ""
    # Acronyms are expanded on the unit's side, so that "SCO" is covered by either form
    # without the long form tripling the weight of "SCO" in the question.
    # Question words ("happen", "take place") say what kind of answer is wanted, not what it
    # is about: only the content words count for coverage.
    terms = query_terms(" ".join(content_terms(searcher.lexical_query(query, acronyms=False))))
    # In a follow-up, the words carried from earlier turns say what it is about and the
    # question's own words what is asked.
    own = set(query_terms(" ".join(content_terms(text))))
    carried = frozenset(t for t in terms if t not in own) if query != text else frozenset()
    return Question(text, query, kind, searcher.encode_query(query), tuple(terms), carried,
                    tuple(content_terms(query)), tuple(_missing_names(text, searcher)),
                    _focus(text, history, searcher))


def _focus(text: str, history: Sequence[dict[str, Any]] | None, searcher: Searcher) -> np.ndarray | None:
    """The passages a follow-up is about: those under the heading the previous answer quoted
    from ("Who wrote it?" after an answer quoting Federalist No. 78 is about No. 78)."""
    quotes = quoted(last_answer(history)) if history and needs_context(text) else []
    row = searcher.quoted_row(quotes[0]) if quotes else None
    return None if row is None else searcher.section_rows(row)


#: A word or a mark of punctuation, for :func:`names`; a possessive's "'s" is left out.
_NAME_TOKEN = re.compile(r"[A-Za-z][\w-]*(?:['’](?!s\b)\w+)?|[.?!;:,()\"“”]")
#: Small words inside a name: "the Department of Education".
_NAME_LINKS = ("of", "the")
_CALENDAR = frozenset(query_terms(" ".join(MONTHS) + " monday tuesday wednesday thursday friday saturday sunday"))


def names(text: str, openings: bool = False) -> list[str]:
    """The names ``text`` uses, as written: runs of capitalised words ("the United Kingdom",
    "The Metals Company's" → "Metals Company"), joined by "of" and "the". Acronyms (which are
    expanded where they are matched), months and days are not names, and nor is the first word
    of a sentence unless ``openings`` (for a passage, where "Russia signed ..." names Russia)."""
    found: list[list[str]] = []
    run: list[str] = []
    opening = not openings
    for token in _NAME_TOKEN.findall(text):
        terms = set(query_terms(token))
        if token[0].isupper() and not token.isupper() and not opening and terms and not terms & _CALENDAR:
            run.append(token)
        elif run and token.lower() in _NAME_LINKS:
            run.append(token)
        elif run:
            found.append(run)
            run = []
        opening = not openings and token in ".?!;:"
    if run:
        found.append(run)
    for run in found:
        while run[-1].lower() in _NAME_LINKS:
            run.pop()
    return [" ".join(run) for run in found]


def _missing_names(question: str, searcher: Searcher) -> list[str]:
    """Names and numbers the question uses that the corpus never mentions (in any close spelling)."""
    own = set(content_terms(question))
    return [
        word
        for position, word in enumerate(re.findall(r"[\w’'-]+", question))
        if word in own and ((word[:1].isupper() and position > 0) or word[:1].isdigit())
        and not searcher.is_known(word)
    ]
