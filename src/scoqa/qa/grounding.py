"""Grounding: check every ``[n]`` of a generated answer against passage n, and correct or drop.

A generated answer is cut into sentences (pysbd, as passages are) and each sentence into claims,
the words up to each group of markers ("Founded in June 2001 [1], the SCO has eight members [2].").
Passage n *supports* a claim when

* every number, month and name in the claim appears in it (names in any close form, and acronyms
  in either form: "SCO" and "Shanghai Cooperation Organisation"), and
* it holds enough of the claim's content words (IDF-weighted, as answers are scored) or one of its
  sentences is close to the claim in meaning (cosine of the embedding model scoqa already runs).

A claim whose passage does not support it is cited to the passage that does, if one does, and its
sentence is dropped otherwise; so is a sentence that asks, or only repeats the question's words. The markers that remain are renumbered in order of first use, so
that ``[n]`` is ``sources[n-1]`` and the cited sources come first, as in quoted answers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..ingest.chunk import sentence_spans
from ..lexical import expand_query
from ..search.searcher import Hit, Searcher
from ..text import WORD, content_terms, function_words, is_month, query_terms
from .evidence import same_word

#: A claim is supported by a passage holding this (IDF-weighted) share of its content words ...
MIN_COVERAGE = 0.5
#: ... or by a passage one of whose sentences is this close to it in meaning.
MIN_COSINE = 0.7
#: Markers written after the full stop ("... in 2001. [1]") belong to the sentence before it.
_LATE_MARKERS = re.compile(r"([.!?])((?:\s*\[\d+\])+)")
MARKERS = re.compile(r"(?:\s*\[\d+\])+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def passage_text(hit: Hit) -> str:
    """A passage as the model reads it and as its claims are checked: a list entry with the
    sentence that introduces its list and its date ("In September 2004, Beslan ...")."""
    if hit.kind == "item":
        lead = f"{hit.lead_in} " if hit.lead_in else ""
        return f"{lead}{hit.date + ': ' if hit.date else ''}{hit.text}"
    return hit.text


@dataclass(frozen=True)
class Claim:
    """Words of a sentence up to a group of ``[n]`` markers, and the passages they cite (0-based)."""

    text: str
    cited: tuple[int, ...]


@dataclass
class Checked:
    """A generated answer after the check.

    Attributes:
        text: The sentences kept, their markers corrected and renumbered (``[n]`` is ``order[n-1]``).
        order: The 0-based passages the new markers refer to, in order of first use.
        quotes: (marker number - 1, start, end): the sentence of the passage closest to each claim.
        sentences: Sentences the model wrote.
        kept: Sentences kept.
        markers: ``[n]`` markers the model wrote that name a passage given to it.
        supported: Of those, how many cite a passage that supports their claim (citation precision).
        corrected: Claims whose citation was moved to the passage that supports them.
        added: Claims the model cited nothing for, given the passage that supports them.
        dropped: The sentences dropped, as written.
    """

    text: str = ""
    order: list[int] = field(default_factory=list)
    quotes: list[tuple[int, int, int]] = field(default_factory=list)
    sentences: int = 0
    kept: int = 0
    markers: int = 0
    supported: int = 0
    corrected: int = 0
    added: int = 0
    dropped: list[str] = field(default_factory=list)


def split_claims(sentence: str, passages: int) -> list[Claim]:
    """The claims of one sentence; markers naming no passage (``[7]`` of 3) are ignored."""
    claims: list[Claim] = []
    position = 0
    for match in MARKERS.finditer(sentence):
        cited = tuple(dict.fromkeys(int(n) - 1 for n in re.findall(r"\d+", match.group()) if 1 <= int(n) <= passages))
        claims.append(Claim(sentence[position:match.start()], cited))
        position = match.end()
    tail = sentence[position:]
    if claims:  # words (or the full stop) after the last marker belong to the claim before them
        claims[-1] = Claim(claims[-1].text + tail, claims[-1].cited)
    else:
        claims.append(Claim(tail, ()))
    return [c for c in claims if c.text.strip() or c.cited]


def facts(text: str, first: bool) -> tuple[list[str], list[str]]:
    """The numbers and the names/months a claim states (the first word of a sentence is capitalised
    by grammar, not because it names something: it counts only when ``first`` is False)."""
    numbers, names = [], []
    for position, match in enumerate(WORD.finditer(text)):
        word = match.group().strip(".,’'-–")
        if not word:
            continue
        if word[:1].isdigit():
            numbers += _NUMBER.findall(word)
        elif is_month(word) or (word[:1].isupper() and not (first and position == 0)
                                and word.lower() not in function_words()):
            names.append(word)
    return numbers, names


class Grounding:
    """Checks claims against the passages an answer was written from."""

    def __init__(self, searcher: Searcher, passages: Sequence[Hit], question: str = "") -> None:
        self.searcher = searcher
        self.passages = list(passages)
        self._asked = set(query_terms(question))
        self._texts = [expand_query(passage_text(h), searcher.acronyms) for h in self.passages]
        self._terms = [set(query_terms(t)) for t in self._texts]
        self._words = [{w.lower() for w in WORD.findall(t)} for t in self._texts]
        self._digits = [t.replace(",", "") for t in self._texts]
        units = searcher.units
        self._units: list[list[int]] = [
            list(units.of(searcher.row_of[h.chunk_id])) if h.chunk_id in searcher.row_of else [] for h in self.passages
        ]

    def _has_facts(self, numbers: list[str], names: list[str], p: int) -> bool:
        for number in numbers:
            if not re.search(rf"(?<![\d.]){re.escape(number.replace(',', ''))}(?![\d])", self._digits[p]):
                return False
        for name in names:
            key = name.lower()
            if key in self._words[p] or same_word(key, self._words[p]):
                continue
            long_form = self.searcher.acronyms.get(name)  # "SCO" in the claim, the long form in the passage
            if long_form and all(w.lower() in self._words[p] for w in WORD.findall(long_form)):
                continue
            return False
        return True

    def _coverage(self, terms: list[str], p: int) -> float:
        weights = [self.searcher.idf(t) for t in terms]
        total = sum(weights)
        return sum(w for t, w in zip(terms, weights) if t in self._terms[p]) / total if total else 1.0

    def _closest(self, vector: np.ndarray, p: int) -> tuple[float, int]:
        """The cosine of the passage's closest sentence to ``vector``, and that sentence's unit."""
        units = self._units[p]
        if not units:
            return 0.0, -1
        scores = self.searcher.units.vectors[units] @ vector
        best = int(np.argmax(scores))
        return float(scores[best]), units[best]

    def supports(self, claim: str, vector: np.ndarray, p: int, first: bool = True) -> bool:
        """Whether passage ``p`` supports ``claim`` (whose embedding is ``vector``)."""
        numbers, names = facts(claim, first)
        if not self._has_facts(numbers, names, p):
            return False
        terms = query_terms(" ".join(content_terms(expand_query(claim, self.searcher.acronyms))))
        return self._coverage(terms, p) >= MIN_COVERAGE or self._closest(vector, p)[0] >= MIN_COSINE

    def check(self, answer: str) -> Checked:
        """Check every claim of ``answer``; keep the sentences whose claims all hold (corrected)."""
        answer = _LATE_MARKERS.sub(lambda m: f"{m.group(2)}{m.group(1)}", answer.strip())
        sentences = [answer[s:e] for s, e in sentence_spans(answer)] if answer else []
        result = Checked(sentences=len(sentences))
        claims = [split_claims(s, len(self.passages)) for s in sentences]
        flat = [c for cs in claims for c in cs]
        vectors = self.searcher.embedder.encode([MARKERS.sub("", c.text) for c in flat]) if flat else []
        kept: list[str] = []
        offset = 0
        for sentence, sentence_claims in zip(sentences, claims):
            parts: list[tuple[str, int]] = []
            own = vectors[offset:offset + len(sentence_claims)]
            offset += len(sentence_claims)
            for position, (claim, vector) in enumerate(zip(sentence_claims, own)):
                first = position == 0
                holding = [p for p in claim.cited if self.supports(claim.text, vector, p, first)]
                result.markers += len(claim.cited)
                result.supported += len(holding)
                if holding:
                    chosen = holding[0]
                else:
                    others = [p for p in range(len(self.passages)) if p not in claim.cited]
                    chosen = next((p for p in others if self.supports(claim.text, vector, p, first)), -1)
                    if chosen >= 0 and claim.cited:
                        result.corrected += 1
                    elif chosen >= 0:
                        result.added += 1
                if chosen < 0 or not claim.text.strip(" ,;") or self._restates(sentence):
                    parts = []
                    break
                parts.append((claim.text, chosen))
            if not parts:
                result.dropped.append(sentence.strip())
                continue
            kept.append(self._write(parts, result, own))
        result.kept = len(kept)
        result.text = " ".join(kept)
        return result

    def _restates(self, sentence: str) -> bool:
        """Whether a sentence is no statement: a question ("Question: What happened ...?"), or
        only the question's own words again."""
        words = set(query_terms(MARKERS.sub(" ", sentence)))
        return MARKERS.sub("", sentence).rstrip().endswith("?") or bool(self._asked) and words <= self._asked

    def _write(self, parts: list[tuple[str, int]], result: Checked, vectors: Sequence[np.ndarray]) -> str:
        """One kept sentence with its markers renumbered, its quotes recorded."""
        out = []
        for (text, p), vector in zip(parts, vectors):
            if p not in result.order:
                result.order.append(p)
            number = result.order.index(p)
            body = text.rstrip()
            end = re.search(r"[.!?;:,]*$", body)
            stop = end.group() if end else ""
            out.append(f"{body[:len(body) - len(stop)].rstrip()} [{number + 1}]{stop}")
            unit = self._closest(vector, p)[1]
            if unit >= 0:
                start, stop_at = (int(x) for x in self.searcher.units.spans[unit])
                if (number, start, stop_at) not in result.quotes:
                    result.quotes.append((number, start, stop_at))
        sentence = "".join(out).strip()
        return sentence if sentence[-1:] in ".!?" else f"{sentence}."
