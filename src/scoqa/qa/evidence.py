"""Evidence: how well each sentence of the retrieved passages answers a question.

Every sentence (or list entry) of the top passages is scored by its closeness in meaning to the
question (cosine), its IDF-weighted coverage of the question's words, whether it holds the kind
of answer asked for (a date, a number, a name, a place), and its passage's retrieval score.
Headings and titles are never candidates, and a footnote's sentence is quoted only beside body text:
an answer quotes body text.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

from ..ingest.shapes import looks_like_heading, substance_words, title_case
from ..lexical import other_forms
from ..search.searcher import Hit, Searcher
from ..text import MONTH_PATTERN, YEAR_PATTERN, query_terms
from .question import Question

#: Weight of a word carried from earlier turns, against the question's own words, in coverage.
CARRIED_WEIGHT = 0.5
#: A unit's score: cosine + these weights times its coverage of the question's terms, whether it
#: holds the kind of answer asked for, and its passage's retrieval score relative to the best.
#: The passage's score is the reranked retrieval's (BM25, late interaction and the best sentence
#: together), a better judge of where the answer is than one sentence's cosine: measured on five
#: sets' 235 answers together (devcorpus, setA-C, the report), PRIOR_WEIGHT 0.5 / 1 / 1.5 / 2 /
#: 3 / 4 / 6 / 20 gave 178 / 184 / 186 / 186 / 188 / 189 / 186 / 183 right, and their 52
#: conversations 41 from 1 to 2, then 40 at 3 and 39 at 4 (follow-ups read the earlier answer).
#: 2 is inside the plateau and loses nothing anywhere.
COVERAGE_WEIGHT = 0.5
TYPED_WEIGHT = 0.4
PRIOR_WEIGHT = 2.0
#: A reason's markers ("because", "due to", "so that") say less than a date or a number does: a
#: sentence may give a reason for something else ("In order to achieve political ... goals,
#: terrorists pursue ..." for "Why do terrorists move into new areas?"). Measured on all thirteen
#: sets (31 why-questions answerable): 0.2 and 0.3 gave one more right answer (setF) and lost none;
#: 0.4 lost one in setB and one in setE.
WHY_TYPED_WEIGHT = 0.2
#: A sentence must say at least this many words (BM25 terms) the question does not.
MIN_NEW_TERMS = 2

_MONTH = MONTH_PATTERN
#: A decade ("developed in the late 1970s") or a fiscal year ("during FY18", "FY 2017").
_PERIOD = r"\b(?:1\d|20)\d0[’']?s\b|\bFY\s?(?:\d\d){1,2}\b"
#: A month, a year from 1000 to 2099 ("upon his arrival in 1666" answers "In what year ...?"),
#: a decade or a fiscal year.
_DATE = re.compile(rf"\b{_MONTH}\b|{YEAR_PATTERN}|{_PERIOD}")
_NUMBER = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\w+teen|twenty|thirty|"
                     r"forty|fifty|sixty|seventy|eighty|ninety|dozen|hundred|thousand|million|billion|half|"
                     r"quarter|third)\b", re.IGNORECASE)
_FULL_DATE = re.compile(
    rf"\b{_MONTH}(?:\s+\d{{1,2}}(?:[–-]\d{{1,2}})?)?(?:[–-]{_MONTH}\s+\d{{1,2}})?,?\s+(?:1\d|20)\d\d\b"
    rf"|{_PERIOD}|\b(?:1[6-9]|20)\d\d(?:[–-](?:1[6-9]|20)?\d\d)?\b"
)
#: "in Bishkek", "Tashkent, Uzbekistan": a capitalised word, not an acronym ("in the SCO area").
_PLACE = re.compile(r"\b(?:in|at|near|from|to)\s+(?:the\s+)?[A-Z][a-z][\w’'-]*|^[A-Z][a-z][\w’'-]*,\s+[A-Z]")
#: Words, numbers with their inner punctuation ("1,770", "20-01", "5.5"), for :func:`_unsaid`.
_TOKEN = re.compile(r"\w+(?:[’'.,–-]\w+)*")
_LINK = re.compile(r"\bhttps?://\S+|\bwww\.\S+|\S+\.(?:gov|com|org|net|edu|int)(?:/\S*)?")
#: An email address, a web address or a phone number.
_ADDRESS = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\bhttps?://\S+|\bwww\.\S+|\b[\w-]+\.(?:gov|com|org|net|edu|int)\b"
                      r"|\(?\b\d{3}\)?[-. ]\d{3}[-. ]\d{4}\b")
#: A reason or a purpose: "due to the sensitive nature of this information", "so that it can be
#: verified", "to avoid excessive network traffic". Not "since" (as often a time: "Since the 1962
#: Cuban Missile Crisis, ...") nor "thus" or "therefore", which mark a consequence.
_CAUSE = re.compile(r"\b(?:because|due to|owing to|on account of|as a result of|result(?:s|ed)? from|"
                    r"in order (?:to|that)|so (?:that|as to)|reasons?|lest|for fear|without the need|"
                    r"(?:to|would) (?:avoid|prevent|ensure|protect|make sure|guard against))\b", re.IGNORECASE)
#: How a text gives something its name: "called X", "known as X", or X in quotes.
_NAMING = re.compile(r"\b(?:called|named|termed|known as|referred to as|entitled|dubbed|styled)\s+([^,.;:()]{2,60})"
                     r"|(?<!\w)[“\"‘']([^”\"’']{2,60})[”\"’'](?!\w)")  # quotes, not an "agency's" apostrophe
PRONOUN_START = re.compile(r"^(?:It|Its|They|Their|This|These|He|His|She|Her)\b")
#: A word as names are matched: apostrophes and hyphens inside it ("Midē´wiwin", "O'Neill").
_WORD = re.compile(r"[\w’'-]+")


@dataclass(frozen=True)
class Candidate:
    """A sentence or list entry that may answer the question.

    Attributes:
        hit: Index of its passage among the hits scored.
        start: Start offset in the passage's text.
        end: End offset (exclusive).
        cosine: Closeness in meaning to the question.
        coverage: IDF-weighted share of the question's terms it holds.
        score: The combined score candidates are ranked by.
        typed: Whether it holds what the question's kind asks for (a date, a number, a name).
        note: Whether it is a footnote's: quoted only beside body text, never alone.
    """

    hit: int
    start: int
    end: int
    cosine: float
    coverage: float
    score: float
    typed: bool
    note: bool = False


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


def _unsaid_counts(text: str, question: str) -> str:
    """:func:`_unsaid` of ``text`` with its dates taken out first: what may count how many. A
    date's digits count nothing ("How many soldiers ...?" is not answered by "2010"), and taken
    out after the question's words, the question's "January 2011" would leave the "25" of
    "January 25, 2011" standing as a number."""
    return _unsaid(_FULL_DATE.sub(" ", text), question)


def _type_match(kind: str, text: str, question: str) -> float:
    if kind == "when":
        return 1.0 if _DATE.search(_unsaid(text, question)) else 0.0
    if kind == "number":
        return 1.0 if _NUMBER.search(_unsaid_counts(text, question)) else 0.0
    if kind == "where":
        return 1.0 if _PLACE.search(text) else 0.0
    if kind == "why":
        return 1.0 if _CAUSE.search(text) else 0.0
    if kind == "address":
        return 1.0 if _ADDRESS.search(text) else 0.0
    if kind == "term":
        # "... a dreaded place called "dependency hell."", "... shall be called "No FEAR Act Data"":
        # a naming word, or a quoted phrase with words the question does not say.
        asked = set(_WORD.findall(question.lower()))
        return 1.0 if any(m.group(1) or any(not _said(w.lower(), asked) for w in _WORD.findall(m.group(2)))
                          for m in _NAMING.finditer(text)) else 0.0
    if kind == "define":
        term = defined_term(question)
        return 1.0 if term and _definition(term).search(text) else 0.0
    if kind in ("who", "name"):
        # A name, a nationality or a title the question does not already say (in any form):
        # "Chinese consul", "Quentin Peel", "M. Imanaliev"; the first word is capitalised anyway.
        asked = set(_WORD.findall(question.lower()))
        words = _WORD.findall(text)
        return 1.0 if any(w[:1].isupper() and not _said(w.lower(), asked) for w in words[1:]) else 0.0
    return 0.0


_DEFINED = re.compile(r"\bdefined?\s+(.+?)\s*\??$|\bmean[st]? by\s+(.+?)\s*\??$|\bdefinition of\s+(.+?)\s*\??$"
                      # "What does the SCO mean by the 'three evils'?" asks what the three evils are.
                      r"|\bwhat does\s+(?!.*\bmeans? by\b)(.+?)\s+mean\b", re.IGNORECASE)
_ARTICLE = re.compile(r"^(?:an?|the)\s+", re.IGNORECASE)
_FRAME = re.compile(r",|\s+(?:in|for|under|according|within|when|as used|by)\s+", re.IGNORECASE)


def defined_term(question: str) -> str:
    """The term a question asks the meaning of: "patch management" of "How does the guide
    define patch management?", "faction" of "How does Madison define a faction?"."""
    match = _DEFINED.search(question.strip())
    term = next((g for g in match.groups() if g), "") if match else ""
    # "source reduction in larval mosquito control": the term ends before what frames it.
    term = _FRAME.split(term, maxsplit=1)[0]
    return _ARTICLE.sub("", term.strip(" \"'“”‘’")).strip(" \"'“”‘’")


