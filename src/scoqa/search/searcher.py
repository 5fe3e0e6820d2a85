"""Lexical (BM25) and dense (FAISS) search over a loaded index, their fusion, and a rerank.

Dense search finds paraphrases; BM25 finds names, dates and numbers that a small embedding
model blurs. Both are scored on a shared candidate set and fused as a weighted sum of
normalised scores: BM25 divided by its best score, cosine min-max scaled over the candidates.
Measured on the gold set this beats reciprocal rank fusion, which throws away how far ahead the
best BM25 match is (README, "Retrieval design").

The fusion's top passages are then reranked with late interaction (:mod:`scoqa.search.rerank`): each
content word of the question meets its closest word of the passage. The question's word vectors
come from the same forward pass as its sentence vector, so the rerank costs no model time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np

from ..index.backend import SearchIndex
from ..index.embed import Embedder
from ..index.faiss_index import require
from ..index.runs import runs
from ..index.sentences import Units
from ..index.tokens import TokenVectors
from ..ingest.chunk import Chunk, is_table
from ..lexical import Spelling, expand_query, find_acronyms
from ..text import function_words, is_month, query_terms
from .rerank import maxsim

#: A word as a name may be written ("Nal'chik", "Anti-Terrorist").
_NAME = re.compile(r"[A-Za-z][\w’'-]*")
MODES = ("hybrid", "fusion", "dense", "bm25")
#: Weight of the normalised BM25 score in the fused score (the rest is dense).
LEXICAL_WEIGHT = 0.5
#: Each ranker contributes this many candidates (at least) to the fusion.
CANDIDATES = 100
#: The fusion's best this-many passages are reranked with late interaction.
RERANK_DEPTH = 30
#: Weights of the rerank: BM25 (over its best score), late interaction and best-sentence cosine
#: (both min-max scaled over the reranked passages). Chosen on the gold set and 155 held-out
#: questions together; 0.1-0.2 / 0.5-0.7 all land within a question or two of each other.
RERANK_WEIGHTS = (0.2, 0.6, 0.2)
#: A footnote's fused score counts this much: footnotes cite where a statement comes from, the
#: body text makes it, and a question asks about the statement. So does a title page read from
#: headings (short, and naming the document's title and author, it met questions that name them).
FOOTNOTE_WEIGHT = 0.8
#: A passage outside the numbered section a question names ("Federalist No. 51", "Appendix 1"),
#: or outside the section an earlier answer quoted when a follow-up leans on it ("Who wrote it?"),
#: keeps this share of its score. Measured for follow-ups on five sets' conversations together:
#: 0.6 / 0.7 / 0.8 / 0.9 got 38 / 39 / 40 / 38 of 52 (38 without).
OTHER_SECTION_WEIGHT = 0.8
#: A numbered heading: a word and a number of at most three digits or a Roman numeral ("No. 51",
#: "Appendix 1", "Chapter IV"); years are dates, not numbers of sections.
_NUMBERED = re.compile(r"\b([A-Za-z]{2,})(\.?)\s+(\d{1,3}|[IVXLC]{1,6})\b(?![.,]?\d)")
#: "FEDERALIST No. 10", "Report No. 3": a numbered heading named by the word before "No.".
_NUMBER_OF = re.compile(r"\b([A-Za-z]{2,})\s+No\.\s+(\d{1,3}|[IVXLC]{1,6})\b(?![.,]?\d)")
_ORDINALS = {w: n for n, w in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split(), start=1)}
_ORDINAL = re.compile(rf"\b({'|'.join(_ORDINALS)})\s+((?:[A-Za-z]+\s+){{0,2}}[A-Za-z]+)", re.IGNORECASE)
#: A heading that numbers this many passages or more is a part of a book, too broad to point at.
MAX_NAMED_PASSAGES = 300
#: An earlier answer's passage is found by this many characters of its quote, among the passages
#: that share the most words with them.
QUOTE_PROBE_CHARS = 60
QUOTE_CANDIDATES = 20


@dataclass(frozen=True)
class Query:
    """A question as the searcher uses it: its sentence vector and its content words' vectors."""

    vector: np.ndarray
    tokens: np.ndarray


