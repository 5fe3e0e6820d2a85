"""The page a citation comes from, opened from the chat: ``/scoqa/open?chunk=ID&q=START-END``.

* A PDF passage: its page drawn as a picture with pypdfium2, the quoted sentences (or the whole
  passage) highlighted where they sit on it, the passage below, and links to the pages around.
* A text, Markdown, HTML or Word passage: its section, passage by passage as the index holds
  them, the quoted sentences highlighted and the page scrolled to the cited passage.

The request names a passage of the index, never a file: the file is the one the index says
the passage comes from, and it is only read if it lies inside the corpus folder (no ``..``, no
hidden folder such as ``.trash``, no symbolic link leading out, see
:func:`scoqa.index.corpus.document_path`). Everything shown is escaped text or a picture drawn
here, and the page forbids scripts (``Content-Security-Policy``).
"""

from __future__ import annotations

import base64
import html
import io
import logging
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute

from ..config import Settings
from ..engine import get_engine
from ..index.corpus import document_path
from ..ingest import has_drawn_pages
from ..ingest.chunk import Chunk
from ..ingest.ocr import DPI, PageOCR, page_ocr
from ..ingest.pages import (
    Box,
    has_text,
    pdf_document,
    render_page,
    text_boxes,
    word_boxes,
)
from .html import VIEW_PATH, highlight

log = logging.getLogger(__name__)

#: Pixels per point of the drawn page: 1.5 draws a Letter page 918 pixels wide.
SCALE = 1.5
#: Passages of a section shown around the cited one, before and after.
AROUND = 12
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
STYLE = """
body { font: 16px/1.55 system-ui, sans-serif; max-width: 980px; margin: 1.5rem auto; padding: 0 1rem; color: #1f2328; }
header h1 { font-size: 1.2rem; margin: 0; word-break: break-all; } header p { margin: 0.2rem 0 1rem; color: #59636e; }
nav { margin: 0.6rem 0; font-size: 0.9rem; } nav a { margin-right: 1rem; }
#scoqa-page { max-width: 100%; border: 1px solid #d0d7de; box-shadow: 0 1px 4px #0002; }
mark { background: #fff1a8; padding: 0 2px; border-radius: 3px; }
.passage { white-space: pre-wrap; margin: 0.8rem 0; padding: 0.2rem 0.8rem; border-left: 3px solid transparent; }
#cited.passage, #passage { border-left-color: #e3b400; background: #fffbe6; }
.sheet { position: relative; display: inline-block; max-width: 100%; }
.anchor { position: absolute; left: 0; width: 1px; height: 1px; scroll-margin-top: 33vh; }
.note { color: #59636e; font-size: 0.9rem; }
"""
#: Highlight drawn on the page picture: translucent yellow, with a darker edge.
FILL, EDGE = (255, 214, 0, 96), (214, 160, 0, 255)


def _spans(text: str, q: str) -> list[tuple[int, int]]:
    """``START-END,START-END`` as spans within ``text``; anything else is left out."""
    spans = []
    for part in q.split(",")[:20]:
        start, _, end = part.partition("-")
        if start.isdigit() and end.isdigit() and int(start) < int(end) <= len(text):
            spans.append((int(start), int(end)))
    return spans


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>'
        f"<body>{body}</body></html>", status_code=status, headers=HEADERS)


def _missing() -> HTMLResponse:
    return _page("Not found", '<p class="note">This passage is not in the index any more (the document may '
                              "have been removed or changed). Ask again to get a fresh citation.</p>", 404)


def _header(chunk: Chunk, extra: str = "") -> str:
    return (f"<header><h1>{html.escape(chunk.source)}</h1><p>{html.escape(chunk.citation)}{extra}</p></header>")


