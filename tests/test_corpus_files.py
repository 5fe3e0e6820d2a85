"""Adding files to the corpus and removing them (what the app's upload and Remove do): safe names,
type by content, size limit, no silent overwrite, the trash; then the index follows."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from scoqa.index import store
from scoqa.index.build import build_index, update_index
from scoqa.index.corpus import (
    STAGING,
    TRASH,
    add_file,
    add_files,
    remove_document,
    safe_name,
)
from scoqa.ingest.sniff import content_kind

from .index_helpers import TEXTS, make_settings, text_docx, text_pdf

GOOD_PDF_TEXT = "The Vardenfell lighthouse was rebuilt in 1973 after the great storm of that winter."
EVIL_HTML = (b"<html><head><title>Notes</title><script>alert('x')</script></head><body>"
             b"<p>The Quorvex accord was signed in Tallinn.</p><img src=x onerror=alert(1)></body></html>")


@pytest.mark.parametrize("given, safe", [
    ("report.pdf", "report.pdf"),
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\notes.TXT", "notes.txt"),
    (".hidden.md", "hidden.md"),
    ("..pdf", "pdf"),  # no suffix left: refused as a type scoqa does not read
    ("<img src=x onerror=alert(1)>.pdf", "img src_x onerror_alert(1).pdf"),
    ("a\x00b\nc.md", "abc.md"),
    ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
])
def test_safe_names_stay_in_the_folder(given: str, safe: str) -> None:
    assert safe_name(given) == safe


@pytest.mark.parametrize("data, kind", [
    (text_pdf("x"), "pdf"), (text_docx("x"), "docx"), (b"PK\x03\x04rest", "zip"), (EVIL_HTML, "html"),
    (b"# Title\n\nText.", "text"), (b"\x89PNG\r\n\x1a\n....", "a PNG image"), (b"\x7fELF\x02\x01", "a program (ELF)"),
    ("héllo".encode("utf-16"), "text"), (b"abc\x00def", "binary data"),
])
def test_content_kind_reads_the_bytes_not_the_name(data: bytes, kind: str) -> None:
    assert content_kind(data) == kind


def upload(tmp_path: Path, name: str, data: bytes) -> tuple[str, Path]:
    """A file as the app receives it: bytes in a folder outside the corpus, and the name it was sent under."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path, prefix="upload-"))
    (folder / "upload.bin").write_bytes(data)
    return name, folder / "upload.bin"


