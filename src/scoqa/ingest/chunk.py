"""Blocks -> :class:`Chunk` records: passages sized for the embedding model, with citations.

A paragraph becomes one or more passages of whole sentences within a word-piece budget; a list
entry becomes one passage of its own. Each passage keeps the text the user reads (``text``) and,
separately, the text that is indexed (``context``): the section heading, and for list entries the
list's lead-in and date, prepended so that "How many died in Beslan?" finds the entry even though
the entry itself never says "terrorist attack". Lengths are measured with the model's tokenizer:
all-MiniLM-L6-v2 silently drops everything past 256 word pieces.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from functools import lru_cache

from ..config import MODEL_MAX_TOKENS
from ..lexical import find_acronyms, spelled_out
from .layout import Block, clean_document, joined
from .records import Document

TokenCounter = Callable[[str], int]
#: Room for [CLS] and [SEP].
SPECIAL_TOKENS = 2
#: Paragraphs shorter than this (in word pieces) are merged into their neighbour: damage such as
#: a lone "goals" line carries no meaning on its own.
MIN_PARAGRAPH_TOKENS = 12
#: Lead-ins are cut to this many words in the indexed text so they do not drown the entry.
LEAD_IN_WORDS = 16


@dataclass(frozen=True)
class Chunk:
    """One passage of the corpus.

    Attributes:
        id: Stable identifier: source, line span and a hash of the text.
        source: File path relative to the corpus folder.
        section: Section heading(s) the passage sits under.
        page: Page number (PDF) or None.
        line_start: First source line (1-based).
        line_end: Last source line (inclusive).
        kind: ``"paragraph"``, ``"item"`` (a list entry), ``"footnote"`` or ``"title"`` (a title
            page set in headings).
        text: The passage as shown to the user.
        context: The text that is embedded and searched (heading, lead-in, date, text).
        lead_in: For a list entry, the sentence introducing the list; for a table's rows of
            figures (:attr:`tabular`), the table's caption and column headings.
        date: For an entry of a dated list, its date.
        ocr: Whether its page was read by OCR (the citation says so).
    """

    id: str
    source: str
    section: str
    page: int | None
    line_start: int
    line_end: int
    kind: str
    text: str
    context: str
    lead_in: str = ""
    date: str = ""
    ocr: bool = False

    @property
    def tabular(self) -> bool:
        """Whether the passage is a table's rows of figures (:func:`is_table`)."""
        return is_table(self.kind, self.lead_in)

    @property
    def citation(self) -> str:
        """Where the passage comes from, for people: ``file · section · p. 3`` or ``lines 12–15``."""
        return format_citation(self.source, self.section, self.page, self.line_start, self.line_end, self.ocr)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict of the record's fields (``ocr`` only when set)."""
        data = asdict(self)
        if not self.ocr:
            del data["ocr"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Chunk:
        """Rebuild a chunk from :meth:`to_dict` output."""
        return cls(**data)  # type: ignore[arg-type]


def format_citation(source: str, section: str, page: int | None, line_start: int, line_end: int,
                    ocr: bool = False) -> str:
    """Human-readable origin of a passage; ``(OCR)`` after the page of a scanned page's text."""
    parts = [source]
    if section:
        parts.append(f"“{section}”")
    if page is not None:
        parts.append(f"p. {page} (OCR)" if ocr else f"p. {page}")
    else:
        parts.append(f"line {line_start}" if line_start == line_end else f"lines {line_start}–{line_end}")
    return ", ".join(parts)


@lru_cache(maxsize=1)
def _segmenter():  # type: ignore[no-untyped-def]
    import pysbd

    return pysbd.Segmenter(language="en", clean=False, char_span=True)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text`` (pysbd, which knows abbreviations)."""
    return list(_sentence_spans(text))


#: Abbreviations pysbd does not know that end in a full stop inside a sentence: titles and ranks
#: before a name, and references before a number ("Lieut. Col. John F. Morrison", "par. 95").
_ABBREVIATION = re.compile(
    r"\b(?:Lieut|Col|Capt|Gen|Maj|Sgt|Cpl|Pvt|Lt|Adm|Gov|Sen|Rep|Rev|Hon|Prof|Dr|Mr|Mrs|Ms|St|Mt|Ft|"
    r"No|Nos|Art|Arts|Sec|Secs|Fig|Figs|Vol|Vols|Ch|par|pars|p|pp|cf|vs|approx|est)\.$",
)


#: An enumeration inside a sentence: "GitHub reserves the right ... to (i) charge interest ...,
#: and (ii) terminate the order form", "either (a) requesting ... or (b) confirming ...".
_INLINE_ITEM = re.compile(r"\(?(?:[ivx]{1,4}|[a-h]|\d{1,3})\)\s")
#: How a sentence ends: its mark, and any closing quote or bracket after it.
_SENTENCE_END = re.compile(r"[.!?:;][\"'”’)\]]*$")


@lru_cache(maxsize=1 << 16)
def _sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    # pysbd takes ~10 ms a paragraph; chunking, sentence units and answers all ask for the same
    # paragraphs' sentences, so each is segmented once.
    spans: list[tuple[int, int]] = []
    for piece in _segmenter().segment(text):
        start, end = piece.start, piece.end
        while end > start and text[end - 1].isspace():
            end -= 1
        if end <= start:
            continue
        # A break after an abbreviation, before a word in lower case, before a table row's next
        # cell ("Op. 27 | No. 2 | 1802. | Countess Guicciardi."), or before an enumeration's next
        # item where no sentence ended ("... to (i) charge interest"), is not a sentence's end.
        previous = text[spans[-1][0]:spans[-1][1]] if spans else ""
        if spans and (_ABBREVIATION.search(previous) or text[start].islower() or text[start] == "|"
                      or (_INLINE_ITEM.match(text, start) and not _SENTENCE_END.search(previous))):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return tuple(spans) or ((0, len(text)),)


def context_text(section: str, text: str, lead_in: str = "", date: str = "") -> str:
    """The indexed form of a passage: its section, lead-in and date before its own words."""
    lead = " ".join(lead_in.split()[-LEAD_IN_WORDS:]) if lead_in else ""
    prefix = " — ".join(p for p in (section, lead, date) if p)
    return f"{prefix}: {text}" if prefix else text


def _chunk_id(source: str, line_start: int, line_end: int, text: str) -> str:
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]
    return f"{source}:{line_start}-{line_end}:{digest}"


def _fit_context(section: str, text: str, lead_in: str, date: str, count: TokenCounter) -> str:
    """Build the indexed text, dropping the lead-in, then the section, if it would not fit the model."""
    limit = MODEL_MAX_TOKENS - SPECIAL_TOKENS
    for candidate in (
        context_text(section, text, lead_in, date),
        context_text(section, text, "", date),
        context_text("", text, "", date),
    ):
        if count(candidate) <= limit:
            return candidate
    return text


def _split_long(text: str, start: int, end: int, budget: int, count: TokenCounter) -> list[tuple[int, int]]:
    """Cut one over-long sentence at word boundaries into pieces within ``budget``."""
    pieces: list[tuple[int, int]] = []
    piece_start = start
    last_good = start
    position = start
    while position < end:
        space = text.find(" ", position + 1, end)
        position = end if space == -1 else space
        if count(text[piece_start:position]) > budget and last_good > piece_start:
            pieces.append((piece_start, last_good))
            piece_start = last_good + 1
        last_good = position
    pieces.append((piece_start, end))
    return pieces


def _pack(text: str, budget: int, count: TokenCounter) -> list[tuple[int, int]]:
    """Greedily group whole sentences into spans of at most ``budget`` word pieces.

    The model's tokenizer splits on white space before it cuts words into pieces, so a span's
    count is the sum of its sentences' counts: each sentence is counted once.
    """
    units: list[tuple[int, int, int]] = []
    for start, end in sentence_spans(text):
        size = count(text[start:end])
        if size > budget:
            units.extend((a, b, count(text[a:b])) for a, b in _split_long(text, start, end, budget, count))
        else:
            units.append((start, end, size))
    groups: list[tuple[int, int]] = []
    group_size = 0
    for start, end, size in units:
        if groups and group_size + size <= budget:
            groups[-1] = (groups[-1][0], end)
            group_size += size
        else:
            groups.append((start, end))
            group_size = size
    return groups


def _merge_scraps(blocks: list[Block], count: TokenCounter) -> list[Block]:
    """Fold very short paragraphs into the next paragraph of the same section, and a run of them
    into one: a title page, a memo's letterhead, a byline and its date ("PROFESSOR OF ENGLISH" /
    "IN CORNELL UNIVERSITY" / "NEW YORK" / "HARCOURT, BRACE AND COMPANY"; "January 24, 2013" /
    "FROM: Joseph G. Jordan" / "SUBJECT: Strategic Plan ...") read as one passage, not as
    scraps each too short to say what it is about. A run long enough stands alone before a
    paragraph of text."""
    merged: list[Block] = []
    pending: Block | None = None  # short paragraphs of one section, joined
    size = 0  # pending's word pieces
    for block in blocks:
        if block.kind == "heading":
            continue
        tokens = count(block.text) if block.kind == "paragraph" else 0
        scrap = block.kind == "paragraph" and tokens < MIN_PARAGRAPH_TOKENS
        if pending is not None:
            same = block.kind == "paragraph" and block.section == pending.section
            if same and scrap:
                pending, size = joined((pending, block), "paragraph", block.section), size + tokens
                continue
            if same and size < MIN_PARAGRAPH_TOKENS:
                block = joined((pending, block), "paragraph", block.section)
            else:
                merged.append(pending)
            pending = None
        if scrap:
            pending, size = block, tokens
            continue
        merged.append(block)
    if pending is not None:
        merged.append(pending)
    return merged


#: "Table 2. Number of spills by state": a table's caption, whose words its rows of figures lack.
_TABLE_CAPTION = re.compile(r"^(?:table|exhibit)\s+[A-Z]?\d+(?:[.-]\d+)?[.:]?\s", re.IGNORECASE)
#: A caption reaches this many blocks on: its column headings, then its rows.
CAPTION_REACH = 4
#: A table's column headings, between its caption and its rows, are a short line.
HEADINGS_WORDS = 20
#: Where a table's row ends in its flattened text: after a figure, before a capitalised label
#: ("... 174 (38%) | Pennsylvania 87 (19%) | Oklahoma ...").
_ROW_BREAK = re.compile(r"(?<=[\d%)])\s+(?=[A-Z][A-Za-z])")


def _tabular(text: str) -> bool:
    """Whether ``text`` reads as rows of a table: at least a third of its words are figures."""
    words = text.split()
    return len(words) >= 6 and sum(any(ch.isdigit() for ch in w) for w in words) * 3 >= len(words)


def _captioned(blocks: list[Block]) -> list[Block]:
    """``blocks`` with each table's rows of figures ("Colorado 174 (38%) Pennsylvania 87 (19%) ...")
    led in by the table's caption and its column headings, the words a question about it uses
    ("How many of the spills were in Pennsylvania?") and the rows never say."""
    out: list[Block] = []
    caption: int | None = None  # where the last caption is in ``out``
    title = ""  # its label and first sentence: "Table 2. Number and percentage of ... by state."
    for block in blocks:
        label = _TABLE_CAPTION.match(block.text) if block.kind == "paragraph" else None
        if label:
            caption = len(out)
            title = block.text[: next((e for _, e in sentence_spans(block.text) if e > label.end()), len(block.text))]
        elif caption is not None and len(out) - caption > CAPTION_REACH:
            caption = None  # (a table's column headings may read as a heading: the section may change)
        elif caption is not None and block.kind == "paragraph" and _tabular(block.text):
            headings = [b.text for b in out[caption + 1:]
                        if b.kind == "paragraph" and len(b.text.split()) <= HEADINGS_WORDS and not _tabular(b.text)]
            block = replace(block, lead_in=" ".join([title, *headings]))
        out.append(block)
    return out


def is_table(kind: str, lead_in: str) -> bool:
    """Whether a passage of ``kind`` with ``lead_in`` is a table's rows of figures: a paragraph
    led in (only :func:`_captioned` gives a paragraph a lead-in, its table's caption)."""
    return kind == "paragraph" and bool(lead_in)


def table_rows(text: str) -> list[tuple[int, int]]:
    """Spans of the rows of a table's flattened text (:data:`_ROW_BREAK`)."""
    breaks = list(_ROW_BREAK.finditer(text))
    return list(zip([0, *(m.end() for m in breaks)], [*(m.start() for m in breaks), len(text)]))


def chunk_blocks(source: str, blocks: Iterable[Block], budget: int, count: TokenCounter) -> list[Chunk]:
    """Cut cleaned blocks of one document into passages.

    Args:
        source: The document's path relative to the corpus.
        blocks: Output of :func:`scoqa.ingest.layout.clean_document`.
        budget: Maximum word pieces of a passage's own text.
        count: Word-piece counter of the embedding model (no special tokens).

    Returns:
        Passages in reading order.
    """
    chunks: list[Chunk] = []
    merged = _captioned(_merge_scraps(list(blocks), count))
    acronyms = find_acronyms(block.text for block in merged)
    for block in merged:
        for start, end in _pack(block.text, budget, count):
            text = block.text[start:end]
            line_start, line_end, page = block.span_of(start, end)
            # An acronym of the document spelled out without it ("Charter of the Shanghai Cooperation
            # Organisation") is indexed beside the passage, so that "the SCO Charter" meets it by
            # its word pieces too, not only through BM25's query expansion.
            indexed = f"{text} ({', '.join(extra)})" if (extra := spelled_out(text, acronyms)) else text
            context = _fit_context(block.section, indexed, block.lead_in, block.date, count)
            chunks.append(
                Chunk(
                    id=_chunk_id(source, line_start, line_end, text),
                    source=source,
                    section=block.section,
                    page=page,
                    line_start=line_start,
                    line_end=line_end,
                    kind=block.kind,
                    text=text,
                    context=context,
                    lead_in=block.lead_in,
                    date=block.date,
                )
            )
    return chunks


def chunk_document(doc: Document, budget: int, count: TokenCounter) -> list[Chunk]:
    """Clean and chunk one document (see :func:`chunk_blocks`); passages of OCR'd pages say so."""
    chunks = chunk_blocks(doc.source, clean_document(doc), budget, count)
    scanned = doc.ocr_pages
    return [replace(c, ocr=True) if c.page in scanned else c for c in chunks] if scanned else chunks
