"""PDF: pages -> lines with their page numbers and the roles the typesetting reveals (pypdf).

pypdf's plain ``extract_text`` gets the reading order right for the PDFs we see (Word and LaTeX
write each column in order), so its lines and text are kept as they are and only *measured*: with
``visitor_text`` it reports each run it prints with font, size and matrices, and the runs add up
to exactly its text, so every line gets its position, effective size and weight in the same single
pass (~2 s for a 39-page report; pdfminer-style layout analysis would be slower and another
dependency). Then, over the whole document and naming no document:

* body size: the size most characters have (unless that text sits below a larger common size on
  its pages: footnotes outweighing the text);
* furniture: a line (digits removed) among the top or bottom few lines of many pages, at one size
  and place, or a lone page number there; contents: dot-leader lines ("Introduction .... 1");
* footnotes: the block of clearly smaller lines at a page's bottom, from its first numbered line;
* headings: clearly larger lines and short bold lines standing alone, ranked by size (sizes used
  for one title only share level 1), and the lines the outline names, at its depth;
* paragraphs: an empty line where baselines are clearly further apart than the usual spacing of
  their size, where the kind of text changes, at an indented first line, or at a page or column
  break after a short line that ends a sentence.

Text in one size and weight gets no heading or body roles: the layout stage then guesses headings
from line shapes, as for plain text.
"""

from __future__ import annotations

import io
import logging
import math
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .records import Line, SourceError
from .shapes import running_key

if TYPE_CHECKING:
    from pypdf import PageObject, PdfReader

    from .ocr import PageOCR

_BOLD = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)
_TOC = re.compile(r"(?:(?:\.\s?){4,}|…{2,}|(?:\s\.){3,})\s*(?:\d{1,4}|[ivxlcdm]{1,7})\s*$", re.IGNORECASE)
_PAGE_NUMBER = re.compile(r"^(?:page\s+)?[-–—]?\s*(?:(?:[A-Z]{1,3}|\d{1,2})[-–.])?(?:\d{1,4}|[ivxlcdm]{1,7})\s*[-–—]?"
                          r"(?:\s*(?:of|/)\s*\d{1,4})?$",
                          re.IGNORECASE)
#: A run of the digits of a note reference (one to three digits, alone in its run).
_MARK = re.compile(r"^\s*\d{1,3}\s*$")
#: A page whose small-type block at the bottom holds more than this share of its lines is set in
#: small type (NIST's Framework Core table, SP 800-122's glossary table), not footnoted: such
#: pages after one with a note were all read as notes. 0.7-0.9 read every PDF of the sets alike;
#: at 0.6 and below, pages of a CRS report whose notes run longer than its text lose their notes.
FOOTNOTE_SHARE = 0.8
_NOTE_START = re.compile(r"^(?:\d{1,3}|\[\d{1,3}\]|[*†‡§])[\s.)]*\S")
_BULLET = re.compile(r"^[•◦▪▫‣●○■□◆◇►▸➢✓\uf000-\uf0ff–-]\s+")  # U+F0xx: Symbol/Wingdings bullets
_NUMBERED = re.compile(r"^(?:\d{1,2}|[a-z])[.)]\s")
_CAPTION = re.compile(r"^(?:fig(?:ure)?|table|chart|exhibit|map|box|plate)\.?\s*[\dIVX]+[.:]?\s", re.IGNORECASE)
_ENDS_SENTENCE = re.compile(r"[.!?:;][\"”’)]?\d{0,3}$")  # a footnote number may follow
ZONE = 3  # the "top or bottom few lines" of a page, where running headers and footers sit
SMALL, LARGE = 0.88, 1.12  # size ratios to the body size that are clearly smaller / larger
TEXT = ("", "body", "item", "heading")  # roles of the running text (not notes, contents, furniture)


@dataclass
class _Row:
    """One output line of pypdf with what its runs say about it."""

    text: str
    page: int
    x: float | None = None
    y: float | None = None  # baseline of the line's main size (superscripts sit higher)
    size: float = 0.0
    bold: bool = False
    role: str = ""
    level: int = 0  # negative while it is the outline's own level
    runs: list[tuple[int, float, float, float, bool]] = field(default_factory=list)  # chars, x, y, size, bold
    marks: list[tuple[int, int, float, float]] = field(default_factory=list)  # start, end, y, size of digit runs
    ocr: bool = False  # read from a picture of the page
    opens: bool = False  # OCR saw a paragraph start here