def _pdf_view(chunk: Chunk, data: bytes, spans: list[tuple[int, int]], number: int,
              ocr: PageOCR | None) -> HTMLResponse:
    from PIL import Image, ImageDraw

    quotes = [chunk.text[a:b] for a, b in spans] or [chunk.text]
    with pdf_document(data) as document:
        pages = len(document)
        number = min(max(number, 1), pages)
        picture = render_page(document, number, SCALE).convert("RGBA")
        boxes: list[Box] = []
        if number in (chunk.page, (chunk.page or 0) + 1):  # a passage may run on to the next page
            if chunk.ocr and ocr is not None and not has_text(document, number):
                # A scan: the quote is placed by the words OCR read (cached with the page's text).
                words = ocr.words(render_page(document, number, DPI / 72))
                boxes = word_boxes(words, quotes, SCALE / (DPI / 72))
            else:
                boxes = text_boxes(document, number, quotes, SCALE)
    layer = Image.new("RGBA", picture.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for left, top, right, bottom in boxes:
        draw.rectangle((left - 2, top - 2, right + 2, bottom + 2), fill=FILL, outline=EDGE)
    picture = Image.alpha_composite(picture, layer)
    png = io.BytesIO()
    picture.convert("RGB").save(png, "PNG", optimize=True)
    image = base64.b64encode(png.getvalue()).decode("ascii")

    def link(n: int, label: str) -> str:
        query = urlencode({"chunk": chunk.id, "q": ",".join(f"{a}-{b}" for a, b in spans), "page": n}, quote_via=quote)
        return f'<a href="open?{query}">{label}</a>'

    nav = " ".join(part for part in (
        link(number - 1, f"‹ page {number - 1}") if number > 1 else "",
        link(chunk.page or 1, f"back to page {chunk.page}") if number != chunk.page else "",
        link(number + 1, f"page {number + 1} ›") if number < pages else "",
    ) if part)
    top = 100 * min((b[1] for b in boxes), default=0.0) / picture.height
    found = (f"{len(boxes)} highlighted line(s)" if boxes else
             "the quote could not be placed on this page's text layer" if number == chunk.page else "")
    body = (
        _header(chunk, f" · page {number} of {pages}")
        + f"<nav>{nav}</nav>"
        + '<div class="sheet">'
        + f'<img id="scoqa-page" alt="page {number} of {html.escape(chunk.source)}" data-page="{number}" '
          f'data-highlights="{len(boxes)}" src="data:image/png;base64,{image}">'
        # The address ends in #cited: the browser scrolls to the first highlight (a third of a
        # window above it, so that the lines before it show too).
        + f'<span id="cited" class="anchor" style="top: {top:.2f}%"></span></div>'
        + (f'<p class="note">{found}</p>' if found else "")
        + f'<div class="passage" id="passage">{highlight(chunk.text, spans, html.escape)}</div>'
    )
    return _page(chunk.citation, body)


def _section_view(chunk: Chunk, chunks: list[Chunk], spans: list[tuple[int, int]]) -> HTMLResponse:
    same = [c for c in chunks if c.source == chunk.source and c.section == chunk.section]
    same.sort(key=lambda c: (c.line_start, c.line_end))
    at = next(i for i, c in enumerate(same) if c.id == chunk.id)
    shown = same[max(0, at - AROUND): at + AROUND + 1]
    parts = []
    for c in shown:
        if c.id == chunk.id:
            parts.append(f'<div class="passage" id="cited">{highlight(c.text, spans or [(0, len(c.text))], html.escape)}</div>')
        else:
            parts.append(f'<div class="passage">{html.escape(c.text)}</div>')
    cut = len(shown) < len(same)
    section = f"<h2>{html.escape(chunk.section)}</h2>" if chunk.section else ""
    note = f'<p class="note">{len(shown)} of the section’s {len(same)} passages.</p>' if cut else ""
    return _page(chunk.citation, _header(chunk) + section + note + "".join(parts))


def open_passage(settings: Settings, chunk_id: str, q: str = "", page: int = 0) -> HTMLResponse:
    """The page or section of passage ``chunk_id`` with the spans ``q`` highlighted (see module doc)."""
    searcher = get_engine(settings).searcher(show_progress=False)
    row = searcher.row_of.get(chunk_id)
    if row is None:
        return _missing()
    chunk = searcher.index.chunks[row]
    spans = _spans(chunk.text, q)
    if chunk.page is None or not has_drawn_pages(chunk.source):
        return _section_view(chunk, searcher.index.chunks, spans)
    try:
        data = document_path(settings.corpus_dir, chunk.source).read_bytes()
        return _pdf_view(chunk, data, spans, page or chunk.page, page_ocr(settings))
    except (ValueError, OSError):  # gone, moved, or not inside the corpus: never read
        return _missing()
    except Exception:
        log.exception("drawing %s failed", chunk.citation)
        return _page("Cannot show the page", '<p class="note">This page cannot be drawn.</p>', 500)


def routes(settings: Settings) -> list[APIRoute]:
    """The viewer's routes, for the app's FastAPI application."""

    def endpoint(request: Request, chunk: str = "", q: str = "", page: int = 0) -> HTMLResponse:
        return open_passage(settings, chunk, q, page)

    return [APIRoute(VIEW_PATH, endpoint, methods=["GET"], response_class=HTMLResponse, include_in_schema=False)]
