"""Words: the one place that says how scoqa cuts text into words and which words carry no topic.

Every stage that compares words — BM25 (:mod:`scoqa.lexical`), the layout reader's dates, the
follow-up resolver and the answerer — takes its tokeniser, stop words, month names and question
words from here, so that a question and a passage are always cut the same way.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

from .config import import_bm25s

#: Month names, in order, and a pattern matching any of them.
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
MONTH_PATTERN = rf"(?:{'|'.join(MONTHS)})"
#: A year from 1000 to 2099: "upon his arrival in 1666", "Peace Mission-2010".
YEAR_PATTERN = r"\b(?:1\d|20)\d\d\b"
_MONTH_NAMES = frozenset(m.lower() for m in MONTHS)

#: BM25's token: any run of letters or digits, single characters kept ("6+N" -> "6", "n").
_TERM = re.compile(r"(?u)\b\w+\b")
#: A word as people write it: letters with inner apostrophes and hyphens ("Nal'chik",
#: "Anti-Terrorist"), or a number with its inner punctuation ("1,770", "2005–2006") and the
#: letters it runs into ("10th", "1990s": cut there, "th" became a question's rarest term).
WORD = re.compile(r"[A-Za-z][\w’'-]*|\d[\d,.–-]*[A-Za-z]*")

#: Words that ask rather than name: question words, fillers and verbs of happening.
QUESTION_WORDS = frozenset(
    "what when where which who whom whose why how many much did does do is are was were was the a an of in on "
    "to for and or about with at by from tell me please can could would you happen happened take took place "
    "held hold one ones more also then".split()
)


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """English stop words (the list bm25s ships), left out of BM25 terms."""
    return frozenset(import_bm25s().stopwords.STOPWORDS_EN)


@lru_cache(maxsize=1)
def function_words() -> frozenset[str]:
    """Words that carry no topic, for matching word pieces: English function words (the longer
    NLTK list that ships with bm25s)."""
    return frozenset(import_bm25s().stopwords.STOPWORDS_EN_PLUS)


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    try:
        import Stemmer

        return Stemmer.Stemmer("english")
    except ImportError:  # PyStemmer is optional for bm25s
        return None


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    stemmer = _stemmer()
    return stemmer.stemWord(word) if stemmer is not None else word


def query_terms(text: str) -> list[str]:
    """BM25 terms of a text: accents folded, lower-cased words, English stop words removed, stemmed.

    The steps of ``bm25s.tokenize`` (checked to give the same terms on the report and the
    question sets) plus the folding, without building a vocabulary per call: answers tokenise every candidate
    sentence, so this sits on the hot path. The index is built from this function too.
    """
    stop = stopwords()
    return [_stem(w) for w in _TERM.findall(fold_accents(text).lower()) if w not in stop]


#: Accents printed on their own, as transcriptions of names often do ("Midē´wiwin").
_SPACING_ACCENTS = dict.fromkeys(map(ord, "\u00b4\u0060\u00a8\u02b9\u02ca\u02cb\u02c6\u02dc\u02d8\u02c7"))


def fold_accents(text: str) -> str:
    """``text`` without accents, so that a question's "Midewiwin" or "Allouez" matches the
    document's "Midē´wiwin" or "Alloüez" (letters decomposed, their marks dropped)."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPACING_ACCENTS))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def content_terms(text: str) -> list[str]:
    """Words of a question that carry its topic (question words and fillers removed)."""
    return [w.strip("?.,!;:") for w in WORD.findall(text) if w.lower().strip("?.,!;:") not in QUESTION_WORDS]


def is_month(word: str) -> bool:
    """Whether ``word`` names a month ("june", "June")."""
    return word.lower() in _MONTH_NAMES
