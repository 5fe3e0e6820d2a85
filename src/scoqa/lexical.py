"""The lexical side of retrieval: BM25 (bm25s) over :func:`scoqa.text.query_terms`, and acronyms.

Names, dates and numbers are where a small embedding model blurs and BM25 is exact, so the
terms keep one-character and numeric tokens ("6+N" -> "6", "n"; "2005"). Acronyms are
learned from the corpus itself — "Regional Anti-Terrorist Structure (RATS)" — so that a question
using one form also matches passages that use the other.

The same analyzer serves chunking (acronyms spelled out in the indexed text), the index build
(the BM25 retriever), search and answers, so this module sits at the root of the package beside
:mod:`scoqa.text` and imports nothing else of it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from .config import import_bm25s
from .text import query_terms

_ACRONYM = re.compile(r"\(([A-Z][A-Z0-9]{1,9})\)")
_WORD = re.compile(r"[\w’'-]+")
_LINK_WORDS = frozenset({"of", "the", "and", "for", "on", "in", "a", "an"})
#: How far before "(ABC)" to look for its long form.
_ACRONYM_WINDOW_WORDS = 10


def make_bm25(texts: list[str]) -> Any:
    """Build a bm25s retriever over ``texts``."""
    retriever = import_bm25s().BM25()  # its numpy backends, which the index saves and loads with
    if texts:
        # A passage with no indexable word still needs a row; "\x00" never matches a query.
        retriever.index([query_terms(t) or ["\x00"] for t in texts], show_progress=False)
    return retriever


def _initials(words: list[str]) -> str:
    return "".join(part[0] for w in words if w.lower() not in _LINK_WORDS for part in w.split("-") if part).upper()


def find_acronyms(texts: Iterable[str]) -> dict[str, str]:
    """Acronyms defined in the texts, mapped to their long form.

    An acronym is defined by "Long Form Words (LFW)": the capitalised words just before the
    parenthesis whose initials spell it ("of", "the", ... are skipped; hyphenated words give one
    initial per part, so "Anti-Terrorist" gives "AT").

    >>> find_acronyms(["the Regional Anti-Terrorist Structure of the SCO (RATS) operates"])
    {'RATS': 'Regional Anti-Terrorist Structure'}
    """
    found: dict[str, str] = {}
    for text in texts:
        for match in _ACRONYM.finditer(text):
            acronym = match.group(1)
            if acronym in found:
                continue
            words = _WORD.findall(text[max(0, match.start() - 200):match.start()])[-_ACRONYM_WINDOW_WORDS:]
            best: list[str] | None = None
            for start in range(len(words)):
                if words[start].lower() in _LINK_WORDS:
                    continue
                for end in range(start + 1, len(words) + 1):
                    span = words[start:end]
                    if _initials(span) == acronym and all(w[0].isupper() or w.lower() in _LINK_WORDS for w in span):
                        best = span  # the last match is the one nearest the parenthesis
            if best:
                while best and best[-1].lower() in _LINK_WORDS:
                    best = best[:-1]
                found[acronym] = " ".join(best)
    return found


def _uses(text: str, acronym: str) -> bool:
    # The substring test first: answers expand every candidate sentence, against every acronym.
    return acronym in text and _whole_word(acronym).search(text) is not None


@functools.lru_cache(maxsize=4096)
def _whole_word(word: str) -> re.Pattern[str]:
    return re.compile(rf"\b{re.escape(word)}\b")


def spelled_out(text: str, acronyms: dict[str, str]) -> list[str]:
    """The acronyms whose long form ``text`` uses without the acronym itself.

    >>> spelled_out("Charter of the Shanghai Cooperation Organisation", {"SCO": "Shanghai Cooperation Organisation"})
    ['SCO']
    """
    flat = " ".join(text.split()).lower()
    return [a for a, long_form in acronyms.items() if not _uses(text, a) and long_form.lower() in flat]


def other_forms(query: str, acronyms: dict[str, str]) -> list[str]:
    """The other form of every acronym or long form the query uses (what :func:`expand_query` adds).

    >>> other_forms("Where is RATS?", {"RATS": "Regional Anti-Terrorist Structure"})
    ['Regional Anti-Terrorist Structure']
    """
    spelled = set(spelled_out(query, acronyms))
    extra = []
    for acronym, long_form in acronyms.items():
        if _uses(query, acronym):
            extra.append(long_form)
        elif acronym in spelled:
            extra.append(acronym)
    return extra


def expand_query(query: str, acronyms: dict[str, str]) -> str:
    """Add the other form of every acronym or long form the query uses.

    >>> expand_query("Where is RATS?", {"RATS": "Regional Anti-Terrorist Structure"})
    'Where is RATS? Regional Anti-Terrorist Structure'
    """
    extra = other_forms(query, acronyms)
    return f"{query} {' '.join(extra)}" if extra else query


def _spelling_key(word: str) -> str:
    return re.sub(r"[’'\-]", "", word).lower()


class Spelling:
    """The corpus's own words, to match a question's spelling of a name to the report's.

    "Andijan" finds "Andijian" and "Nalchik" finds "Nal’chik": names are where spellings vary
    (transliteration) and where BM25 otherwise matches nothing at all.
    """

    def __init__(self, texts: Iterable[str]) -> None:
        self.words: dict[str, str] = {}
        self.names: dict[str, str] = {}
        for text in texts:
            for word in re.findall(r"[A-Za-z][\w’'-]*", text):
                key = _spelling_key(word)
                self.words.setdefault(key, word)
                if word[0].isupper():
                    self.names.setdefault(key, word)
        self._name_keys = list(self.names)
        self._corrections: dict[tuple[str, float], str | None] = {}

    def correct(self, word: str, cutoff: float = 0.8) -> str | None:
        """The corpus's spelling of ``word``: itself if known, else for a capitalised word of five
        letters or more the closest capitalised word of the corpus; None if there is none."""
        import difflib

        key = _spelling_key(word)
        if key in self.words:
            return self.words[key]
        if len(key) < 5 or not word[:1].isupper():
            return None
        if (word, cutoff) not in self._corrections:  # difflib scans every name: remember
            match = difflib.get_close_matches(key, self._name_keys, n=1, cutoff=cutoff)
            self._corrections[(word, cutoff)] = self.names[match[0]] if match else None
        return self._corrections[(word, cutoff)]
