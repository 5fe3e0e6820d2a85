"""Helpers for the rebuild and bad-source tests: tiny corpora and the CLI run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fpdf import FPDF

from scoqa.config import Settings
from scoqa.interfaces.cli import main

#: One passage each (a heading and one sentence), with a word no other file has.
TEXTS = {
    "alpha.md": "# Alpha\n\nThe Regional Anti-Terrorist Structure is located in Tashkent, Uzbekistan.\n",
    "beta.md": "# Beta\n\nPeace Mission 2007 was a joint exercise held in Chelyabinsk, Russia.\n",
    "gamma.txt": "The Beslan school siege killed more than three hundred people in September 2004.\n",
}


def write(corpus: Path, name: str, text: str) -> Path:
    """Write a UTF-8 source file into the corpus."""
    path = corpus / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def make_settings(tmp_path: Path, texts: dict[str, str] | None = None) -> Settings:
    """A corpus folder holding ``texts`` (default :data:`TEXTS`) and an index path beside it."""
    corpus = tmp_path / "corpus"
    corpus.mkdir(parents=True)
    for name, text in (TEXTS if texts is None else texts).items():
        write(corpus, name, text)
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index")


def text_pdf(text: str) -> bytes:
    """A one-page PDF with a text layer."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def text_docx(text: str) -> bytes:
    """A Word document holding one paragraph."""
    import io

    from docx import Document

    document = Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def cli(capsys: pytest.CaptureFixture[str], settings: Settings, *args: str) -> tuple[int, str, str]:
    """Run ``scoqa --corpus C --index I ARGS`` in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main(["--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir), *args])
    out, err = capsys.readouterr()
    return code, out, err


def cli_json(capsys: pytest.CaptureFixture[str], settings: Settings, *args: str) -> dict:
    """Run a ``--json`` command in-process and parse its output."""
    code, out, err = cli(capsys, settings, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def lines_naming(text: str, name: str) -> list[str]:
    """The lines of ``text`` that mention ``name``."""
    return [line for line in text.splitlines() if name in line]