def _definition(term: str) -> re.Pattern[str]:
    """A sentence that says what ``term`` is: "Patch management is the process ...", "An
    “intranet” is defined as ...", "By a faction, I understand ..."."""
    name = r"\W{0,2}" + re.escape(term) + r"\W{0,2}"
    return re.compile(rf"(?:^|\b(?:an?|the)\s+|^\W?|[•●▪◦]\s*){name}\s*(?:,\s*)?(?:is|are|means|refers to|:)\s"
                      rf"|\bby\s+(?:an?\s+|the\s+)?{name},?\s+(?:I|we)\s+(?:understand|mean)\b", re.IGNORECASE)


#: A term no passage found defines is looked up among the passages BM25 finds best for the term
#: alone, this many of them.
DEFINITION_LOOKUP = 200


def defining_rows(searcher: Searcher, question: str, sources: set[str]) -> list[int]:
    """Rows of the passages with a sentence that says what the term ``question`` asks the meaning
    of is ("Patch management is the process ..."), those of ``sources`` first, then by BM25 for
    the term. A document's first pages (its title, its identifiers, under a heading that names
    the term) can crowd out of a search the one sentence that defines it."""
    term = defined_term(question)
    if not term:
        return []
    pattern = _definition(term)
    units, chunks = searcher.units, searcher.index.chunks
    found = []
    for row in searcher.bm25_top(term, DEFINITION_LOOKUP).tolist():
        text = chunks[row].text
        ids = units.of(row)
        if any(pattern.search(text[start:end]) for start, end in units.spans[ids.start:ids.stop].tolist()):
            found.append(row)
    return sorted(found, key=lambda row: chunks[row].source not in sources)


