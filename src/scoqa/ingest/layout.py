"""Undo the damage of PDF text extraction: lines -> :class:`Block` records.

The report in ``corpus/`` was extracted from a PDF: lines are wrapped, page numbers and
footnotes (with URLs) sit between paragraphs, list entries (a ``Month Year`` line followed by its
event, treaties with their dates, exercises) are split over lines, and some lines were lost,
leaving a lone first letter behind. This module rebuilds the reading structure:

* **headings**: short title-case lines after a gap (or ``#`` lines in Markdown);
* **paragraphs**: wrapped lines re-flowed into one text, hyphenation undone;
* **list entries**: after a lead-in line ending with ``:`` (or bullets), one block per entry,
  carrying the lead-in and, for dated lists, the date.

Page numbers, footnotes and footnote markers are dropped so that they never glue onto body text.
Every block keeps the page and line span it came from.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from ..text import MONTH_PATTERN
from .records import Document, Line

#: "April 2001", "June 15, 2002": a line that is only a date heads an entry of a dated list.
DATE_LINE = re.compile(rf"^{MONTH_PATTERN}(?: \d{{1,2}},?)? \d{{4}}$")
PAGE_NUMBER = re.compile(r"^(?:\d{1,3}|[ivxlc]{1,6})$")
#: A line reduced to one letter: the rest of it was lost in extraction.
FRAGMENT = re.compile(r"^[A-Za-z]$")
REFERENCE = re.compile(r"https?://|www\.|\(accessed\b", re.IGNORECASE)
BULLET = re.compile(r"^(?:[-*+•▪◦‣]|\d{1,2}[.)])\s+")
MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*$")
#: "population.1 Apart": a footnote number glued after punctuation.
FOOTNOTE_MARK = re.compile(r"(?<=[a-z][.,;:!?”\"’)])\d{1,2}(?=\s|$)")
FOOTNOTE_MARK_AT_END = re.compile(r"(?<=[a-z]{4})\d$")
#: A line that closes a list entry: sentence punctuation or a trailing year ("June 15, 2002").
#: A table-of-contents line: a title, dot leaders, a page number ("Introduction ....... 1").
TOC_LINE = re.compile(r"(?:\.\s?){4,}\s*(?:\d{1,4}|[ivxlc]{1,6})?\s*$", re.IGNORECASE)
#: The marker that opens a footnote ("12 See ...", "[3] ...", "* ...").
FOOTNOTE_START = re.compile(r"^(?:\d{1,3}|\[\d{1,3}\]|\*)\s")
ENDS_ENTRY = re.compile(r"(?:[.;!?]|\b\d{4}\)?[.;,]?)[\"”’)]?$")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"])")
SMALL_WORDS = frozenset(
    "a an and as at by for from in into is are its of on or the to with via vs".split()
)
#: At most this many lines before a URL/"accessed" line are treated as its footnote.
_MAX_FOOTNOTE_LINES = 6
SECTION_SEPARATOR = " › "


@dataclass(frozen=True)
class Block:
    """A unit of reading: a heading, a paragraph or one list entry.

    Attributes:
        kind: ``"heading"``, ``"paragraph"`` or ``"item"``.
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


@dataclass
class _Token:
    text: str
    line: Line
    blank_before: bool = False
    break_before: bool = False  # a page number or footnote was dropped just before
    fragment_before: bool = False  # a line lost in extraction stood just before
    bullet: bool = False
    heading_level: int = 0  # Markdown '#' count, or the level the format gives a heading
    footnote: bool = False


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


def looks_like_heading(text: str) -> bool:
    """Whether a line has the shape of a title: short, unpunctuated, mostly capitalised."""
    core = text.lstrip("-–— ").strip()
    if not core or len(core) > 80 or ":" in core or core[-1] in ".,;:!?":
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


def last_sentences(text: str, count: int = 2, max_words: int = 45) -> str:
    """The last ``count`` sentences of ``text``, cut to at most ``max_words`` words."""
    sentences = SENTENCE_END.split(text)
    tail = " ".join(sentences[-count:])
    words = tail.split()
    return " ".join(words[-max_words:])