def pdf_lines(data: bytes, ocr: PageOCR | None = None) -> tuple[tuple[Line, ...], str]:
    """Read a PDF's lines with their roles.

    Args:
        data: The file's bytes.
        ocr: Reads the pages that have no text layer but a picture (scans); None leaves them out.

    Returns:
        The lines page by page in reading order (an empty line between paragraphs, ``lineno``
        counted within the page) and the title the metadata gives ("" if none).

    Raises:
        SourceError: for a file pypdf cannot open, an encrypted one or one without a text layer.
    """
    # pypdf is imported here so that text-only use never pays for it.
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    # pypdf logs its own warnings on damaged files; the one SourceProblem line below replaces them.
    logging.getLogger("pypdf").setLevel(logging.ERROR)

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise SourceError("encrypted PDF with a password; save an unencrypted copy")
        pages = [_page_rows(page, number) for number, page in enumerate(reader.pages, start=1)]
    except SourceError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise SourceError(f"unreadable PDF ({type(exc).__name__}: {exc}); is the file complete?") from None
    except Exception as exc:  # pypdf raises many kinds on damaged files; none may stop the build
        raise SourceError(f"unreadable PDF ({type(exc).__name__}: {exc})") from None
    blank = [number for number, rows in enumerate(pages, start=1) if not rows]
    scanned = _read_scans(data, blank, pages, ocr) if blank and ocr is not None else []
    if not any(row.text for rows in pages for row in rows):
        if ocr is None:
            raise SourceError("PDF has no text layer (scanned pages?); run OCR on it first, or install "
                              "tesseract-ocr so that scoqa does (SCOQA_OCR=auto)")
        if scanned:
            raise SourceError(f"PDF has no text layer, and OCR found no text on its {len(scanned)} scanned page(s)")
        raise SourceError("PDF has no text layer (scanned pages?) and no page picture to read with OCR")
    return _layout(pages, _outline(reader)), _title(reader)


def _read_scans(data: bytes, blank: list[int], pages: list[list[_Row]], ocr: PageOCR) -> list[int]:
    """Read the ``blank`` pages (no text layer) that show a picture with OCR, into ``pages``.

    Tesseract separates paragraphs with an empty line: the line after one opens a paragraph.
    Returns the numbers of the pages that were scans.
    """
    from .ocr import DPI
    from .pages import has_image, pdf_document, render_page

    scanned = []
    with pdf_document(data) as document:
        for number in blank:
            if not has_image(document, number):
                continue
            scanned.append(number)
            image = render_page(document, number, DPI / 72)
            rows, opens = [], False
            for text in ocr.read(image).splitlines():
                text = text.strip()
                if not text:
                    opens = True
                    continue
                rows.append(_Row(text, number, ocr=True, opens=opens))
                opens = False
            pages[number - 1] = rows
    return scanned


def _page_rows(page: PageObject, number: int) -> list[_Row]:
    """pypdf's lines of one page, each measured from the runs the visitor saw print it."""
    rows = [_Row("", number)]
    bold_fonts: dict[str, bool] = {}

    def visit(text: str, cm: list[float], tm: list[float], font: dict | None, font_size: float) -> None:
        # The effective matrix is tm x cm; its vertical scale times the font size is the size seen.
        _, _, c, d, e, f = tm
        x, y = e * cm[0] + f * cm[2] + cm[4], e * cm[1] + f * cm[3] + cm[5]
        size = round(font_size * math.hypot(c * cm[0] + d * cm[2], c * cm[1] + d * cm[3]) * 2) / 2
        name = str((font or {}).get("/BaseFont", ""))
        bold = bold_fonts.setdefault(name, bool(_BOLD.search(name)))
        for i, piece in enumerate(text.split("\n")):
            if i:
                rows.append(_Row("", number))
            if _MARK.match(piece):
                start = len(rows[-1].text) + len(piece) - len(piece.lstrip())
                rows[-1].marks.append((start, start + len(piece.strip()), y, size))
            rows[-1].text += piece
            if piece.strip():
                rows[-1].runs.append((len(piece.strip()), x, y, size, bold))

    try:
        page.extract_text(visitor_text=visit)
    except Exception:  # a font the visitor cannot measure: the page's plain lines, unmeasured
        rows = [_Row(text, number) for text in (page.extract_text() or "").splitlines()]
    kept = []
    for row in rows:
        if row.runs:  # the size most of its characters have; superscripts and symbols aside
            row.size = max({r[3] for r in row.runs}, key=lambda s: sum(r[0] for r in row.runs if r[3] == s))
            row.y = next(y for _, _, y, size, _ in row.runs if size == row.size)
            _drop_note_marks(row)
        row.text = _close_letter_spacing(row.text.strip())
        if not row.text:
            continue  # pypdf's blank lines carry no measure; paragraph breaks are measured instead
        if row.runs:
            row.x = min(x for _, x, _, _, _ in row.runs)
            row.bold = _mostly_bold(row.runs)
        if kept and _continues(kept[-1], row):
            kept[-1] = _joined_rows(kept[-1], row)
            continue
        kept.append(row)
    return kept