@dataclass(frozen=True)
class Hit:
    """A retrieved passage.

    Attributes:
        text: The passage as it reads in the source.
        score: Relevance score (higher is better; its scale depends on the search mode).
        citation: Where it comes from, for people.
        source: File path relative to the corpus folder.
        section: Section heading(s).
        page: Page number for PDF sources, else None.
        line_start: First line of the passage in the source (1-based).
        line_end: Last line (inclusive).
        chunk_id: Identifier of the passage in the index.
        kind: ``"paragraph"``, ``"item"`` (a list entry), ``"footnote"`` or ``"title"`` (a title
            page set in headings).
        lead_in: For a list entry, the sentence that introduces its list; for a table's rows, its caption.
        date: For an entry of a dated list, its date.
        dense_score: Cosine similarity of the query and the passage.
        lexical_score: BM25 score of the passage for the (expanded) query.
    """

    text: str
    score: float
    citation: str
    source: str
    section: str
    page: int | None
    line_start: int
    line_end: int
    chunk_id: str
    kind: str = "paragraph"
    lead_in: str = ""
    date: str = ""
    dense_score: float = 0.0
    lexical_score: float = 0.0

    @property
    def tabular(self) -> bool:
        """Whether the passage is a table's rows of figures (:func:`scoqa.ingest.chunk.is_table`)."""
        return is_table(self.kind, self.lead_in)

    @classmethod
    def from_chunk(cls, chunk: Chunk, score: float, dense_score: float = 0.0, lexical_score: float = 0.0) -> Hit:
        """Make a hit from an index passage."""
        return cls(
            text=chunk.text,
            score=float(score),
            citation=chunk.citation,
            source=chunk.source,
            section=chunk.section,
            page=chunk.page,
            line_start=chunk.line_start,
            line_end=chunk.line_end,
            chunk_id=chunk.id,
            kind=chunk.kind,
            lead_in=chunk.lead_in,
            date=chunk.date,
            dense_score=float(dense_score),
            lexical_score=float(lexical_score),
        )


