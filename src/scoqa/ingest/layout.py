"""A document's lines -> :class:`Block` records: headings, paragraphs, list entries, footnotes.

Text extracted from a PDF (or typed with hard line breaks) has lost its reading structure: lines
are wrapped, page numbers and footnotes (with URLs) sit between paragraphs, list entries (a
``Month Year`` line followed by its event, treaties with their dates, exercises) are split over
lines. This module rebuilds it from the document's tokens (:mod:`.lines`: the non-empty lines
with what the format or their shape says of them, page furniture dropped):

* **headings**: what the format marks as one (``#`` in Markdown, a heading font in a PDF), else
  short title-case lines after a gap; each block carries the path of headings it sits under;
* **paragraphs**: wrapped lines re-flowed into one text (:mod:`.reflow`), hyphenation undone;
* **list entries**: after a lead-in line ending with ``:`` (or bullets), one block per entry,
  carrying the lead-in and, for dated lists, the date;
* **footnotes**: blocks of their own, so that they never glue onto body text.

Every block keeps the page and line span it came from.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from .lines import Token, level_appendices, mark_numbered_headings, read_tokens
from .records import Document
from .reflow import document_words, join_lines, reflow
from .shapes import (DATE_LINE, FOOTNOTE_START, LEADER, chapter_shapes, ends_entry, heading_shape, last_sentences,
                     looks_like_heading, title_case, typical_width)

SECTION_SEPARATOR = " › "


@dataclass(frozen=True)
class Block:
    """A unit of reading: a heading, a paragraph or one list entry.

    Attributes:
        kind: ``"heading"``, ``"paragraph"``, ``"item"``, ``"footnote"`` or ``"title"`` (a title
            page set in headings).
        text: Re-flowed text as it reads in the report.
        section: Heading(s) the block sits under ("" before the first heading).
        page: First page (PDF), else None.
        line_start: First source line (1-based, inclusive).
        line_end: Last source line (inclusive).
        lead_in: For list entries, the sentence that introduces the list.
        date: For entries of a dated list, their date line ("September 2004").
    """

    kind: str
    text: str
    section: str
    page: int | None
    line_start: int
    line_end: int
    lead_in: str = ""
    date: str = ""
    #: (offset in ``text``, source line number, page) for each source line of the block.
    line_map: tuple[tuple[int, int, int | None], ...] = ()

    def span_of(self, start: int, end: int) -> tuple[int, int, int | None]:
        """Source line span and first page of the text between two character offsets."""
        first = last = self.line_map[0] if self.line_map else (0, self.line_start, self.page)
        for entry in self.line_map:
            if entry[0] <= start:
                first = entry
            if entry[0] < end:
                last = entry
        return first[1], max(first[1], last[1]), first[2]


def clean_document(doc: Document) -> list[Block]:
    """Turn a document's extracted lines into headings, paragraphs and list entries.

    Args:
        doc: A document from :func:`scoqa.ingest.read_document`.

    Returns:
        Blocks in reading order, each with its section, page and line span.
    """
    tokens = read_tokens(doc)
    width = typical_width([t.text for t in tokens])
    guess_headings = not doc.structured and not any(line.role == "heading" for line in doc.lines)
    if not doc.structured:
        mark_numbered_headings(tokens, ("", "body") if doc.kind == "pdf" else ("",))
        level_appendices(tokens)
    vocabulary = document_words(line.text for line in doc.lines)
    margin = body_margin(tokens) if doc.kind == "text" else None
    return _unheaded_as_text(_without_back_index(
        _LayoutReader(tokens, width, doc.structured, guess_headings, vocabulary, margin).read()))


#: A plain-text line indented past the body's margin by at least SET_IN columns and less than
#: CENTRED is an example, a quote or code set in ("  Charles's friend", "        GET /chat
#: HTTP/1.1"), never a heading; one indented further is centred, as titles often are, and a
#: single column is the noise of text extracted from a PDF (" Executive Summary").
SET_IN = 2
#: Words set apart by a run of spaces: a row of a table laid out in columns, not a title.
COLUMNS = re.compile(r"\S {4,}\S")
CENTRED = 10


def indentation(text: str) -> int:
    """The columns of white space a line opens with (a tab to the next multiple of 8)."""
    text = text.expandtabs(8)
    return len(text) - len(text.lstrip(" "))


def body_margin(tokens: list[Token]) -> int:
    """The indentation most of a plain text's lines have: 0 for most books, 3 for an RFC."""
    counts = Counter(indentation(t.line.text) for t in tokens)
    return counts.most_common(1)[0][0] if counts else 0


