"""Wrapped lines -> one text: NFKC clean-up, end-of-line hyphens undone, footnote markers removed.

Text extracted from a PDF (or typed with hard line breaks) is cut into lines of the page's
width; :func:`reflow` joins the lines of one paragraph or list entry again and says where each
line starts in the result, so that a quote can be traced back to its source lines.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

#: "population.1 Apart": a footnote number glued after punctuation.
FOOTNOTE_MARK = re.compile(r"(?<=[a-z][.,;:!?”\"’)])\d{1,2}(?=\s|$)")
FOOTNOTE_MARK_AT_END = re.compile(r"(?<=[a-z]{4})\d$")


def normalise(text: str) -> str:
    """NFKC-normalise a line (ligatures, non-breaking spaces) and trim it."""
    # NFKC splits a spacing acute ("Midē´wiwin", a stress mark) into a space and a combining
    # accent, cutting the word in two: put it back.
    return unicodedata.normalize("NFKC", text).replace("\u00ad", "").replace(" \u0301", "\u00b4").strip()


def join_lines(parts: Iterable[str], vocabulary: frozenset[str] | None = None) -> str:
    """Re-flow wrapped lines into one text, undoing end-of-line hyphenation.

    >>> join_lines(["the territorial integ-", "rity of states"])
    'the territorial integrity of states'
    >>> join_lines(["the deep-", "sea floor"], frozenset({"deep", "sea", "floor"}))
    'the deep-sea floor'
    """
    return reflow(list(parts), vocabulary)[0]


def _breaks_word(left: str, right: str, vocabulary: frozenset[str] | None) -> bool:
    """Whether a hyphen at the end of a line split one word ("integ- rity") rather than ending
    the first half of a compound ("deep- sea"): judged by the document's own words."""
    if vocabulary is None:
        return True
    head = re.findall(r"[A-Za-z]+$", left)
    tail = re.findall(r"^[A-Za-z]+", right)
    if not head or not tail:
        return True
    joined = (head[0] + tail[0]).lower()
    return joined in vocabulary or head[0].lower() not in vocabulary


def document_words(lines: Iterable[str]) -> frozenset[str]:
    """The lower-cased words a document uses, to judge its line-end hyphens."""
    return frozenset(w.lower() for line in lines for w in re.findall(r"[A-Za-z]+", line))


def reflow(parts: list[str], vocabulary: frozenset[str] | None = None) -> tuple[str, tuple[int, ...]]:
    """Like :func:`join_lines`, also returning where each part starts in the joined text.

    Footnote markers ("population.1") are removed line by line so that the offsets stay exact.
    """
    out = ""
    starts: list[int] = []
    for n, part in enumerate(parts):
        part = FOOTNOTE_MARK.sub("", part)
        if n == len(parts) - 1:
            part = FOOTNOTE_MARK_AT_END.sub("", part)
        if not out:
            starts.append(0)
            out = part
        elif out.endswith("-") and len(out) > 1 and out[-2].isalpha() and part[:1].islower():
            if _breaks_word(out[:-1], part, vocabulary):
                starts.append(len(out) - 1)
                out = out[:-1] + part
            else:
                starts.append(len(out))
                out = out + part
        else:
            starts.append(len(out) + 1)
            out = f"{out} {part}"
    return out, tuple(starts)