def _typical_width(lines: list[str]) -> float:
    # Lines over 100 characters are extraction merges, not typeset lines.
    lengths = [len(t) for t in lines if 20 <= len(t) <= 100]
    if len(lengths) < 5:
        return 80.0
    return statistics.quantiles(lengths, n=10)[-1]


def _footnote_lines(lines: list[Line]) -> set[int]:
    """Indices of lines that belong to footnotes: a run of lines ending in a URL/"accessed" line.

    Only lines the reader left unmarked are judged: a line it gave a role (a footnote it saw by
    its font, a running header) is not this guess's business and ends a run.
    """
    dropped: set[int] = set()
    run: list[int] = []

    def close_run() -> None:
        refs = [k for k, idx in enumerate(run) if REFERENCE.search(lines[idx].text)]
        if refs and refs[-1] < _MAX_FOOTNOTE_LINES:
            end = refs[-1]
            span = " ".join(lines[idx].text for idx in run[: end + 1])
            # A citation's "(accessed" may close on the next line.
            while span.count("(") > span.count(")") and end + 1 < len(run):
                end += 1
                span += " " + lines[run[end]].text
            dropped.update(run[: end + 1])
        run.clear()

    for idx, line in enumerate(lines):
        text = normalise(line.text)
        if not text or line.role or PAGE_NUMBER.match(text):
            close_run()
        else:
            run.append(idx)
    close_run()
    return dropped


def _tokens(doc: Document) -> list[_Token]:
    """The document's non-empty lines as tokens; what the format or the layout marks as page
    furniture (running headers, page numbers, table-of-contents lines) is dropped and leaves a break."""
    lines = list(doc.lines)
    markdown = doc.kind == "markdown"
    guess = not doc.structured  # plain text and PDF: page numbers, footnotes and lost lines by their shape
    dropped = _footnote_lines(lines) if guess else set()
    tokens: list[_Token] = []
    blank = brk = frag = False
    for idx, line in enumerate(lines):
        text = normalise(line.text)
        if not text:
            blank = True
            continue
        if line.role in ("furniture", "toc") or idx in dropped or (
            guess and not line.role and (PAGE_NUMBER.match(text) or TOC_LINE.search(text))
        ):
            brk = True
            continue
        if guess and not line.role and FRAGMENT.match(text):
            frag = True
            continue
        token = _Token(text, line, blank, brk, frag)
        if line.role == "heading":
            token.heading_level = max(line.level, 1)
        elif line.role == "footnote":
            token.footnote = True
        elif line.role == "item":
            token.bullet = True
        elif markdown and (heading := MD_HEADING.match(text)):
            token.text, token.heading_level = heading.group(2), len(heading.group(1))
        elif line.role != "body" and (bullet := BULLET.match(text)):
            if not DATE_LINE.match(text):
                token.text, token.bullet = text[bullet.end():], True
        if token.text:
            tokens.append(token)
        # Body text that resumes after a footnote continues across it, as across a page number.
        blank = frag = False
        brk = token.footnote
    return tokens