#: A back-of-book index's heading: "INDEX", "General Index", "INDEX OF CHARACTERS".
_INDEX_HEADING = re.compile(r"^(?:general |alphabetical |subject )?index\b", re.IGNORECASE)
#: A contents page's heading ("CONTENTS", "Table of Contents"); its entries, set without dot
#: leaders ("Place the emphatic words of a sentence at the end      31"), end in a page number
#: as an index's do, and the section under it ("CONTENTS > Page") goes with it.
_CONTENTS_HEADING = re.compile(r"^(?:table of )?contents\.?$", re.IGNORECASE)
#: An index entry ends with its page references ("Bagpipes, 5, 44", "Birch-bark records | 286-289"),
#: or is a letter that heads a group of entries.
_INDEX_ENTRY = re.compile(r"(?:\b\d{1,4}(?:[-–]\d{1,4})?[.,;]?\s*)$|^[A-Z]\.?$")
#: Share of a section's blocks that must look like index entries.
INDEX_SHARE = 0.6


#: The front matter (title page, byline) ends before the third paragraph this long: the first
#: two may be an e-book's licence header or a transcriber's note.
FRONT_MATTER_WORDS = 25
FRONT_MATTER_PARAGRAPHS = 3


def _heads(heading: Block, block: Block) -> bool:
    """Whether ``heading`` is on the path of the sections ``block`` sits in."""
    return block.section == heading.section or block.section.startswith(heading.section + SECTION_SEPARATOR)


def _unheaded_as_text(blocks: list[Block]) -> list[Block]:
    """The blocks, with a title page set in headings read as a paragraph ("CONTRIBUTION" / "TO" /
    "PASSAMAQUODDY FOLK-LORE" / "By J. WALTER FEWKES" / "Reprinted from the Journal of American
    Folk-Lore, October-December, 1890"), as a cover's authors or an RFC's closing "Author's
    Address". Each of those headings is replaced by the next before any text comes under it, so
    its words were in no passage and on no section path.

    Only the front matter (the runs of headings before the third paragraph of
    :data:`FRONT_MATTER_WORDS` words or more) and the run that ends the document are read so: in
    the body, a heading with nothing under it is a label ("Part II.—COMBAT."). Of a run, the
    headings from the first that heads nothing to the last that heads nothing make one paragraph,
    in the section above the first; a contents page's or an index's headings and a single word
    stay headings.
    """
    out: list[Block] = []
    run: list[Block] = []
    long_paragraphs = 0
    for block in [*blocks, None]:
        if block is not None and block.kind == "heading":
            run.append(block)
            continue
        # A title page ends where its contents page begins ("BY" / "W. J. HOFFMAN." / "CONTENTS."),
        # and an index's headings are no author's address.
        cut = next((n for n, h in enumerate(run) if any(_CONTENTS_HEADING.match(part.strip()) or _INDEX_HEADING.match(
            part.strip()) for part in h.section.split(SECTION_SEPARATOR))), len(run))
        empty = [n for n, h in enumerate(run[:cut]) if block is None or not _heads(h, block)]
        if empty and (long_paragraphs < FRONT_MATTER_PARAGRAPHS or block is None):
            first, last = empty[0], empty[-1]
            page = run[first:last + 1]
            text = " ".join(h.text for h in page)
            if len(text.split()) >= 2 and not LEADER.search(text):
                parent = run[first].section.rpartition(SECTION_SEPARATOR)[0]
                # A title block: searched, but quoted only to say who wrote a document or when.
                run = [*run[:first], joined(page, "title", parent), *run[last + 1:]]
        out.extend(run)
        run = []
        if block is not None:
            out.append(block)
            long_paragraphs += block.kind == "paragraph" and len(block.text.split()) >= FRONT_MATTER_WORDS
    return out