#: A line this short (with a letter) that pypdf ends where the next one goes on, on the same
#: baseline, is a piece of a word: "Tab" + "le 2. Number of spills", a raised initial "i" + "ncluded".
FRAGMENT = 4
#: Rough glyph widths in ems (Helvetica's, near enough for other fonts): where a fragment ends.
_NARROW, _WIDE = frozenset("ijlftrI.,:;'!|() "), frozenset("mwMW")


def _width(text: str, bold: bool) -> float:
    """About how many ems ``text`` takes (bold glyphs are a little wider)."""
    ems = sum(0.28 if ch in _NARROW else 0.85 if ch in _WIDE else 0.68 if ch.isupper() else 0.53 for ch in text)
    return ems * (1.07 if bold else 1.0)


def _continues(prev: _Row, row: _Row) -> bool:
    """Whether ``row`` carries on ``prev``, a fragment of a word, on the same baseline."""
    if (len(prev.text) > FRAGMENT or not any(ch.isalpha() for ch in prev.text) or not prev.runs or not row.runs
            or prev.page != row.page):
        return False  # a bullet ("●") or a number stays a line of its own, as list entries start
    chars, x, y, size, _ = prev.runs[-1]
    _, next_x, next_y, _, _ = row.runs[0]
    return abs(next_y - y) < 0.1 * size and x < next_x <= x + (chars + 1) * size


def _joined_rows(prev: _Row, row: _Row) -> _Row:
    """``prev`` and ``row`` as one line, with no space when the fragment runs straight on ("Tab" +
    "le 2." but "at" + "the": a space is about a quarter of an em)."""
    chars, x, _, size, bold = prev.runs[-1]
    gap = (row.runs[0][1] - x) / size - _width(prev.text[-chars:], bold)
    glue = "" if gap < 0.2 else " "
    runs = prev.runs + row.runs
    return replace(row, text=f"{prev.text}{glue}{row.text}", x=prev.x, runs=runs, bold=_mostly_bold(runs))


def _mostly_bold(runs: list[tuple[int, float, float, float, bool]]) -> bool:
    """Whether nine tenths of the characters of a line's ``runs`` are set in a bold font."""
    return sum(r[0] for r in runs if r[4]) >= 0.9 * sum(r[0] for r in runs)


def _close_letter_spacing(text: str) -> str:
    """A letter-spaced title ("C  O  M  P  U  T  E  R      S  E  C  U  R  I  T  Y") as words: the
    narrowest gaps part letters, wider ones words."""
    parts = text.split()
    if len(parts) < 4 or any(len(p) > 1 for p in parts):
        return text
    gaps = re.findall(r"\s+", text)
    narrow = min(len(g) for g in gaps)
    if narrow == max(len(g) for g in gaps):
        return "".join(parts) if narrow > 1 else text  # one word, or ordinary single letters
    return " ".join(word.replace(" ", "") for word in re.split(rf"\s{{{narrow + 1},}}", text))


def _drop_note_marks(row: _Row) -> None:
    """Remove the raised, smaller digits of note references inside a line ("McGeorge Bundy3 once",
    "contracts.163"): they glue themselves to words, which then match nothing. A line's leading
    number stays: it is how a footnote starts."""
    lead = len(row.text) - len(row.text.lstrip())
    for start, end, y, size in reversed(row.marks):
        if start > lead and size < SMALL * row.size and row.y is not None and y > row.y:
            row.text = row.text[:start] + row.text[end:]