class _LayoutReader:
    """A small state machine over tokens: paragraph, list or dated-list mode."""

    def __init__(self, tokens: list[_Token], width: float, structured: bool, guess_headings: bool,
                 vocabulary: frozenset[str] | None = None) -> None:
        self.tokens = tokens
        self.width = width
        self.structured = structured  # the format marks headings and list entries itself
        self.guess_headings = guess_headings  # headings from line shapes (plain text, PDFs without font cues)
        self.vocabulary = vocabulary
        self.blocks: list[Block] = []
        self.section = ""
        self.headings: list[tuple[int, str]] = []  # heading stack of the levels the format gives
        self.note: list[_Token] = []  # the footnote being read
        self.recurring: set[str] = set()  # the shape of the numbered headings that open each chapter
        self.buf: list[_Token] = []
        self.mode = "para"  # para | list-start | items | dated
        self.lead_in = ""
        self.date = ""

    # -- emitting -----------------------------------------------------------------
    def _emit(self, kind: str, parts: list[_Token], **extra: str) -> None:
        text, starts = reflow([t.text for t in parts], self.vocabulary)
        if not text.strip():
            return
        line_map = tuple((start, t.line.lineno, t.line.page) for start, t in zip(starts, parts))
        first, last = parts[0].line, parts[-1].line
        self.blocks.append(
            Block(kind, text, self.section, first.page, first.lineno, last.lineno, line_map=line_map, **extra)
        )

    def _flush(self) -> None:
        if self.buf:
            if self.mode in ("items", "dated"):
                self._emit("item", self.buf, lead_in=self.lead_in, date=self.date)
            else:
                self._emit("paragraph", self.buf)
        elif self.mode == "dated" and self.date:
            # A date whose event line was lost still says something.
            pass
        self.buf = []

    def _end_list(self) -> None:
        self._flush()
        self.mode, self.lead_in, self.date = "para", "", ""

    def _heading(self, tok: _Token) -> None:
        self._end_list()
        last = self.blocks[-1] if self.blocks else None
        if not tok.heading_level and self.recurring:
            # A document whose chapters open alike ("FEDERALIST No. 10", "CHAPTER IV"): those
            # headings are its top level; a run of headings under one (title, dateline, author)
            # nests, and a heading after body text starts a new sub-section.
            if heading_shape(tok.text) in self.recurring:
                tok.heading_level = 1
            else:
                nested = last is not None and last.kind == "heading" and self.headings
                tok.heading_level = self.headings[-1][0] + 1 if nested else 2
        if tok.heading_level:
            level = tok.heading_level
            self.headings = [h for h in self.headings if h[0] < level] + [(level, tok.text)]
            self.section = SECTION_SEPARATOR.join(h for _, h in self.headings)
        elif last is not None and last.kind == "heading" and not tok.blank_before and not tok.break_before \
                and len(tok.text.split()) <= 2:
            # A title wrapped over two lines: "Practices and Achievements of Counter-Terrorism / Cooperation".
            self.blocks.pop()
            tok_text = join_lines([last.text, tok.text], self.vocabulary)
            self.section = SECTION_SEPARATOR.join(filter(None, [self._parent_of(last), tok_text]))
            self.blocks.append(Block("heading", tok_text, self.section, last.page, last.line_start, tok.line.lineno))
            return
        elif last is not None and last.kind == "heading":
            # Two headings in a row: the second is a sub-section of the first.
            self.section = SECTION_SEPARATOR.join([last.section, tok.text]) if last.section else tok.text
        else:
            self.section = tok.text
        self.blocks.append(Block("heading", tok.text, self.section, tok.line.page, tok.line.lineno, tok.line.lineno))

    @staticmethod
    def _parent_of(heading: Block) -> str:
        parts = heading.section.split(SECTION_SEPARATOR)
        return SECTION_SEPARATOR.join(parts[:-1])

    # -- decisions ----------------------------------------------------------------
    def _is_heading(self, i: int) -> bool:
        tok = self.tokens[i]
        if tok.heading_level or not self.guess_headings:
            return tok.heading_level > 0
        last = self.blocks[-1] if self.blocks else None
        if self.recurring and not self.buf and last is not None and last.kind == "heading" and title_case(tok.text):
            return True  # a chapter's long title under its number ("The Structure of the Government Must ...")
        if tok.bullet or not looks_like_heading(tok.text) or len(tok.text) > 0.9 * self.width:
            return False
        after_gap = tok.blank_before or tok.break_before or i == 0
        after_heading = not self.buf and last is not None and last.kind == "heading" and self.mode == "para"
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

    def _ends_entry(self, prev: str, nxt: str) -> bool:
        """Whether ``prev`` closes a list entry, judged by punctuation or by a line ending early."""
        if ENDS_ENTRY.search(prev):
            return True
        if prev.split()[-1] in SMALL_WORDS:  # "... Organisation on" / "March 27, 2009"
            return False
        first_word = nxt.split()[0]
        entry_first_word = self.buf[0].text.split()[0] if self.buf else ""
        if first_word == entry_first_word:
            # Entries of one list often open alike ("Declaration of ...", "On July 10, ..."), and a
            # line merged by extraction cannot be measured: trust the parallel.
            return True
        # If the next word would have fit on the line, the line ended on purpose.
        return len(prev) + 1 + len(first_word) < 0.9 * self.width

    # -- the walk -----------------------------------------------------------------
    def read(self) -> list[Block]:
        if self.guess_headings:
            shapes = Counter(heading_shape(t.text) for t in self.tokens
                             if not t.bullet and looks_like_heading(t.text) and re.search(r"\d|\b[IVXLC]+\b", t.text))
            # The most frequent one: datelines and bylines under each chapter recur too, less often.
            top = shapes.most_common(1)
            self.recurring = {top[0][0]} if top and top[0][1] >= RECURRING_HEADINGS else set()
        for i, tok in enumerate(self.tokens):
            if tok.footnote:
                self._footnote(tok)
            else:
                self._end_note()
                self._step(i, tok)
        self._end_note()
        self._end_list()
        return self.blocks

    def _footnote(self, tok: _Token) -> None:
        """Footnotes are blocks of their own, read beside the body: a paragraph that a page's
        footnotes interrupt goes on after them."""
        if self.note and (tok.blank_before or FOOTNOTE_START.match(tok.text)):
            self._end_note()
        self.note.append(tok)

    def _end_note(self) -> None:
        if self.note:
            parts, self.note = self.note, []
            self._emit("footnote", parts)

    def _step(self, i: int, tok: _Token) -> None:
        gap = tok.blank_before or tok.break_before
        if self.mode == "list-start":
            if self._is_heading(i):
                self._heading(tok)
                return
            self.mode = "dated" if DATE_LINE.match(tok.text) and not self.structured else "items"
            self.date = ""
        if self.mode == "dated":
            if DATE_LINE.match(tok.text):
                self._flush()
                self.date = tok.text
                return
            if not (gap and self.buf) and not self._is_heading(i):
                self.buf.append(tok)
                return
            self._end_list()
        elif self.mode == "items":
            if self._is_heading(i):
                self._heading(tok)
                return
            continues = not gap or tok.fragment_before or tok.bullet or (tok.break_before and not tok.blank_before)
            if self.structured:
                continues = tok.bullet or (not gap and bool(self.buf))
            if continues:
                prev = self.buf[-1].text if self.buf else ""
                new_entry = (
                    not self.buf
                    or tok.bullet
                    or tok.fragment_before
                    or (not self.structured and tok.text[:1].isupper() and self._ends_entry(prev, tok.text))
                )
                if new_entry:
                    self._flush()
                self.buf.append(tok)
                return
            self._end_list()
        # paragraph mode
        if self._is_heading(i):
            self._heading(tok)
            return
        if tok.bullet:
            self._flush()
            previous = self.blocks[-1] if self.blocks else None
            self.lead_in = last_sentences(previous.text) if previous and previous.text.endswith(":") else ""
            self.mode, self.date = "items", ""
            self.buf.append(tok)
            return
        if gap and self.buf and not (tok.break_before and tok.text[:1].islower()):
            self._flush()
        self.buf.append(tok)
        if tok.text.endswith(":"):
            self._flush()
            self.lead_in = last_sentences(self.blocks[-1].text) if self.blocks else ""
            self.mode = "list-start"


def clean_document(doc: Document) -> list[Block]:
    """Turn a document's extracted lines into headings, paragraphs and list entries.

    Args:
        doc: A document from :func:`scoqa.ingest.read_document`.

    Returns:
        Blocks in reading order, each with its section, page and line span.
    """
    tokens = _tokens(doc)
    width = _typical_width([t.text for t in tokens])
    guess_headings = not doc.structured and not any(line.role == "heading" for line in doc.lines)
    vocabulary = document_words(line.text for line in doc.lines)
    return _LayoutReader(tokens, width, doc.structured, guess_headings, vocabulary).read()
