"""Bad sources and damaged index files: one clear line each, the rest indexed, nothing lost."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from scoqa import ingest
from scoqa.engine import Engine
from scoqa.index import files, store
from scoqa.index.build import build_index, update_index

from .index_helpers import TEXTS, cli, lines_naming, make_settings, text_docx, text_pdf

#: The text a bad file replaces in the "turns bad" tests, with a word found nowhere else.
VICTIM_TEXT = "The Samarkand declaration on cooperation was signed by the heads of state."
LIMIT = 4096  # stands in for ingest.MAX_FILE_BYTES, so no test writes 50 MB


def encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf(VICTIM_TEXT))))
    writer.encrypt(user_password="secret", owner_password="owner")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def pdf_without_text() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60)  # a drawing, as a scanned page would be an image: no text layer
    return bytes(pdf.output())


def make_outside_link(path: Path) -> None:
    outside = path.parent.parent / "outside.txt"
    outside.write_text("Text outside the corpus must not be indexed.\n", encoding="utf-8")
    path.unlink(missing_ok=True)
    os.symlink(outside, path)


def writer(data: bytes) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.unlink(missing_ok=True)
        path.write_bytes(data)
    return write


#: name -> (how to make the bad file, what its one line must say)
CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "empty.txt": (writer(b""), r"file is empty"),
    "image.txt": (writer(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" * 8),
                  r"binary data, not text .*is it really a text file\?"),
    "broken.docx": (writer(b"PK\x03\x04 a Word file cut short"),
                    r"unreadable Word document \(.*\); is it a complete \.docx file\?"),
    "broken.pdf": (writer(text_pdf(VICTIM_TEXT)[:600]), r"unreadable PDF \(.*\); is the file complete\?"),
    "locked.pdf": (writer(encrypted_pdf()), r"encrypted PDF with a password; save an unencrypted copy"),
    "scan.pdf": (writer(pdf_without_text()), r"PDF has no text layer \(scanned pages\?\)"),
    "huge.txt": (writer(("Border security report. " * 200).encode()),
                 r"file is 4\.8 kB, above the 4\.1 kB limit; split it into smaller files"),
    "link.txt": (make_outside_link, r"symbolic link pointing outside the corpus folder \(to .*outside\.txt\); "
                                    r"copy the file in instead"),
}


@pytest.fixture(autouse=True)
def _small_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "MAX_FILE_BYTES", LIMIT)


def one_line_about(output: str, name: str, reason: str) -> str:
    """Assert ``output`` reports ``name`` as skipped on exactly one line, giving ``reason``; return it."""
    lines = [line for line in lines_naming(output, name) if "skipped" in line]
    assert len(lines) == 1, lines
    assert lines[0].lstrip().startswith(f"skipped {name}: ")
    assert re.search(reason, lines[0]), lines[0]
    return lines[0]


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_new_file_gets_one_line_and_the_rest_is_indexed(tmp_path, capsys, name) -> None:
    settings = make_settings(tmp_path, {"alpha.md": TEXTS["alpha.md"]})
    make_bad, reason = CASES[name]
    make_bad(settings.corpus_dir / name)

    code, out, err = cli(capsys, settings, "index", "build")
    assert code == 0 and "indexed 1 passages from 1 file(s)" in out
    one_line_about(out + err, name, reason)
    code, out, err = cli(capsys, settings, "index", "status")
    assert code == 0 and "up to date" in out  # a bad file is a problem, not a change
    one_line_about(out + err, name, reason)
    code, out, err = cli(capsys, settings, "index", "update")
    assert code == 0 and "up to date" in out
    one_line_about(out + err, name, reason)

    index = store.load_index(settings.index_dir)
    assert {c.source for c in index.chunks} == {"alpha.md"}
    assert "Tashkent" in Engine(settings).retrieve("Where is the RATS located?", k=1)[0].text


@pytest.mark.parametrize("name", list(CASES))
def test_an_indexed_file_that_turns_bad_keeps_its_passages(tmp_path, capsys, monkeypatch, name) -> None:
    settings = make_settings(tmp_path, {"alpha.md": TEXTS["alpha.md"]})
    victim = settings.corpus_dir / name
    if name.endswith(".pdf"):
        victim.write_bytes(text_pdf(VICTIM_TEXT))
    elif name.endswith(".docx"):
        monkeypatch.setattr(ingest, "MAX_FILE_BYTES", 1 << 20)  # a Word file's zip alone is ~36 kB
        victim.write_bytes(text_docx(VICTIM_TEXT))
    else:
        victim.write_text(VICTIM_TEXT + "\n", encoding="utf-8")
    build_index(settings)
    make_bad, reason = CASES[name]
    make_bad(victim)

    for command in (["index", "update"], ["index", "status"], ["index", "build"]):
        code, out, err = cli(capsys, settings, *command)
        assert code == 0, err
        line = one_line_about(out + err, name, reason)
        assert line.endswith("the index keeps its earlier passages"), line
    code, out, err = cli(capsys, settings, "index", "build", "--force")  # from scratch: still nothing lost
    assert code == 0 and "indexed 2 passages from 2 file(s)" in out
    one_line_about(out + err, name, reason)

    hit = Engine(settings).retrieve("Which declaration was signed in Samarkand?", k=1)[0]
    assert hit.source == name and "Samarkand" in hit.text
    victim.unlink()  # removing it for real does drop it
    assert update_index(settings).removed == 1
    assert {c.source for c in store.load_index(settings.index_dir).chunks} == {"alpha.md"}


def test_a_symlink_inside_the_corpus_is_indexed_and_a_linked_folder_outside_is_reported(tmp_path, capsys) -> None:
    settings = make_settings(tmp_path, {"alpha.md": TEXTS["alpha.md"]})
    os.symlink(settings.corpus_dir / "alpha.md", settings.corpus_dir / "alias.md")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.md").write_text("# Secret\n\nNot part of the corpus.\n", encoding="utf-8")
    os.symlink(outside, settings.corpus_dir / "linked")
    code, out, err = cli(capsys, settings, "index", "build")
    assert code == 0 and "from 2 file(s)" in out
    one_line_about(out + err, "linked", r"symbolic link pointing outside the corpus folder")
    assert "secret" not in out + err


# -- damaged index files ---------------------------------------------------------------------------
def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def scramble(path: Path) -> None:  # same size, so only parsing can tell
    path.write_bytes(bytes(b ^ 0x5A for b in path.read_bytes()))


@pytest.mark.parametrize("damage", [truncate, scramble])
@pytest.mark.parametrize("name", [files.MANIFEST, files.CHUNKS, files.VECTORS, files.FAISS_FILE, files.UNITS,
                                  files.UNITS_FAISS, files.TOKENS])
def test_a_damaged_index_file_gives_a_clear_message_and_the_fix(tmp_path, capsys, name, damage) -> None:
    settings = make_settings(tmp_path, {"alpha.md": TEXTS["alpha.md"]})
    build_index(settings)
    damage(settings.index_dir / name)

    code, out, err = cli(capsys, settings, "search", "Where is the RATS located?")
    assert code == 2 and out == ""
    assert err.startswith("scoqa: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert str(settings.index_dir) in err and err.rstrip().endswith("run `scoqa index build --force`")
    if damage is truncate or name == files.MANIFEST:  # found by a stat (or parse) without loading
        code, _, err = cli(capsys, settings, "index", "status")
        assert code == 2 and name in err and "scoqa index build --force" in err

    code, out, _ = cli(capsys, settings, "index", "build", "--force")
    assert code == 0 and "indexed 1 passages" in out
    assert "Tashkent" in Engine(settings).retrieve("Where is the RATS located?", k=1)[0].text


@pytest.mark.parametrize("damage, name", [(truncate, files.VECTORS), (scramble, files.CHUNKS)])
def test_update_rebuilds_a_damaged_index_and_says_so(tmp_path, capsys, damage, name) -> None:
    settings = make_settings(tmp_path)
    build_index(settings)
    damage(settings.index_dir / name)
    (settings.corpus_dir / "gamma.txt").write_text("The siege of Beslan began on 1 September 2004.\n",
                                                   encoding="utf-8")  # something to update
    code, out, err = cli(capsys, settings, "index", "update")
    assert code == 0 and "3 passages embedded, 0 reused" in out
    assert "rebuilding the index from scratch" in err and str(settings.index_dir) in err
    index = store.load_index(settings.index_dir)
    assert {c.source for c in index.chunks} == set(TEXTS)  # every source, not only the edited one


def test_size_limit_can_be_given_per_call(tmp_path) -> None:
    path = tmp_path / "note.txt"
    path.write_text("x" * 100, encoding="utf-8")
    ingest.check_readable(path, tmp_path, max_bytes=100)
    with pytest.raises(ingest.SourceError, match=r"file is 100 bytes, above the 99 bytes limit"):
        ingest.check_readable(path, tmp_path, max_bytes=99)


# -- how loud the problems are ---------------------------------------------------------------------
BAD_THREE = {"empty.txt": b"", "broken.pdf": text_pdf(VICTIM_TEXT)[:600], "notes.xyz": b"not a document\n"}


def test_index_commands_list_problem_files_and_the_others_say_one_line(tmp_path, capsys, caplog) -> None:
    from .test_cli import scoqa

    settings = make_settings(tmp_path, {"alpha.md": TEXTS["alpha.md"]})
    for name, data in BAD_THREE.items():
        (settings.corpus_dir / name).write_bytes(data)
    for command in (["index", "build"], ["index", "status"], ["index", "update"]):
        code, out, err = cli(capsys, settings, *command)
        assert code == 0, err
        for name in BAD_THREE:  # the index commands name every file, once
            assert len([line for line in lines_naming(out + err, name) if "skipped" in line]) == 1, (command, name)

    result = scoqa("search", "Where is the RATS located?", "-k", "1", settings=settings)
    assert result.returncode == 0 and "Tashkent" in result.stdout
    assert result.stderr.splitlines() == ["scoqa: 3 files skipped — `scoqa index status` lists them"]
    assert not any(name in result.stdout + result.stderr for name in BAD_THREE)

    engine = Engine(settings)  # in a long-running process: said once, the lines kept for whoever asks
    with caplog.at_level("WARNING", logger="scoqa.engine"):
        engine.retrieve("Where is the RATS located?", k=1)
        engine.refresh()
        engine.retrieve("Where is the RATS located?", k=1)
    assert [r.getMessage() for r in caplog.records] == ["3 files skipped — `scoqa index status` lists them"]
    assert len(engine.problems) == 3 and all(line.startswith("skipped ") for line in engine.problems)