def _layout(pages: list[list[_Row]], outline: list[tuple[int, str, int]]) -> tuple[Line, ...]:
    """Give every row its role, then emit the lines with empty lines between paragraphs."""
    rows = [row for page in pages for row in page]
    body, leading = _body_size(pages), _leading(pages)
    _mark_furniture(pages)
    for row in (row for row in rows if not row.role and _TOC.search(row.text)):
        row.role = "toc"
    noted = False
    for page in pages:
        noted = _mark_footnotes(page, body, noted)
    # A line is short against the running text of its page, or of the document.
    width = statistics.median([len(r.text) for r in rows if SMALL * body < r.size < LARGE * body and not r.role]
                              or [60])
    pages = [_headings(page, body, leading, width) for page in pages]
    _mark_outline(pages, outline)
    _levels([row for page in pages for row in page if row.role == "heading"])
    structured = any(row.role == "heading" for page in pages for row in page)
    for row in (row for page in pages for row in page):
        if row.role or not SMALL * body < row.size < LARGE * body:
            continue
        if bullet := _BULLET.match(row.text):
            row.role, row.text = "item", row.text[bullet.end():]
        elif structured and not _NUMBERED.match(row.text):
            row.role = "body"  # the fonts show the headings, so this is text; numbered lines stay open
    return _emit(pages, leading)


def _body_size(pages: list[list[_Row]]) -> float:
    """The size most characters have, unless that text mostly sits below a larger size nearly as
    common on the same pages: then it is the footnotes of a report whose notes outweigh its text."""
    chars = Counter[float]()
    for row in (row for page in pages for row in page if row.size):
        chars[row.size] += len(row.text)
    body = chars.most_common(1)[0][0] if chars else 0.0
    for size, count in chars.most_common(3)[1:]:
        if size > body and count >= 0.3 * chars[body]:
            floors = [min((r.y for r in page if r.size == size and r.y is not None), default=-math.inf)
                      for page in pages]
            placed = [(r.y < floor, len(r.text)) for page, floor in zip(pages, floors)
                      for r in page if r.size == body and r.y is not None]
            if sum(n for below, n in placed if below) >= 0.6 * sum(n for _, n in placed):
                return size
    return body


def _leading(pages: list[list[_Row]]) -> dict[float, float]:
    """The usual distance between baselines of consecutive lines, per size."""
    gaps: dict[float, Counter[float]] = defaultdict(Counter)
    for page in pages:
        for a, b in zip(page, page[1:]):
            if a.y is not None and b.y is not None and a.size == b.size and 0 < a.y - b.y < 2.5 * a.size:
                gaps[a.size][round(a.y - b.y, 1)] += 1
    return {size: counts.most_common(1)[0][0] for size, counts in gaps.items()}


def _mark_furniture(pages: list[list[_Row]]) -> None:
    """Running headers and footers: the same line (digits removed) among the top or bottom few
    lines of many pages, at one size and place; lone page numbers there."""
    def key(row: _Row) -> str:
        return running_key(row.text)

    zones = []  # per page: its top and bottom lines, and the very top and bottom one
    for page in pages:
        placed = sorted((row for row in page if row.y is not None), key=lambda row: -(row.y or 0))
        zone = placed[:ZONE] + [row for row in placed[-ZONE:] if row not in placed[:ZONE]]
        zones.append((zone, placed[:1] + placed[-1:]))
    seen: dict[str, list[_Row]] = defaultdict(list)
    for row in (row for zone, _ in zones for row in zone):
        seen[key(row)].append(row)
    n = len(pages)
    needed = max(2, min(3, n - 1), math.ceil(0.4 * n))
    running = {k: (Counter(r.size for r in same).most_common(1)[0][0],  # its usual size and height
                   Counter(round(r.y or 0) for r in same).most_common(1)[0][0])
               for k, same in seen.items() if len(k) >= 3 and len({r.page for r in same}) >= needed}
    for zone, extremes in zones:
        for row in zone:
            size, y = running.get(key(row), (0.0, 0))
            if _PAGE_NUMBER.match(row.text):
                row.role = "furniture"
            elif size:  # the same words elsewhere (a title that the running header repeats) stay
                if abs(row.size - size) <= 0.5 and (abs((row.y or 0) - y) <= 20 or row in extremes):
                    row.role = "furniture"
            elif row in extremes and any(key(row).startswith(k) and abs(row.size - s) <= 0.5
                                         for k, (s, _) in running.items() if len(k) >= 8):
                row.role = "furniture"  # the running footer with something added on one page