def joined(blocks: Sequence[Block], kind: str, section: str) -> Block:
    """``blocks`` read as one block of ``kind`` in ``section``: their texts joined by a space, each
    source line kept where its text now starts (a heading, which has no line map, by its first)."""
    text, line_map = "", []
    for block in blocks:
        offset = len(text) + (1 if text else 0)
        entries = block.line_map or ((0, block.line_start, block.page),)
        line_map.extend((o + offset, n, pg) for o, n, pg in entries)
        text = f"{text} {block.text}" if text else block.text
    first, last = blocks[0], blocks[-1]
    return Block(kind, text, section, first.page, first.line_start, last.line_end, line_map=tuple(line_map))


def _without_back_index(blocks: list[Block]) -> list[Block]:
    """The blocks without those of a back-of-book index or a contents page: their entries
    ("Bagpipes, 5, 44") name pages of a printed book, short lines that match a name and say
    nothing of it, not text to search or quote."""
    sections: dict[str, list[Block]] = {}
    for block in blocks:
        if block.kind != "heading":
            sections.setdefault(block.section, []).append(block)
    dropped = {
        section for section, members in sections.items()
        if (_INDEX_HEADING.match(section.rsplit(SECTION_SEPARATOR, 1)[-1].strip())
            or any(_CONTENTS_HEADING.match(part.strip()) for part in section.split(SECTION_SEPARATOR)))
        and sum(bool(_INDEX_ENTRY.search(b.text.strip())) for b in members) >= INDEX_SHARE * len(members)
    }
    return [b for b in blocks if b.section not in dropped or b.kind == "heading"] if dropped else blocks


class _Mode(Enum):
    """What the reader is in the middle of."""

    PARAGRAPH = "paragraph"
    #: Just after a lead-in ending with ":": the next line says which kind of list follows.
    LIST_START = "list-start"
    #: List entries, each opened by a bullet or by a line that begins a new entry.
    ITEMS = "items"
    #: Entries each headed by a date line ("April 2001"), in plain text and PDFs.
    DATED = "dated"


