"""PDF pages as pictures, with pypdfium2 (PDFium): a cited page for people, a scanned page for OCR.

:func:`render` draws one page; :func:`text_boxes` finds where given text sits on it (from the
page's own text layer) so that a quote can be highlighted on the picture. PDFium is not
thread-safe: every call holds one lock.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .records import SourceError

if TYPE_CHECKING:
    import pypdfium2
    from PIL import Image

_LOCK = threading.RLock()
#: Box = (left, top, right, bottom) in pixels of a page drawn at some scale.
Box = tuple[float, float, float, float]
#: How much of a long quote's start and end must match when the whole does not (a hyphen, a
#: ligature or a footnote mark that the two text extractions read differently).
_ENDS = 40


@contextmanager
def pdf_document(data: bytes) -> Iterator[pypdfium2.PdfDocument]:
    """The PDF in ``data``, opened with PDFium under the lock.

    Raises:
        SourceError: if PDFium cannot open it.
    """
    import pypdfium2 as pdfium

    with _LOCK:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise SourceError(f"unreadable PDF ({exc})") from None
        try:
            yield document
        finally:
            document.close()


def page_count(data: bytes) -> int:
    """How many pages the PDF has."""
    with pdf_document(data) as document:
        return len(document)


def render_page(document: pypdfium2.PdfDocument, number: int, scale: float) -> Image.Image:
    """Page ``number`` (from 1) of an open document as an RGB image, ``scale`` pixels per point."""
    page = document[number - 1]
    try:
        return page.render(scale=scale).to_pil().convert("RGB")
    finally:
        page.close()


def render(data: bytes, number: int, scale: float) -> Image.Image:
    """Page ``number`` (from 1) of the PDF in ``data`` as an RGB image.

    Raises:
        SourceError: if the PDF cannot be opened; ValueError: if it has no such page.
    """
    with pdf_document(data) as document:
        if not 1 <= number <= len(document):
            raise ValueError(f"the document has no page {number}")
        return render_page(document, number, scale)


def _folded(text: str) -> tuple[str, list[int]]:
    """``text`` reduced to its letters and digits, lower case, compatibility forms folded (the ``ﬁ``
    ligature is ``fi``), with the index in ``text`` of each character kept."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch).lower():
            if c.isalnum():
                out.append(c)
                where.append(i)
    return "".join(out), where


def find_span(page_text: str, quote: str) -> tuple[int, int] | None:
    """Where ``quote`` lies in ``page_text`` as (start, end) character indices, whatever the
    spacing, hyphenation and punctuation; None if it is not there."""
    haystack, where = _folded(page_text)
    needle, _ = _folded(quote)
    if not needle or not haystack:
        return None
    start = haystack.find(needle)
    if start >= 0:
        return where[start], where[start + len(needle) - 1] + 1
    if len(needle) < 2 * _ENDS:
        return None
    head = haystack.find(needle[:_ENDS])
    tail = haystack.rfind(needle[-_ENDS:])
    if head >= 0:  # the quote runs on past the page, or reads otherwise further on: as far as it agrees
        if 0 <= tail - head <= 2 * len(needle):
            return where[head], where[tail + _ENDS - 1] + 1
        run = _ENDS
        while head + run < len(haystack) and run < len(needle) and haystack[head + run] == needle[run]:
            run += 1
        return where[head], where[head + run - 1] + 1
    if tail >= 0:  # it began on the page before: from as far back as it agrees
        run = _ENDS
        while tail - (run - _ENDS) > 0 and run < len(needle) and \
                haystack[tail - (run - _ENDS) - 1] == needle[len(needle) - run - 1]:
            run += 1
        return where[tail - (run - _ENDS)], where[tail + _ENDS - 1] + 1
    return None


def text_boxes(document: pypdfium2.PdfDocument, number: int, quotes: Sequence[str], scale: float) -> list[Box]:
    """Where each of ``quotes`` sits on page ``number``, as boxes in pixels of the page drawn at
    ``scale`` (one box per line a quote runs over); quotes not found on the page give none."""
    page = document[number - 1]
    textpage = page.get_textpage()
    try:
        height = page.get_height()
        text = textpage.get_text_range()
        boxes: list[Box] = []
        for quote in quotes:
            span = find_span(text, quote)
            if span is None:
                continue
            for i in range(textpage.count_rects(span[0], span[1] - span[0])):
                left, bottom, right, top = textpage.get_rect(i)
                boxes.append((left * scale, (height - top) * scale, right * scale, (height - bottom) * scale))
        return _merged(boxes, gap=6 * scale)
    finally:
        textpage.close()
        page.close()


def _merged(boxes: list[Box], gap: float) -> list[Box]:
    """PDFium gives a box per run of text, OCR one per word: join the boxes of one line (heights
    overlapping by half) that are at most ``gap`` apart, so a highlighted line reads as one mark."""
    lines: list[list[Box]] = []
    for box in sorted(boxes, key=lambda b: (b[1] + b[3]) / 2):
        for line in lines:
            top, bottom = min(b[1] for b in line), max(b[3] for b in line)
            if min(box[3], bottom) - max(box[1], top) > 0.5 * min(box[3] - box[1], bottom - top):
                line.append(box)
                break
        else:
            lines.append([box])
    out: list[Box] = []
    for line in lines:
        run: list[float] = []
        for left, top, right, bottom in sorted(line):
            if run and left - run[2] <= gap:
                run[1], run[2], run[3] = min(top, run[1]), max(right, run[2]), max(bottom, run[3])
            else:
                if run:
                    out.append((run[0], run[1], run[2], run[3]))
                run = [left, top, right, bottom]
        out.append((run[0], run[1], run[2], run[3]))
    return out


def has_text(document: pypdfium2.PdfDocument, number: int) -> bool:
    """Whether page ``number`` has a text layer with any letter or digit in it."""
    page = document[number - 1]
    textpage = page.get_textpage()
    try:
        return any(ch.isalnum() for ch in textpage.get_text_range())
    finally:
        textpage.close()
        page.close()


def has_image(document: pypdfium2.PdfDocument, number: int) -> bool:
    """Whether page ``number`` shows a picture (a scan is one), in a form XObject or not."""
    import pypdfium2.raw as pdfium_c

    page = document[number - 1]
    try:
        return next(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]), None) is not None
    finally:
        page.close()


def word_boxes(words: Sequence[tuple[str, tuple[int, int, int, int]]], quotes: Sequence[str], factor: float) -> list[Box]:
    """Where each of ``quotes`` sits among OCR'd ``words`` (each with its box in the pixels it was
    read at), as boxes scaled by ``factor``, one per line."""
    text, starts = "", []
    for word, _ in words:
        starts.append(len(text))
        text += word + " "
    boxes: list[Box] = []
    for quote in quotes:
        span = find_span(text, quote)
        if span is None:
            continue
        for (word, (left, top, right, bottom)), start in zip(words, starts):
            if start < span[1] and start + len(word) > span[0]:
                boxes.append((left * factor, top * factor, right * factor, bottom * factor))
    return _merged(boxes, gap=30 * factor)