def _mark_footnotes(page: list[_Row], body: float, noted: bool) -> bool:
    """Footnotes: the block of clearly smaller lines at the very bottom of the page, from its first
    numbered line on (all of it when the previous page had footnotes: a note may run on), unless
    it is most of the page (:data:`FOOTNOTE_SHARE`)."""
    placed = sorted((row for row in page if row.y is not None and not row.role), key=lambda row: row.y or 0)
    block: list[_Row] = []
    for row in placed:
        if row.size > SMALL * body or (block and (row.y or 0) - (block[-1].y or 0) > 2 * row.size):
            break
        block.append(row)
    block.reverse()  # top to bottom
    if len(block) > FOOTNOTE_SHARE * len(placed):
        return False  # a page set in small type (a table, an appendix), not its notes
    start = next((i for i, row in enumerate(block) if _NOTE_START.match(row.text)), None)
    if start is None and not noted:
        return False
    for row in block if noted else block[start:]:
        row.role = "footnote"
    return bool(block)


def _headings(page: list[_Row], body: float, leading: dict[float, float], width: float) -> list[_Row]:
    """Mark larger lines and short bold lines standing alone as headings; a wrapped heading becomes one line."""
    text = [len(r.text) for r in page if SMALL * body < r.size < LARGE * body and not r.role]
    width = statistics.median(text) if len(text) >= 5 else width
    out: list[_Row] = []
    for i, row in enumerate(page):
        prev, nxt = out[-1] if out else None, page[i + 1] if i + 1 < len(page) else None
        if row.role or not row.size or sum(ch.isalpha() for ch in row.text) < 2 or _CAPTION.match(row.text):
            out.append(row)
            continue
        large = row.size >= LARGE * body and row.size >= body + 1 and len(row.text) <= 150
        alone = prev is None or prev.role not in ("", "body") or _gap(prev, row, leading)
        bold = (row.bold and row.size > SMALL * body and len(row.text) <= 0.75 * width and alone
                and not row.text.endswith((",", ";")) and not _NOTE_START.match(row.text))
        if bold and nxt is not None and nxt.bold and nxt.size == row.size and not _gap(row, nxt, leading):
            # Bold lines running on are a bold paragraph, unless they are one title wrapped once.
            after = page[i + 2] if i + 2 < len(page) else None
            bold = after is None or not after.bold or _gap(nxt, after, leading)
        if not (large or bold):
            out.append(row)
        elif (prev is not None and prev.role == "heading" and prev.size == row.size and prev.bold == row.bold
              and not _gap(prev, row, leading, 1.6)):
            prev.text, prev.y = f"{prev.text} {row.text}", row.y  # the title goes on
        else:
            row.role = "heading"
            out.append(row)
    return out


def _gap(a: _Row, b: _Row, leading: dict[float, float], factor: float = 0.0) -> bool:
    """Whether ``b`` lies further below ``a`` than lines of a paragraph do (or ``factor`` line spacings)."""
    if a.y is None or b.y is None:
        return False
    size = max(a.size, b.size)
    usual = leading.get(size, 1.2 * size)
    return a.y - b.y > (factor * usual if factor else usual + max(1.5, 0.25 * size))


def _mark_outline(pages: list[list[_Row]], outline: list[tuple[int, str, int]]) -> None:
    """The outline names headings: a line (or two joined) reading as an entry's title on its page."""
    def norm(text: str) -> str:
        return " ".join(re.sub(r"\W+", " ", text).lower().split())

    for depth, title, index in outline:
        if not 0 <= index < len(pages) or not norm(title):
            continue
        page = pages[index]
        for i, row in enumerate(page):
            nxt = page[i + 1] if i + 1 < len(page) else None
            if row.role not in ("", "body", "heading"):
                continue
            if norm(row.text) == norm(title):
                row.role, row.level = "heading", -depth
                break
            if nxt is not None and nxt.role in ("", "body") and norm(f"{row.text} {nxt.text}") == norm(title):
                row.text, row.role, row.level = f"{row.text} {nxt.text}", "heading", -depth
                page.pop(i + 1)
                break