def _coverage(weights: dict[str, float], total: float, text_terms: set[str]) -> float:
    """Weighted share of the terms ``weights`` weighs (summing to ``total``) found in ``text_terms``."""
    if total <= 0:
        return 0.0
    return sum(w for t, w in weights.items() if t in text_terms) / total


#: Characters that draw a plain-text figure or a table's rules ("+--------+", "|  Opcode  |").
_RULES = frozenset("|+-_=*~")
#: A unit in which this share of the visible characters draws rules is a figure, not a statement:
#: an RFC's packet diagram (0.4 and more), a section break ("*   *   *"); a table's row of words
#: between pipes ("| 1006 | Abnormal Closure |") stays under it.
FIGURE_SHARE = 0.25


def drawn(text: str) -> bool:
    """Whether ``text`` is mostly drawing: a plain-text figure or a rule, not words to quote."""
    visible = "".join(text.split())
    return bool(visible) and sum(map(visible.count, _RULES)) >= FIGURE_SHARE * len(visible)


def quotable(text: str) -> bool:
    """Whether a unit reads as a statement an answer can quote, not a title or a label: it has a
    few words, it does not have the shape of a heading ("General Introduction", "FEDERALIST No.
    10"), and not every word of substance is capitalised as in a title ("The Structure of the
    Government Must Furnish the Proper Checks and Balances.")."""
    words = text.split()
    if len(words) < 4 or drawn(text):
        return False
    if len(words) <= 12 and text.rstrip()[-1:] not in ".!?:;\"”’" and looks_like_heading(text):
        return False
    return len(substance_words(text)) < 4 or not title_case(text)


