"""Questions about a document itself: who wrote it, who published it, when it came out.

A reader asks "Who is the author of RFC 6265?" or "When was this guide published?" and the
answer is on the title page, in a memo's letterhead, an RFC's header block or a brief's closing
byline: lines set as a title (every word capitalised, or too short to be a sentence) that the
sentence scorer never quotes (:func:`scoqa.qa.evidence.quotable`). Such a question is answered
from those lines, when two things hold:

* it asks who wrote or published, or when was published (released, issued, updated ...), and
* everything else it says names the document: its title, its title page or its file name
  ("RFC 6265", "Revision 3 of SP 800-40"), or "this" document. "When was the strategy first
  released in draft form for public comment?" says more than that and is answered from the text.

The lines are those of the document's first passages and its last ones (a brief's byline closes
it), or the first passages under a numbered part's heading when the question names the part
("Who wrote Federalist No. 10?"); of them, those set as titles that hold a name ("who") or a
date ("when") are quoted in reading order, with the headings above them that hold a date (a
named part's byline heading, "... › From the Daily Advertiser. Thursday, November 22, 1787. ›
MADISON", for "who" too).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from ..search.searcher import Hit, Searcher
from ..text import MONTH_PATTERN, content_terms, query_terms
from .evidence import quotable, same_word

#: The title page and header block lie in a document's first passages ...
FRONT_ROWS = 8
#: ... and a brief's byline in its last ones.
BACK_ROWS = 3
#: Share of the question's (IDF-weighted) words, fact words aside, that must name the document.
MIN_IDENTITY = 0.75

_WHO = re.compile(r"^\s*(?:who|which (?:[\w-]+ ){0,2}(?:firm|company|publisher|house|agency|office|organi[sz]ation)"
                  r"|(?:in|from) (?:what|which) (?:newspaper|journal|periodical|magazine|paper|publication))\b"
                  r".*\b(?:wrote|written|write|authored|author|authors|published|publish|issued|prepared|compiled|"
                  r"edited|printed|reprinted|appeared)\b"
                  r"|\bwho (?:is|are|was|were) (?:the )?(?:authors?|writers?|publishers?|editors?)\b",
                  re.IGNORECASE)
_WHEN = re.compile(r"^\s*(?:when|(?:in|on) (?:what|which) (?:month|year|date|day)|what (?:year|date|month)"
                   r"|what is the date)\b.*\b(?:published|released|issued|written|dated|updated|revised|adopted|"
                   r"signed|came out|appear(?:ed)?|printed|publish|release|issue)\b", re.IGNORECASE)
#: "Which earlier RFC does RFC 6265 obsolete?", "What does SP 800-40 Revision 3 supersede?": a
#: header field ("Obsoletes: 2965", "Supersedes: ...") says it.
_SUPERSEDES = re.compile(r"^\s*(?:which|what)\b.*\b(?:does|do|did)\b.*\b(?:obsolete|supersede|replace)\s*\??\s*$",
                         re.IGNORECASE)
_SUPERSEDED = re.compile(r"\b(?:[Oo]bsoletes|[Ss]upersedes|[Rr]eplaces|[Uu]pdates)\s*:"
                         r"|\b(?:obsoletes|supersedes|replaces)\s+(?:[A-Z]{2,}|version|revision|edition|the)\b")
#: "Who first published The Compleat Angler in 1653?" asks about the work's history, told in its
#: text, not about the edition's title page (a numbered part's byline does say where it first
#: appeared: "In which newspaper was Federalist No. 10 first printed?").
_HISTORY = re.compile(r"\b(?:first|originally|initially)\s+(?:published|released|issued|written|printed|appeared)\b",
                      re.IGNORECASE)
#: Words that say what is asked, not which document: they need not name it.
_FACT_WORDS = frozenset(query_terms(
    "who when year date wrote written write author authors authored published publish publisher issued issue "
    "prepared compiled edited editor released release dated updated revised adopted signed came out appear "
    "appeared printed reprinted month firm company house agency office organization "
    "organisation newspaper journal periodical magazine obsolete obsoletes supersede supersedes replace "
    "replaces earlier previous older"
    # What kind of document it is, not which: "Who is the author of the MD5 specification?"
    # names RFC 1321 by "MD5", whose title page says "memo", not "specification".
    " document specification spec guide guidance report memo memorandum paper book booklet publication"
    " manual handbook brief article standard edition version revision draft volume pamphlet treatise"))
#: "this In Focus", "this memo": the words after "this" are the document, whatever they are.
_DEICTIC = re.compile(r"\bthis\s+((?:[\w-]+\s+){0,1}[\w-]+)", re.IGNORECASE)
_DATE = re.compile(rf"\b{MONTH_PATTERN}\b[^.]{{0,12}}\b(?:1[5-9]|20)\d\d\b|\b(?:1[5-9]|20)\d\d\b")
#: A person's name: "A. Barth", "Anya L. Fink", "Murugiah Souppaya", or one announced ("BY WILLIAM
#: STRUNK", "Author: ...").
_NAME = re.compile(r"\b[A-Z]\.(?:\s?[A-Z]\.)*\s?[A-Z][a-z]{2,}|\b[A-Z][a-z]+(?:\s[A-Z]\.)?\s[A-Z][a-z]{2,}\b"
                   r"|\b(?:by|BY|By|Author|Authors|AUTHOR)\b:?\s+[A-Z]")
_MONTH = re.compile(rf"\b{MONTH_PATTERN}\b")


def asks_about_document(question: str, part: bool = False) -> str:
    """``"who"`` or ``"when"`` when ``question`` asks who wrote or published something, or when it
    came out, ``"supersedes"`` when it asks what earlier document it replaces; ``""`` otherwise,
    and for a work's history ("Who first published ...?") unless it is about a numbered ``part``
    of a document."""
    if _HISTORY.search(question) and not part:
        return ""
    if _WHO.search(question):
        return "who"
    if _WHEN.search(question):
        return "when"
    if _SUPERSEDES.search(question):
        return "supersedes"
    return ""


def _holds(fact: str, text: str) -> bool:
    if fact == "when":
        return bool(_DATE.search(text))
    if fact == "supersedes":
        return bool(_SUPERSEDED.search(text))
    return any(not _MONTH.search(m.group()) for m in _NAME.finditer(text))


def _file_words(source: str) -> str:
    """The words of a file's name: "rfc3339-date-time" is "rfc 3339 date time"."""
    stem = re.sub(r"[\W_]+", " ", PurePosixPath(source).stem)
    return re.sub(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", " ", stem)


class FrontMatter:
    """The title-page lines of each document of a searcher's index, found once."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher
        chunks = searcher.index.chunks
        self.rows: dict[str, list[int]] = {}
        self.words: dict[str, set[str]] = {}
        titles = searcher.titles()
        for source in searcher.sources():
            body = [int(r) for r in searcher.document_rows(source) if chunks[r].kind != "footnote"]
            self.rows[source] = body[:FRONT_ROWS] + [r for r in body[-BACK_ROWS:] if r not in body[:FRONT_ROWS]]
            named = " ".join([titles.get(source, ""), _file_words(source)]
                             + [chunks[r].section for r in body[:FRONT_ROWS]]
                             + [chunks[r].text for r in body[:FRONT_ROWS]
                                if chunks[r].kind == "title" or not quotable(chunks[r].text)])
            self.words[source] = set(query_terms(named))

    def _identity(self, terms: list[str], source: str) -> float:
        weights = [self.searcher.idf(t) for t in terms]
        total = sum(weights)
        words = self.words[source]
        # "Compleat" names a title page that spells it "Complete".
        return 1.0 if total <= 0 else sum(w for t, w in zip(terms, weights) if same_word(t, words)) / total

    def answer(self, question: str, hits: list[Hit]) -> list[tuple[Hit, str]]:
        """What answers ``question`` about a document or a numbered part of it: its title-page
        passages and headings that hold a name ("who") or a date ("when"), in reading order, each
        as (passage, text to quote: the passage's text, or the headings above it). Empty when the
        question asks no such thing or names no part and none of the documents of ``hits`` (those
        retrieved for it, which also break ties between documents)."""
        named = self.searcher.named_rows(question)
        part = named is not None and bool(named.size)
        fact = asks_about_document(question, part)
        if not fact or not hits:
            return []
        # "When did the first Federalist paper appear?": the byline under the named part's heading;
        # a number that names no such part ("Special Publication 800-122") names the document.
        found = self._lines(fact, [int(r) for r in named[:FRONT_ROWS]], True) if part else []
        if found or (part and not asks_about_document(question)):
            return found
        own = _DEICTIC.sub(" ", question)
        terms = [t for t in query_terms(" ".join(content_terms(own))) if t not in _FACT_WORDS]
        ranked = {h.source: n for n, h in reversed(list(enumerate(hits)))}
        scored = sorted(((self._identity(terms, s), -n, s) for s, n in ranked.items()), reverse=True)
        return self._lines(fact, self.rows[scored[0][2]], False) if scored[0][0] >= MIN_IDENTITY else []

    def _lines(self, fact: str, region: list[int], part: bool) -> list[tuple[Hit, str]]:
        """The passages of ``region`` set as titles, and the headings above them, that hold a
        name or a date as ``fact`` asks, in reading order, each as (passage, text to quote)."""
        chunks = self.searcher.index.chunks
        found: list[tuple[Hit, str]] = []
        headings: list[str] = []
        for row in region:
            chunk = chunks[row]
            # A subsection's path repeats its parent's: "Framework › September 2021 › Contents".
            if not any(chunk.section.startswith(h) for h in headings):
                headings.append(chunk.section)
                # A heading is all capitalised words: only a named part's byline ("HAMILTON") says who.
                if (fact == "when" or part) and _holds(fact, chunk.section):
                    found.append((Hit.from_chunk(chunk, 1.0), chunk.section))
            if (chunk.kind == "title" or not quotable(chunk.text)) and _holds(fact, chunk.text):
                found.append((Hit.from_chunk(chunk, 1.0), chunk.text))
        return found
