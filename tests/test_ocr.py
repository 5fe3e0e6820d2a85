"""Scanned PDF pages read with Tesseract: made in the test (text drawn with Pillow, saved as an
image-only PDF), answered from, cited "(OCR)", and never recognised twice."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image, ImageDraw, ImageFont
from pypdf import PdfReader, PdfWriter

from scoqa.api import ask
from scoqa.config import Settings
from scoqa.index import store
from scoqa.index.build import build_index, update_index
from scoqa.ingest import read_document
from scoqa.ingest.ocr import PageOCR, page_ocr, tessdata
from scoqa.interfaces.viewer import open_passage

from .index_helpers import TEXTS, make_settings, text_pdf

SCANNED = [
    "Harbour Report",
    "",
    "The Skarholm ferry carried 4,812 passengers in 2019,",
    "most of them in the summer months.",
    "",
    "The harbour master keeps the records in a blue ledger",
    "at the customs house on the north pier.",
]


def scanned_pdf(lines: list[str] = SCANNED, title: str = "") -> bytes:
    """A one-page PDF holding only a picture of ``lines`` (as a scanner makes it), A4 at 300 dpi."""
    page = Image.new("L", (2480, 3508), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=48)
    for n, line in enumerate(lines):
        draw.text((220, 260 + n * 95), line, font=font, fill=0)
    out = io.BytesIO()
    page.save(out, "PDF", resolution=300.0, title=title or None)
    return out.getvalue()


@pytest.fixture(autouse=True)
def _needs_tesseract() -> None:
    """OCR is part of what scoqa promises: a machine without tesseract-ocr fails here, never skips."""
    assert tessdata() is not None, "tesseract-ocr is not installed: run `make ocr` (apt-get install tesseract-ocr)"


@pytest.fixture
def recognised(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the pages Tesseract really reads (the cache aside)."""
    runs: list[int] = []
    original = PageOCR._recognise

    def counted(self, image):  # type: ignore[no-untyped-def]
        runs.append(1)
        return original(self, image)

    monkeypatch.setattr(PageOCR, "_recognise", counted)
    return runs


def test_a_scanned_page_is_read_and_its_lines_say_so(tmp_path) -> None:
    (tmp_path / "scan.pdf").write_bytes(scanned_pdf())
    settings = Settings(corpus_dir=tmp_path, index_dir=tmp_path.parent / "ocr-index")
    document = read_document(tmp_path / "scan.pdf", tmp_path, page_ocr(settings))
    text = " ".join(line.text for line in document.lines)
    assert "4,812 passengers" in text and "blue ledger" in text
    assert document.ocr_pages == {1} and all(line.ocr for line in document.lines if line.text)
    assert "" in [line.text for line in document.lines]  # Tesseract's paragraphs are kept


def test_a_scan_is_answered_cited_as_ocr_and_never_read_twice(tmp_path, recognised) -> None:
    settings = make_settings(tmp_path, {"alpha.md": TEXTS["alpha.md"]})
    scan = settings.corpus_dir / "harbour-scan.pdf"
    scan.write_bytes(scanned_pdf())
    report = build_index(settings)
    assert report.problems == [] and report.files == 2
    assert len(recognised) == 1

    reply = ask("How many passengers did the Skarholm ferry carry?", settings=settings)
    assert reply.answered and "4,812" in reply.text
    assert reply.sources[0].citation.startswith("harbour-scan.pdf") and "p. 1 (OCR)" in reply.sources[0].citation

    page = open_passage(settings, reply.sources[0].chunk_id, ",".join(f"{q.start}-{q.end}" for q in reply.quotes))
    assert re.search(r'data-highlights="[1-9]', page.body.decode())  # placed by the words OCR read
    recognised.clear()

    scan.write_bytes(scanned_pdf(title="Harbour report, scanned again"))  # new bytes, the same page
    report = update_index(settings)
    assert report.changed and report.problems == []
    assert recognised == []  # the page's text came from the cache
    build_index(settings)  # even a rebuild from scratch
    assert recognised == []
    chunks = [c for c in store.load_index(settings.index_dir).chunks if c.source == "harbour-scan.pdf"]
    assert chunks and all(c.ocr for c in chunks)
    assert settings.ocr_cache_dir.is_dir() and settings.ocr_cache_dir.name == ".index.ocr"


def test_only_the_scanned_pages_of_a_pdf_are_ocrd(tmp_path) -> None:
    writer = PdfWriter()
    for data in (text_pdf("The customs house stands on the north pier of Skarholm."), scanned_pdf()):
        writer.append(PdfReader(io.BytesIO(data)))
    out = io.BytesIO()
    writer.write(out)
    (tmp_path / "mixed.pdf").write_bytes(out.getvalue())
    settings = Settings(corpus_dir=tmp_path, index_dir=tmp_path.parent / "mixed-index")
    document = read_document(tmp_path / "mixed.pdf", tmp_path, page_ocr(settings))
    assert document.ocr_pages == {2}
    pages = {line.page for line in document.lines if "customs house" in line.text}
    assert pages == {1, 2}


def test_ocr_off_leaves_a_scan_out_with_one_line_saying_what_to_do(tmp_path, monkeypatch, recognised) -> None:
    monkeypatch.setenv("SCOQA_OCR", "off")
    base = make_settings(tmp_path, {"alpha.md": TEXTS["alpha.md"]})
    settings = Settings.from_env(corpus_dir=base.corpus_dir, index_dir=base.index_dir)
    assert settings.ocr == "off" and page_ocr(settings) is None
    (settings.corpus_dir / "scan.pdf").write_bytes(scanned_pdf())
    report = build_index(settings)
    assert report.problems == ["skipped scan.pdf: PDF has no text layer (scanned pages?); run OCR on it first, "
                               "or install tesseract-ocr so that scoqa does (SCOQA_OCR=auto)"]
    assert recognised == []
    monkeypatch.setenv("SCOQA_OCR", "sometimes")
    with pytest.raises(ValueError, match="SCOQA_OCR must be one of auto, off"):
        Settings.from_env()