@dataclass(frozen=True)
class _Reading:
    """What a quotable unit of a passage says, whatever the question (:class:`Readings`).

    Attributes:
        unit: The unit's number among its passage's units.
        start: Start offset in the passage's text.
        end: End offset (exclusive).
        words: The words matched against a question: the unit's, after its list entry's date or
            its table's caption and column headings.
        terms: The BM25 terms of ``words``.
        matched: Those terms, the terms of the unit before it when it opens with a pronoun, and
            those of the other form of each acronym or long form it uses.
        opens_list: Whether it ends with a colon ("Its main tasks are:"), answered by the list after it.
        kinds: Those of :data:`_PRECHECKED` whose answer ``words`` may hold (:func:`_may_hold`).
    """

    unit: int
    start: int
    end: int
    words: str
    terms: frozenset[str]
    matched: frozenset[str]
    opens_list: bool
    kinds: frozenset[str]


#: Kinds of question whose answer a unit cannot hold unless its words, before a question takes
#: any away, match a cheap pattern (:func:`_type_match` looks at the words the question does not say).
_PRECHECKED = ("when", "number")


def _may_hold(words: str) -> frozenset[str]:
    """The kinds of :data:`_PRECHECKED` whose answer ``words`` may hold: a date (or "FY", whose
    year a question's words may stand between) or a number. Taking the question's words away never
    makes a date or a number, each being one word, so a unit without one is not typed for them."""
    return frozenset(kind for kind, found in (("when", _DATE.search(words) or "FY" in words),
                                              ("number", _NUMBER.search(words))) if found)


def _read(searcher: Searcher, hit: Hit, row: int) -> tuple[_Reading, ...]:
    units = searcher.units
    ids = units.of(row)
    # A list entry or a table's row is quoted whole, however short ("Pennsylvania 87 (19%)").
    whole = hit.kind == "item" or hit.tabular
    found: list[_Reading] = []
    previous, previous_terms = "", frozenset[str]()
    for unit, (start, end) in enumerate(units.spans[ids.start:ids.stop].tolist()):
        if drawn(hit.text[start:end]) if whole else not quotable(hit.text[start:end]):
            continue
        words = (f"{hit.date} {hit.text[start:end]}" if hit.kind == "item"
                 else f"{hit.lead_in} {hit.text[start:end]}" if hit.tabular else hit.text[start:end])
        # "It is located in Bishkek": a sentence opening with a pronoun is about what the
        # sentence before it names, so it is matched with that sentence's words too.
        context, context_terms = (previous, previous_terms) if PRONOUN_START.match(words) else ("", frozenset())
        terms = frozenset(query_terms(words))
        previous, previous_terms = words, terms
        # The other forms of its acronyms, each part's terms found once (BM25 terms are words:
        # those of a text joined by a space are the parts' terms).
        extra = query_terms(" ".join(other_forms(f"{context} {words}", searcher.acronyms)))
        found.append(_Reading(unit, start, end, words, terms, context_terms | terms | frozenset(extra),
                              words.rstrip().endswith(":"), _may_hold(words)))
    return tuple(found)


#: Passages whose readings an answerer keeps (~a few KiB each): the passages questions keep finding.
READINGS_KEPT = 2048