class Searcher:
    """Search one loaded index with one embedder."""

    def __init__(self, index: SearchIndex, embedder: Embedder) -> None:
        self.index = index
        self.embedder = embedder
        self._vocab_ids: dict[str, int] = index.vocabulary()
        self._vocab = set(self._vocab_ids)
        self.acronyms = find_acronyms(c.text for c in index.chunks)
        self._units: Units | None = None
        self.spelling = Spelling(c.text for c in index.chunks)
        #: Row of each passage id, to go from a hit back to the index.
        self.row_of = {c.id: row for row, c in enumerate(index.chunks)}
        rows_by_source: dict[str, list[int]] = {}
        for row, chunk in enumerate(index.chunks):
            rows_by_source.setdefault(chunk.source, []).append(row)
        self._rows_by_source = {s: np.asarray(rows, dtype=np.int64) for s, rows in rows_by_source.items()}
        self._sources = sorted(rows_by_source)
        self._footnote = np.array([c.kind in ("footnote", "title") for c in index.chunks], dtype=bool)
        numbered: dict[tuple[str, str], list[int]] = {}
        for row, chunk in enumerate(index.chunks):
            for label in _labels(chunk.section):
                numbered.setdefault(label, []).append(row)
        self._numbered = {label: np.asarray(rows, dtype=np.int64) for label, rows in numbered.items()
                          if len(rows) < MAX_NAMED_PASSAGES}
        self._df = index.document_frequencies()
        self._sections: dict[tuple[str, str], np.ndarray] | None = None

    @property
    def units(self) -> Units:
        """Sentence-level units of the index with their embeddings (stored by the build: nothing
        is embedded at query time but the question)."""
        if self._units is None:
            self._units = Units(**require(self.index.units, "units"))
        return self._units

    def _corpus_spelling(self, word: str) -> str | None:
        """How the corpus spells a name it lacks ("Andijan" -> "Andijian"); None for a word it knows,
        a word that is no name, or a name with no close spelling in the corpus."""
        if not word[:1].isupper() or any(t in self._vocab for t in query_terms(word)):
            return None
        corrected = self.spelling.correct(word)
        return corrected if corrected and corrected != word else None

    def respelled(self, query: str) -> str:
        """``query`` with each name the corpus lacks written as the corpus spells it ("Andijan"
        -> "Andijian"), so that the model and the rerank see the corpus's word pieces too."""
        return _NAME.sub(lambda m: self._corpus_spelling(m.group()) or m.group(), query)

    def lexical_query(self, query: str, acronyms: bool = True) -> str:
        """The query for BM25: acronyms given both forms, names respelled as the corpus spells them."""
        extra = [c for c in map(self._corpus_spelling, _NAME.findall(query)) if c]
        expanded = expand_query(query, self.acronyms) if acronyms else query
        return f"{expanded} {' '.join(extra)}" if extra else expanded

    def is_known(self, word: str) -> bool:
        """Whether the corpus uses ``word`` (in any spelling close to it)."""
        terms = query_terms(word)
        return (bool(terms) and all(t in self._vocab for t in terms)) or self.spelling.correct(word) is not None

    def _document_frequency(self, term: str) -> float:
        """How many passages contain a BM25 term."""
        idx = self._vocab_ids.get(term)
        return float(self._df[idx]) if idx is not None and idx < self._df.size else 0.0

    def document_share(self, term: str) -> float:
        """Share of the passages that contain a BM25 term."""
        return self._document_frequency(term) / max(len(self.index.chunks), 1)

    def idf(self, term: str) -> float:
        """Inverse document frequency of a BM25 term (a term the corpus lacks is rarest of all)."""
        df = self._document_frequency(term)
        n = max(len(self.index.chunks), 1)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def embed_query(self, query: str) -> np.ndarray:
        """The query's normalised embedding (the model's forward pass and nothing else)."""
        return self.embedder.encode([query])[0]

    def encode_query(self, query: str) -> Query:
        """The query's embedding and its content words' vectors, from one forward pass."""
        vectors, tokens = self.embedder.encode_with_tokens([query], query=True)
        return Query(vectors[0], tokens[0])

    def dense(self, query_vector: np.ndarray, k: int,
              allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` rows by inner product: (rows, scores); only ``allowed`` rows when given."""
        return self.index.dense_top(query_vector, k, allowed)

    def sources(self) -> list[str]:
        """The documents of the index (paths relative to the corpus), sorted."""
        return self._sources

    def titles(self) -> dict[str, str]:
        """The title each document declares (metadata, front matter, ``<title>``), where it has one."""
        return dict(self.index.manifest.get("titles") or {})

    def document_rows(self, source: str) -> np.ndarray:
        """The rows of the passages of document ``source`` (a path relative to the corpus), in
        reading order."""
        return self._rows_by_source[source]

    def rows_of_sources(self, sources: Sequence[str] | None) -> np.ndarray | None:
        """Rows of the passages of ``sources`` (each a path relative to the corpus, a file name or
        a folder), or None for the whole corpus.

        Raises:
            ValueError: for a name that matches no document, listing the documents there are.
        """
        if sources is None:
            return None
        known = self.sources()
        chosen: set[str] = set()
        for name in sources:
            wanted = str(name).strip().strip("/")
            matches = {s for s in known if s == wanted or PurePosixPath(s).name == wanted
                       or s.startswith(f"{wanted}/")}
            if not matches:
                raise ValueError(f"no document {name!r} in the index; the documents are: {', '.join(known)}")
            chosen |= matches
        return np.sort(np.concatenate([self.document_rows(s) for s in chosen]))

    def quoted_row(self, quote: str) -> int | None:
        """The row of the passage an answer quoted ``quote`` from (whitespace aside), or None.

        The quote's end is matched, so that a list entry quoted with its date ("In September 2004,
        ...") or a sentence quoted with the one before it is still found; a clipped quote ("...…")
        is matched on what is left.
        """
        probe = " ".join(quote.rstrip("…").split())[-QUOTE_PROBE_CHARS:]
        if len(probe) < QUOTE_PROBE_CHARS // 2:
            return None
        # The passages that share the most words with it are the only ones worth reading.
        rows = self.bm25_top(self.lexical_query(probe, acronyms=False), QUOTE_CANDIDATES)
        chunks = self.index.chunks
        return next((int(row) for row in rows if probe in " ".join(chunks[row].text.split())), None)

    def section_rows(self, row: int) -> np.ndarray:
        """The rows of the passages under the same heading of the same document as ``row``."""
        if self._sections is None:
            sections: dict[tuple[str, str], list[int]] = {}
            for r, chunk in enumerate(self.index.chunks):
                sections.setdefault((chunk.source, chunk.section), []).append(r)
            self._sections = {key: np.asarray(rows, dtype=np.int64) for key, rows in sections.items()}
        chunk = self.index.chunks[row]
        return self._sections[(chunk.source, chunk.section)]

    def named_rows(self, query: str) -> np.ndarray | None:
        """Rows of the passages under a numbered heading ``query`` names, in reading order, or
        None when it names none the corpus has."""
        return self._named_sections(query, None)

    def _named_sections(self, query: str, allowed: np.ndarray | None) -> np.ndarray | None:
        """Rows of the passages under a numbered heading the query names ("What does Federalist
        No. 51 say ...", "In Appendix 1 ..."), or None when it names none the corpus has."""
        rows = [self._numbered[label] for label in _labels(query) | _ordinal_labels(query) if label in self._numbered]
        return _within(np.unique(np.concatenate(rows)), allowed) if rows else None

    def bm25_scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for ``query`` (zeros when no query term is indexed)."""
        n = len(self.index.chunks)
        tokens = [t for t in query_terms(query) if t in self._vocab]
        if not tokens or n == 0:
            return np.zeros(n, dtype=np.float32)
        return self.index.bm25_scores(tokens)

    def bm25_top(self, query: str, k: int) -> np.ndarray:
        """Rows of the ``k`` passages BM25 scores best for ``query`` (those it scores above 0), best first."""
        return self._top(self.bm25_scores(query), k)

    @staticmethod
    def _top(scores: np.ndarray, k: int) -> np.ndarray:
        """Rows of the ``k`` best positive scores, best first."""
        if not scores.size:
            return np.zeros(0, dtype=np.int64)
        k = min(k, scores.size)
        rows = np.argpartition(-scores, k - 1)[:k]
        rows = rows[np.argsort(-scores[rows], kind="stable")]
        return rows[scores[rows] > 0]

    def search(self, query: str, k: int, mode: str = "hybrid", encoded: Query | None = None,
               sources: Sequence[str] | None = None, focus: np.ndarray | None = None) -> list[Hit]:
        """Rank passages for ``query``.

        Args:
            query: The question.
            k: Number of hits.
            mode: ``"hybrid"`` (default: fusion, then the late-interaction rerank), ``"fusion"``
                (BM25 + dense without the rerank), ``"dense"`` or ``"bm25"``.
            encoded: The query's vectors (:meth:`encode_query`), if already computed.
            sources: Only passages of these documents (see :meth:`rows_of_sources`); None for all.
            focus: Rows of the passages a conversation is about (the section an earlier answer
                came from): searched first, as a section the query names is, when it names none.
        """
        chunks = self.index.chunks
        allowed = self.rows_of_sources(sources)
        mask = None
        if allowed is not None:
            mask = np.zeros(len(chunks), dtype=bool)
            mask[allowed] = True
        if mode != "dense":
            # Acronyms help BM25 match both forms; measured, they blur the dense query, so dense
            # search sees the question as asked.
            bm25 = self.bm25_scores(self.lexical_query(query))
            if mask is not None:
                bm25 = np.where(mask, bm25, 0.0).astype(np.float32)
        if mode == "bm25":
            return [Hit.from_chunk(chunks[r], bm25[r], lexical_score=bm25[r]) for r in self._top(bm25, k)]
        encoded = encoded or self.encode_query(self.respelled(query))
        vector = encoded.vector
        if mode == "dense":
            rows, scores = self.dense(vector, k, allowed)
            return [Hit.from_chunk(chunks[r], s, s) for r, s in zip(rows, scores)]
        candidates, first = self._candidates(query, vector, bm25, max(k, CANDIDATES), allowed, focus)
        if not candidates.size:
            return []
        # A passage is as close to the question as its closest sentence (measured: better than
        # the passage vector alone for this small model).
        cosine = best_unit_scores(self.units, vector, candidates)
        fused, order = self._rank(candidates, cosine, bm25, encoded, k, mode == "hybrid", first)
        return [
            Hit.from_chunk(chunks[candidates[i]], fused[i], cosine[i], bm25[candidates[i]]) for i in order[:k]
        ]

    def _candidates(self, query: str, vector: np.ndarray, bm25: np.ndarray, depth: int,
                    allowed: np.ndarray | None,
                    focus: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """The passages worth scoring, and those to search first (or None): the ``depth`` best by
        passage vector and by BM25, the passages of the best sentences, and those under a numbered
        heading the query names, else the ``focus`` passages."""
        dense_rows, _ = self.dense(vector, depth, allowed)
        dense_rows = np.union1d(dense_rows, self.index.sentence_top(vector, depth * 3, allowed))
        candidates = np.union1d(dense_rows, self._top(bm25, depth)).astype(np.int64)
        first = self._named_sections(query, allowed)
        if first is None and focus is not None:
            first = _within(focus, allowed)
        if first is not None:
            candidates = np.union1d(candidates, first).astype(np.int64)
        return candidates, first

    def _rank(self, candidates: np.ndarray, cosine: np.ndarray, bm25: np.ndarray, encoded: Query, k: int,
              rerank: bool, first: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The candidates' scores and their order, best first: BM25 fused with the best sentence's
        cosine; with ``rerank``, the top ones scored again with the late-interaction MaxSim of
        their word pieces; footnotes, and passages outside those ``first`` names, count less."""
        best_bm25 = float(bm25.max()) if bm25.size else 0.0
        lexical_norm = bm25[candidates] / best_bm25 if best_bm25 > 0 else np.zeros(len(candidates))
        fused = LEXICAL_WEIGHT * lexical_norm + (1 - LEXICAL_WEIGHT) * _minmax(cosine)
        order = np.lexsort((candidates, -fused))
        if rerank:
            order = order[:max(k, RERANK_DEPTH)]
            # The reranked passages' word pieces, read from the index for them alone.
            reranked = TokenVectors(**self.index.late_tokens(candidates[order]))
            late = maxsim(encoded.tokens, reranked, np.arange(order.size))
            lexical_weight, late_weight, dense_weight = RERANK_WEIGHTS
            fused = np.zeros_like(fused)
            fused[order] = (lexical_weight * lexical_norm[order] + late_weight * _minmax(late)
                            + dense_weight * _minmax(cosine[order]))
        fused = np.where(self._footnote[candidates], FOOTNOTE_WEIGHT * fused, fused)
        if first is not None:
            fused = np.where(np.isin(candidates, first), fused, OTHER_SECTION_WEIGHT * fused)
        return fused, order[np.lexsort((candidates[order], -fused[order]))]


def _within(rows: np.ndarray, allowed: np.ndarray | None) -> np.ndarray | None:
    """Those of ``rows`` that are ``allowed`` (all when None), or None when none are."""
    rows = rows if allowed is None else np.intersect1d(rows, allowed)
    return rows if rows.size else None


def _ordinal_labels(query: str) -> set[tuple[str, str]]:
    """The numbered headings a question names by an ordinal: "the first case report" may mean
    "Report 1", "the third lecture" "Lecture 3" (each word up to two after the ordinal is tried;
    only a heading the corpus has counts)."""
    labels = set()
    for match in _ORDINAL.finditer(query):
        number = str(_ORDINALS[match.group(1).lower()])
        for word in match.group(2).split():
            labels |= {(word.lower(), number), (word.lower(), _roman(int(number)))}
    return labels


def _roman(n: int) -> str:
    return ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")[n - 1]


def _labels(text: str) -> set[tuple[str, str]]:
    """The numbered headings ``text`` names, as (lower-case word, number) pairs; "FEDERALIST No. 1"
    is also ("federalist", "1"), so that "the first Federalist paper" finds it."""
    labels = {(word.lower(), number.upper()) for word, dot, number in _NUMBERED.findall(text)
              if (word.lower() not in function_words() or (word.lower() == "no" and dot)) and not is_month(word)}
    return labels | {(word.lower(), number.upper()) for word, number in _NUMBER_OF.findall(text)
                     if word.lower() not in function_words()}


def best_unit_scores(units: Units, query_vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each passage in ``rows``, the best cosine of its units with the query (-1 for none)."""
    scores = np.full(len(rows), -1.0, dtype=np.float32)
    filled, ids, starts = runs(units.first, rows)
    if filled.size:  # every unit of the filled rows, row after row, then the best of each row's run
        scores[filled] = np.maximum.reduceat(units.vectors[ids] @ query_vector, starts)
    return scores


def _minmax(scores: np.ndarray) -> np.ndarray:
    """Scores scaled to [0, 1] (all ones when they are all equal)."""
    if not scores.size:
        return scores
    spread = float(scores.max() - scores.min())
    return (scores - scores.min()) / spread if spread > 0 else np.ones_like(scores)
