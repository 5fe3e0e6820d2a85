"""What a line of extracted text looks like, judged by its text alone: pure tests.

A title ("Regional Anti-Terrorist Structure"), a date that heads a list entry ("April 2001"), a
page number, the marker that opens a footnote, a line that closes a list entry. The layout
(:mod:`.layout`) asks these while it assembles blocks; the answers (:mod:`scoqa.qa`) ask
:func:`looks_like_heading` and :func:`title_case` of a quoted sentence.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable

from ..text import MONTH_PATTERN


def running_key(text: str) -> str:
    """What a running header or footer keeps from page to page: its words, digits aside
    ("Standards Track [Page 45]" and "[Page 46]" alike)."""
    return " ".join(re.sub(r"\d+", " ", text).lower().split())


#: "April 2001", "June 15, 2002": a line that is only a date heads an entry of a dated list.
DATE_LINE = re.compile(rf"^{MONTH_PATTERN}(?: \d{{1,2}},?)? \d{{4}}$")
PAGE_NUMBER = re.compile(r"^(?:\d{1,3}|[ivxlc]{1,6})$")
#: The marker that opens a footnote ("12 See ...", "[3] ...", "* ...").
FOOTNOTE_START = re.compile(r"^(?:\d{1,3}|\[\d{1,3}\]|\*)\s")
#: A line that closes a list entry: sentence punctuation or a trailing year ("June 15, 2002").
ENDS_ENTRY = re.compile(r"(?:[.;!?]|\b\d{4}\)?[.;,]?)[\"”’)]?$")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"])")
SMALL_WORDS = frozenset(
    "a an and as at by for from in into is are its of on or the to with via vs".split()
)
#: A numbered heading shape seen this often is a document's chapter heading ("FEDERALIST No. #").
RECURRING_HEADINGS = 3


def heading_shape(text: str) -> str:
    """A heading with its numbers blanked: "FEDERALIST No. 10" and "FEDERALIST No. 51" share one."""
    return re.sub(r"\d+|\b[IVXLC]+\b", "#", text.strip())


def substance_words(text: str) -> list[str]:
    """The words of a text that are not small linking words ("of", "the", "and" ...)."""
    return [w for w in re.findall(r"[A-Za-z][\w’'-]*", text) if w.lower() not in SMALL_WORDS]


def title_case(text: str) -> bool:
    """Whether every word of substance of a line is capitalised, as in a title (two or more of them)."""
    words = substance_words(text)
    return len(words) >= 2 and len(text.split()) <= 24 and all(w[0].isupper() for w in words)


#: Dot leaders: a table's row ("Oxygen, . . . . .  20    22.3") or a contents line, never a title.
LEADER = re.compile(r"(?:\.\s{0,3}){4,}")
#: A numbered label heading a chapter, its full stops and all: "CHAP. II.", "LECTURE III.", "Book 2."
NUMBERED_LABEL = re.compile(r"^[A-Z][A-Za-z]{1,11}\.?\s+(?:[IVXLC]{1,7}|\d{1,3})\.?$")


def looks_like_heading(text: str) -> bool:
    """Whether a line has the shape of a title: short, unpunctuated, mostly capitalised, or a
    numbered label ("CHAP. II.")."""
    core = text.lstrip("-–— ").strip()
    if NUMBERED_LABEL.match(core):
        return True
    if not core or len(core) > 80 or ":" in core or core[-1] in ".,;:!?" or LEADER.search(core):
        return False
    words = core.split()
    if len(words) > 9 or DATE_LINE.match(core) or PAGE_NUMBER.match(core):
        return False
    if not core[0].isupper():
        return False
    content = [w for w in words if w.lower() not in SMALL_WORDS]
    if not content:
        return False
    capitalised = sum(1 for w in content if not w[0].isalpha() or w[0].isupper())
    return capitalised / len(content) >= 0.5


def chapter_shapes(lines: Iterable[str]) -> set[str]:
    """The shape of the numbered headings that open each chapter ("FEDERALIST No. #"), if any.

    The most frequent numbered heading shape, seen at least :data:`RECURRING_HEADINGS` times:
    datelines and bylines under each chapter recur too, less often.
    """
    shapes = Counter(heading_shape(t) for t in lines if looks_like_heading(t) and re.search(r"\d|\b[IVXLC]+\b", t))
    top = shapes.most_common(1)
    return {top[0][0]} if top and top[0][1] >= RECURRING_HEADINGS else set()


def ends_entry(line: str, next_line: str, entry_opening: str, width: float) -> bool:
    """Whether ``line`` closes a list entry, judged by punctuation or by a line ending early.

    Args:
        line: The last line of the entry so far.
        next_line: The line after it.
        entry_opening: The first word of the entry so far.
        width: The document's typical line width (:func:`typical_width`).
    """
    if ENDS_ENTRY.search(line):
        return True
    if line.split()[-1] in SMALL_WORDS:  # "... Organisation on" / "March 27, 2009"
        return False
    first_word = next_line.split()[0]
    if first_word == entry_opening:
        # Entries of one list often open alike ("Declaration of ...", "On July 10, ..."), and a
        # line merged by extraction cannot be measured: trust the parallel.
        return True
    # If the next word would have fit on the line, the line ended on purpose.
    return len(line) + 1 + len(first_word) < 0.9 * width


def last_sentences(text: str, count: int = 2, max_words: int = 45) -> str:
    """The last ``count`` sentences of ``text``, cut to at most ``max_words`` words."""
    sentences = SENTENCE_END.split(text)
    tail = " ".join(sentences[-count:])
    words = tail.split()
    return " ".join(words[-max_words:])


def typical_width(lines: list[str]) -> float:
    """The width of a full line of the document, in characters (80 when too few lines tell)."""
    # Lines over 100 characters are extraction merges, not typeset lines.
    lengths = [len(t) for t in lines if 20 <= len(t) <= 100]
    if len(lengths) < 5:
        return 80.0
    return statistics.quantiles(lengths, n=10)[-1]
