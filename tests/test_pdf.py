"""A PDF made in the test is ingested page by page and its hits cite the right pages."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

from scoqa.config import Settings
from scoqa.engine import Engine
from scoqa.index.build import build_index
from scoqa.ingest import read_document

PAGES = [
    ("Founding", "The organisation was founded in Shanghai in June 2001 by six member states."),
    ("Exercises", "Peace Mission-2010 was an anti-terror military drill held in Zhambyl, Kazakhstan."),
    ("Structure", "The Regional Anti-Terrorist Structure is a standing body located in Bishkek."),
]


def make_pdf(path: Path) -> None:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for title, body in PAGES:
        pdf.add_page()
        pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        pdf.multi_cell(0, 8, body)
    pdf.output(str(path))


def test_pdf_lines_keep_their_page_numbers(tmp_path: Path) -> None:
    make_pdf(tmp_path / "report.pdf")
    document = read_document(tmp_path / "report.pdf", tmp_path)
    assert document.kind == "pdf"
    pages = {line.page for line in document.lines if "Zhambyl" in line.text}
    assert pages == {2}


def test_pdf_hits_cite_their_pages(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_pdf(corpus / "report.pdf")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings)
    engine = Engine(settings)
    for question, page in [("Which drill was held in Zhambyl?", 2), ("Where is the anti-terrorist structure?", 3),
                           ("When was it founded?", 1)]:
        hit = engine.retrieve(question, k=1)[0]
        assert hit.page == page, (question, hit)
        assert hit.citation.endswith(f"p. {page}")
        assert hit.source == "report.pdf"