class Readings:
    """The quotable units of a searcher's passages (:func:`_read`), read once and kept for the
    last :data:`READINGS_KEPT` passages found: the same passages answer many questions, and
    reading their sentences was half of the answer's scoring. Thread-safe."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher
        self._kept: OrderedDict[int, tuple[_Reading, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, hit: Hit, row: int) -> tuple[_Reading, ...]:
        """The quotable units of the passage ``hit``, at ``row`` of the index."""
        with self._lock:
            if row in self._kept:
                self._kept.move_to_end(row)
                return self._kept[row]
        readings = _read(self.searcher, hit, row)
        with self._lock:
            self._kept[row] = readings
            while len(self._kept) > READINGS_KEPT:
                self._kept.popitem(last=False)
        return readings


def candidates(readings: Readings, question: Question, hits: list[Hit], rows: list[int]) -> list[Candidate]:
    """Every quotable sentence or list entry of ``hits`` (passages at ``rows`` of the index of
    ``readings``' searcher), scored against ``question``, best first."""
    searcher = readings.searcher
    units = searcher.units
    # A sentence that only names a follow-up's old topic again ("... the Regional Anti-Terrorist
    # Structure ...") should not outscore the one that answers ("Its main tasks and duties are:").

    def weight(term: str) -> float:
        return searcher.idf(term) * (CARRIED_WEIGHT if term in question.carried else 1.0)

    # Each of the question's terms weighs its IDF (a term it repeats, as often as it says it).
    weights: dict[str, float] = {}
    for term in question.terms:
        weights[term] = weights.get(term, 0.0) + weight(term)
    total = sum(weights.values())
    asked = set(query_terms(question.text))
    found: list[Candidate] = []
    best_hit = max((h.score for h in hits), default=1.0) or 1.0
    typed_weight = WHY_TYPED_WEIGHT if question.kind == "why" else TYPED_WEIGHT
    for n, (hit, row) in enumerate(zip(hits, rows)):
        if hit.kind == "title":
            continue  # a title page is found and shown, but an answer is body text
        prior = hit.score / best_hit
        ids = units.of(row)
        cosines = (units.vectors[ids.start:ids.stop] @ question.encoded.vector).tolist()
        for reading in readings.of(hit, row):
            if len(reading.terms - asked) < MIN_NEW_TERMS and not reading.opens_list:
                # "Eat during lunch and other rest breaks." says nothing the question did not (a
                # sentence that opens a list, "Its main tasks are:", is answered by the list).
                continue
            cosine = cosines[reading.unit]
            coverage = _coverage(weights, total, reading.matched)
            typed = (_type_match(question.kind, reading.words, question.text)
                     if question.kind not in _PRECHECKED or question.kind in reading.kinds else 0.0)
            score = cosine + COVERAGE_WEIGHT * coverage + typed_weight * typed + PRIOR_WEIGHT * prior
            found.append(Candidate(n, reading.start, reading.end, cosine, coverage, score, typed > 0,
                                   hit.kind == "footnote"))
    return sorted(found, key=lambda c: -c.score)


def same_word(word: str, words: set[str]) -> bool:
    """Whether lower-case ``word`` is a form of one of ``words`` ("tajikistan" of "tajik"), as
    answers match a question's words (used to check a generated answer's names against a passage)."""
    return _said(word, words)


def answer_facts(kind: str, text: str, question: str) -> set[str]:
    """What makes ``text`` an answer of ``kind`` beyond the words of ``question``, lower-cased:
    its dates, whole (``when``), numbers (``number``) or names (``who``, ``where``); empty for other kinds.
    A generated answer must keep one of the quoted answer's (:mod:`scoqa.qa.generate`)."""
    if kind == "when":  # whole dates: "June 2001" is not kept by "2001"
        return {" ".join(m.group().lower().replace(",", " ").split())
                for m in _FULL_DATE.finditer(_unsaid(text, question))}
    if kind == "number":
        return {w.lower().strip(".,") for w in _TOKEN.findall(_unsaid_counts(text, question))
                if _NUMBER.fullmatch(w) or w[:1].isdigit()}
    if kind in ("who", "where"):
        asked = {w.lower() for w in _TOKEN.findall(question)}
        # The first word is capitalised by grammar, not because it names anything.
        return {w.lower() for w in _TOKEN.findall(_LINK.sub(" ", text))[1:]
                if w[:1].isupper() and not _said(w.lower(), asked)}
    return set()