def _levels(headings: list[_Row]) -> None:
    """Heading levels by size rank, largest first. Sizes used by one title only, above every size
    that sections share, are level 1 together; a size the outline places takes the outline's level."""
    by_outline: dict[float, Counter[int]] = defaultdict(Counter)
    for row in headings:
        if row.level < 0:
            by_outline[row.size][-row.level] += 1
    uses = Counter(row.size for row in headings)
    top = max((size for size, count in uses.items() if count > 1), default=math.inf)
    level, assigned = 0, {}
    for size in sorted(uses, reverse=True):
        if size in by_outline:
            level = by_outline[size].most_common(1)[0][0]
        else:
            level = 1 if size > top else level + 1  # a cover or document title stands above all sections
        assigned[size] = level
    for row in headings:
        row.level = -row.level if row.level < 0 else assigned[row.size]


def _emit(pages: list[list[_Row]], leading: dict[float, float]) -> tuple[Line, ...]:
    """The rows as lines, an empty line between paragraphs; ``lineno`` counts the page's lines."""
    lines: list[Line] = []
    last: _Row | None = None  # the last row emitted, furniture aside
    text: _Row | None = None  # the last row of running text: footnotes and contents interrupt it
    for page in (page for page in pages if page):
        width = statistics.median([len(r.text) for r in page if r.role in ("", "body")] or [60])
        breaks = [False] * len(page)
        for i, row in enumerate(page):
            if row.role == "furniture":
                continue
            if last is not None:
                resumes = row.role in TEXT[:3] and last.role in ("footnote", "toc")
                breaks[i] = _breaks(text if resumes and text is not None else last, row, leading, width)
            last, text = row, row if row.role in TEXT else text
        # A break at the top of a page goes before its running header: the header is no part of
        # the paragraph that ended on the page before.
        lead = next((i for i, row in enumerate(page) if row.role != "furniture"), 0)
        breaks[0], breaks[lead] = breaks[lead], breaks[0]
        number = 0
        for row, brk in zip(page, breaks):
            if brk and lines and lines[-1].text:
                number += 1
                lines.append(Line("", number, row.page))
            number += 1
            lines.append(Line(row.text, number, row.page, row.role, row.level if row.role == "heading" else 0,
                              ocr=row.ocr))
    return tuple(lines)


def _breaks(a: _Row, b: _Row, leading: dict[float, float], width: float) -> bool:
    """Whether a new paragraph starts between the rows ``a`` and ``b`` (``b`` follows ``a``)."""
    if b.opens:
        return True
    if a.role == b.role == "toc":
        return False
    if a.role == b.role == "footnote":  # the numbers part them, unless a page break hides one
        return b.page != a.page and bool(_NOTE_START.match(b.text))
    if "heading" in (a.role, b.role) or b.role == "item":
        return True
    if a.role != b.role and not (a.role == "item" and b.role in ("", "body")):
        return True  # text of another kind (size) is another block
    if b.page != a.page or (a.y is not None and b.y is not None and b.y > a.y):
        # A page or column break: a short line ending a sentence ended its paragraph.
        return bool(_ENDS_SENTENCE.search(a.text)) and len(a.text) < 0.8 * width
    if a.role != "item" and a.x is not None and b.x is not None and b.x - a.x > 0.8 * b.size:
        return True  # an indented first line (books, LaTeX) opens a paragraph without a gap
    return _gap(a, b, leading)


def _outline(reader: PdfReader) -> list[tuple[int, str, int]]:
    """The outline as (depth from 1, title, page index) entries; [] if none or damaged."""
    entries: list[tuple[int, str, int]] = []

    def walk(items: list, depth: int) -> None:  # type: ignore[type-arg]
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                entries.append((depth, str(item.title or ""), reader.get_destination_page_number(item)))

    try:
        walk(reader.outline, 1)
    except Exception:  # a damaged outline is no reason to refuse the text
        return []
    return entries


def _title(reader: PdfReader) -> str:
    try:
        title = (reader.metadata or {}).get("/Title")
    except Exception:  # damaged metadata is no reason to refuse the text
        return ""
    return str(title).strip() if title else ""