class _LayoutReader:
    """Assembles blocks from tokens, one token at a time, keeping the section path."""

    def __init__(self, tokens: list[Token], width: float, structured: bool, guess_headings: bool,
                 vocabulary: frozenset[str] | None = None, margin: int | None = None) -> None:
        self.tokens = tokens
        self.width = width
        self.structured = structured  # the format marks headings and list entries itself
        self.guess_headings = guess_headings  # headings from line shapes (plain text, PDFs without font cues)
        self.vocabulary = vocabulary
        self.blocks: list[Block] = []
        self.section = ""
        self.headings: list[tuple[int, str]] = []  # heading stack of the levels the format gives
        self.note: list[Token] = []  # the footnote being read
        self.chapters: set[str] = set()  # the shape of the numbered headings that open each chapter
        self.margin = margin  # plain text: the body's indentation (see body_margin); else None
        self.buf: list[Token] = []  # the paragraph or list entry being read
        self.mode = _Mode.PARAGRAPH
        self.lead_in = ""
        self.date = ""

    def read(self) -> list[Block]:
        """The blocks of all tokens, in reading order."""
        if self.guess_headings:
            self.chapters = chapter_shapes(t.text for t in self.tokens if not t.bullet)
        for i, tok in enumerate(self.tokens):
            if tok.footnote:
                self._footnote(tok)
            else:
                self._end_note()
                self._step(i, tok)
        self._end_note()
        self._end_list()
        return self.blocks

    # -- one token ----------------------------------------------------------------
    def _step(self, i: int, tok: Token) -> None:
        gap = tok.blank_before or tok.break_before
        if self.mode is _Mode.LIST_START:
            if self._is_heading(i):
                self._heading(tok)
                return
            self.mode = _Mode.DATED if DATE_LINE.match(tok.text) and not self.structured else _Mode.ITEMS
            self.date = ""
        # A token that does not continue the list ends it and is read as body text.
        if self.mode is _Mode.DATED and self._dated_entry(i, tok, gap):
            return
        if self.mode is _Mode.ITEMS and self._list_entry(i, tok, gap):
            return
        self._paragraph(i, tok, gap)

    def _dated_entry(self, i: int, tok: Token, gap: bool) -> bool:
        """Read ``tok`` into a dated list: a date opens the next entry, other lines go on with the
        entry until a gap or a heading. Returns False, the list ended, when it does not belong."""
        if DATE_LINE.match(tok.text):
            self._flush()
            self.date = tok.text
            return True
        if not (gap and self.buf) and not self._is_heading(i):
            self.buf.append(tok)
            return True
        self._end_list()
        return False

    def _list_entry(self, i: int, tok: Token, gap: bool) -> bool:
        """Read ``tok`` into a list: a bullet, a line after a lost one, or (plain text and PDF) a
        capitalised line after one that closed an entry opens the next entry. Returns False, the
        list ended, when it does not belong."""
        if self._is_heading(i):
            self._heading(tok)
            return True
        if self.structured:
            continues = tok.bullet or (not gap and bool(self.buf))
        else:
            continues = not gap or tok.fragment_before or tok.bullet or (tok.break_before and not tok.blank_before)
        if not continues:
            self._end_list()
            return False
        new_entry = (
            not self.buf
            or tok.bullet
            or tok.fragment_before
            or (not self.structured and tok.text[:1].isupper()
                and ends_entry(self.buf[-1].text, tok.text, self.buf[0].text.split()[0], self.width))
        )
        if new_entry:
            self._flush()
        self.buf.append(tok)
        return True

    def _paragraph(self, i: int, tok: Token, gap: bool) -> None:
        """Read ``tok`` as body text: a heading, a bullet that starts a list, or a paragraph line;
        a paragraph ending with ":" is the lead-in of a list."""
        if self._is_heading(i):
            self._heading(tok)
            return
        if tok.bullet:
            self._flush()
            previous = self.blocks[-1] if self.blocks else None
            self.lead_in = last_sentences(previous.text) if previous and previous.text.endswith(":") else ""
            self.mode, self.date = _Mode.ITEMS, ""
            self.buf.append(tok)
            return
        # A gap ends the paragraph, unless a page break fell in the middle of a sentence.
        if gap and self.buf and not (tok.break_before and tok.text[:1].islower()):
            self._flush()
        self.buf.append(tok)
        if tok.text.endswith(":"):
            self._flush()
            self.lead_in = last_sentences(self.blocks[-1].text) if self.blocks else ""
            self.mode = _Mode.LIST_START

    def _is_heading(self, i: int) -> bool:
        """Whether token ``i`` is a heading: as the format marks it, else (plain text, PDFs without
        heading fonts) by its shape and what stands around it."""
        tok = self.tokens[i]
        if tok.heading_level or not self.guess_headings:
            return tok.heading_level > 0
        last = self.blocks[-1] if self.blocks else None
        if self.chapters and not self.buf and last is not None and last.kind == "heading" and title_case(tok.text):
            return True  # a chapter's long title under its number ("The Structure of the Government Must ...")
        if tok.bullet or not looks_like_heading(tok.text) or len(tok.text) > 0.9 * self.width:
            return False
        if COLUMNS.search(tok.text):
            return False  # a table's row set in columns ("MX              15 mail exchange")
        if self.margin is not None and self.margin + SET_IN <= indentation(tok.line.text) < self.margin + CENTRED:
            return False  # set in from the text: an example or a quotation
        after_gap = tok.blank_before or tok.break_before or i == 0
        after_heading = not self.buf and last is not None and last.kind == "heading" and self.mode is _Mode.PARAGRAPH
        # A page break can swallow the blank line before a title: accept a short title line
        # right after a finished sentence.
        after_sentence = bool(self.buf) and self.buf[-1].text.endswith(".") and len(tok.text) < 0.6 * self.width
        if not (after_gap or after_heading or after_sentence):
            return False
        nxt = self.tokens[i + 1] if i + 1 < len(self.tokens) else None
        # A title is followed by a gap or by a capitalised line, never by the rest of its sentence.
        if nxt is not None and not (nxt.blank_before or nxt.break_before) and nxt.text[:1].islower():
            return False
        return not after_sentence or after_gap or (nxt is not None and nxt.text[:1].isupper())

    # -- footnotes ----------------------------------------------------------------
    def _footnote(self, tok: Token) -> None:
        """Footnotes are blocks of their own, read beside the body: a paragraph that a page's
        footnotes interrupt goes on after them."""
        if self.note and (tok.blank_before or FOOTNOTE_START.match(tok.text)):
            self._end_note()
        self.note.append(tok)

    def _end_note(self) -> None:
        if self.note:
            parts, self.note = self.note, []
            self._emit("footnote", parts)

    # -- headings and sections ----------------------------------------------------
    def _heading(self, tok: Token) -> None:
        """Emit a heading and make it the current section."""
        self._end_list()
        last = self.blocks[-1] if self.blocks else None
        level = self._level_of(tok, last)
        if level:
            self.headings = [h for h in self.headings if h[0] < level] + [(level, tok.text)]
            self.section = SECTION_SEPARATOR.join(h for _, h in self.headings)
        elif last is not None and last.kind == "heading" and not tok.blank_before and not tok.break_before \
                and len(tok.text.split()) <= 2:
            # A title wrapped over two lines: "Practices and Achievements of Counter-Terrorism / Cooperation".
            self.blocks.pop()
            text = join_lines([last.text, tok.text], self.vocabulary)
            self.section = SECTION_SEPARATOR.join(filter(None, [_parent_of(last), text]))
            self.blocks.append(Block("heading", text, self.section, last.page, last.line_start, tok.line.lineno))
            return
        elif last is not None and last.kind == "heading":
            # Two headings in a row: the second is a sub-section of the first.
            self.section = SECTION_SEPARATOR.join([last.section, tok.text]) if last.section else tok.text
        else:
            self.section = tok.text
        self.blocks.append(Block("heading", tok.text, self.section, tok.line.page, tok.line.lineno, tok.line.lineno))

    def _level_of(self, tok: Token, last: Block | None) -> int:
        """The heading's level: as the format gives it; in a document whose chapters open alike
        ("FEDERALIST No. 10", "CHAPTER IV"), 1 for those, and below them a run of headings under
        one (title, dateline, author) nests while a heading after body text starts a new
        sub-section; else 0 (unknown)."""
        if tok.heading_level or not self.chapters:
            return tok.heading_level
        if heading_shape(tok.text) in self.chapters:
            return 1
        nested = last is not None and last.kind == "heading" and self.headings
        return self.headings[-1][0] + 1 if nested else 2

    # -- emitting -----------------------------------------------------------------
    def _emit(self, kind: str, parts: list[Token], **extra: str) -> None:
        text, starts = reflow([t.text for t in parts], self.vocabulary)
        if not text.strip():
            return
        line_map = tuple((start, t.line.lineno, t.line.page) for start, t in zip(starts, parts))
        first, last = parts[0].line, parts[-1].line
        self.blocks.append(
            Block(kind, text, self.section, first.page, first.lineno, last.lineno, line_map=line_map, **extra)
        )

    def _flush(self) -> None:
        """Emit the paragraph or list entry being read."""
        if self.buf:
            if self.mode in (_Mode.ITEMS, _Mode.DATED):
                self._emit("item", self.buf, lead_in=self.lead_in, date=self.date)
            else:
                self._emit("paragraph", self.buf)
        self.buf = []

    def _end_list(self) -> None:
        self._flush()
        self.mode, self.lead_in, self.date = _Mode.PARAGRAPH, "", ""


def _parent_of(heading: Block) -> str:
    """The section path above a heading."""
    parts = heading.section.split(SECTION_SEPARATOR)
    return SECTION_SEPARATOR.join(parts[:-1])