def test_good_files_go_in_bad_ones_get_one_line_and_nothing_escapes(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, {"alpha.md": TEXTS["alpha.md"]})
    files = [
        upload(tmp_path, "lighthouse.pdf", text_pdf(GOOD_PDF_TEXT)),
        upload(tmp_path, "broken.pdf", text_pdf(GOOD_PDF_TEXT)[:500]),
        upload(tmp_path, "../../etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n"),
        upload(tmp_path, "../../outside.txt", b"Text that must land inside the corpus.\n"),
        upload(tmp_path, "photo.txt", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
        upload(tmp_path, "program.pdf", b"\x7fELF\x02\x01\x01" + b"\x00" * 64),
        upload(tmp_path, "notes.html", EVIL_HTML),
        upload(tmp_path, "empty.md", b""),
    ]
    before_outside = sorted(p.name for p in tmp_path.iterdir())
    outcomes = {a.name: a for a in add_files(settings, files)}
    assert outcomes["lighthouse.pdf"].status == "added"
    assert "unreadable PDF" in outcomes["broken.pdf"].reason
    assert "not a kind of document scoqa reads" in outcomes["../../etc/passwd"].reason
    assert outcomes["../../outside.txt"].source == "outside.txt"
    assert outcomes["photo.txt"].reason.startswith("the content is a PNG image, not text")
    assert outcomes["program.pdf"].reason.startswith("the content is a program (ELF), not a PDF")
    assert outcomes["notes.html"].status == "added" and outcomes["empty.md"].reason == "the file is empty"
    assert all("\n" not in str(a) for a in outcomes.values())  # one line each

    assert sorted(p.name for p in settings.corpus_dir.iterdir()) == [
        ".uploads", "alpha.md", "lighthouse.pdf", "notes.html", "outside.txt"]
    assert list((settings.corpus_dir / STAGING).iterdir()) == []  # nothing left half-checked
    assert sorted(p.name for p in tmp_path.iterdir()) == before_outside  # nothing written beside the corpus

    report = update_index(settings)
    assert report.problems == [] and report.files == 4
    sources = {c.source for c in store.load_index(settings.index_dir).chunks}
    assert sources == {"alpha.md", "lighthouse.pdf", "notes.html", "outside.txt"}
    texts = " ".join(c.text for c in store.load_index(settings.index_dir).chunks)
    assert "Quorvex" in texts and "alert" not in texts  # the page's script is no part of its text


def test_a_file_of_the_same_name_is_replaced_only_when_asked(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, {"alpha.md": TEXTS["alpha.md"]})
    same = add_file(settings, *upload(tmp_path, "alpha.md", TEXTS["alpha.md"].encode()))
    assert same.status == "unchanged" and str(same) == "alpha.md: already in the corpus"
    other = upload(tmp_path, "alpha.md", b"# Alpha\n\nA different text.\n")
    refused = add_file(settings, *other)
    assert refused.status == "refused" and "a different alpha.md is already in the corpus" in refused.reason
    assert (settings.corpus_dir / "alpha.md").read_text(encoding="utf-8") == TEXTS["alpha.md"]
    replaced = add_file(settings, *other, replace=True)
    assert replaced.status == "replaced"
    assert (settings.corpus_dir / "alpha.md").read_text(encoding="utf-8").endswith("A different text.\n")
    assert (settings.corpus_dir / TRASH / "alpha.md").read_text(encoding="utf-8") == TEXTS["alpha.md"]
    twice = add_files(settings, [upload(tmp_path, "x.md", b"one\n"), upload(tmp_path, "x.md", b"two\n")])
    assert [a.status for a in twice] == ["added", "refused"]


def test_the_size_limit_comes_from_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCOQA_MAX_UPLOAD_MB", "1")
    from scoqa.config import Settings

    settings = make_settings(tmp_path, {})
    settings = Settings.from_env(corpus_dir=settings.corpus_dir, index_dir=settings.index_dir)
    assert settings.max_upload_mb == 1
    big = add_file(settings, *upload(tmp_path, "big.txt", b"word " * 220_000))
    assert big.reason == "the file is 1.1 MB, above the 1 MB limit (SCOQA_MAX_UPLOAD_MB)"
    assert not (settings.corpus_dir / "big.txt").exists()


def test_remove_moves_the_file_to_the_trash_and_the_update_drops_its_passages(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    (settings.corpus_dir / "sub").mkdir()
    (settings.corpus_dir / "sub" / "delta.md").write_text("# Delta\n\nThe Delta archive sits in Osh.\n", encoding="utf-8")
    build_index(settings)
    where = remove_document(settings, "beta.md")
    assert where == settings.corpus_dir / TRASH / "beta.md" and not (settings.corpus_dir / "beta.md").exists()
    (settings.corpus_dir / "beta.md").write_text("# Beta again\n\nA second beta.\n", encoding="utf-8")
    assert remove_document(settings, "beta.md").name == "beta (2).md"  # the trash never overwrites
    assert remove_document(settings, "sub/delta.md") == settings.corpus_dir / TRASH / "sub" / "delta.md"
    report = update_index(settings)
    assert report.removed == 2 and report.problems == []  # the trash is never indexed
    assert {c.source for c in store.load_index(settings.index_dir).chunks} == {"alpha.md", "gamma.txt"}


@pytest.mark.parametrize("name", ["../alpha.md", "/etc/passwd", ".trash/beta.md", "missing.md", "", "sub", "linked/secret.md"])
def test_remove_takes_only_documents_of_the_corpus(tmp_path: Path, name: str) -> None:
    settings = make_settings(tmp_path)
    (settings.corpus_dir / "sub").mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.md").write_text("secret\n", encoding="utf-8")
    os.symlink(outside, settings.corpus_dir / "linked")
    (settings.corpus_dir / TRASH).mkdir()
    (settings.corpus_dir / TRASH / "beta.md").write_text("old\n", encoding="utf-8")
    with pytest.raises(ValueError, match="is not a document of the corpus"):
        remove_document(settings, name)
    assert (outside / "secret.md").exists() and (settings.corpus_dir / TRASH / "beta.md").exists()
