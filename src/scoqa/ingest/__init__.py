"""Files in ``corpus/`` -> :class:`Document` records (lines with page and line numbers).

One reader per format, each in its own module: plain text and Markdown (:mod:`.text`, any
encoding), PDF (:mod:`.pdf`, page by page), HTML (:mod:`.html`) and Word (:mod:`.docx`). Readers
mark what the format knows of a line (a heading and its level, a footnote, a running header);
:mod:`.layout` turns the lines into paragraphs, list entries and sections, and :mod:`.chunk`
those into passages sized for the embedding model. A file that cannot be read becomes a
:class:`SourceProblem` naming the file and the reason; it never stops the other files.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

log = logging.getLogger(__name__)

#: The reader of each suffix, by kind (".markdown" and ".xhtml" are the longer names of two of them).
KINDS = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".pdf": "pdf", ".html": "html", ".htm": "html",
         ".xhtml": "html", ".docx": "docx"}
SUPPORTED_SUFFIXES = tuple(KINDS)
#: Files above this size are refused: they are almost always a mistake (a dump, a video).
#: Read at call time, so tests (or a program using scoqa) may patch it; ``check_readable`` also takes a limit.
MAX_FILE_BYTES = 50 * 1024 * 1024


from . import gutenberg
from .records import ROLES, Document, Line, SourceError, SourceProblem
from .text import markdown_lines, plain_text_lines

if TYPE_CHECKING:
    from .ocr import PageOCR

__all__ = [
    "KINDS", "MAX_FILE_BYTES", "ROLES", "SUPPORTED_SUFFIXES", "Document", "Line", "SourceError", "SourceProblem",
    "check_readable", "discover", "file_sha256", "has_drawn_pages", "load_corpus", "read_document", "relative_source",
]


def has_drawn_pages(source: str) -> bool:
    """Whether the pages of ``source`` can be drawn for people: a PDF's can; an HTML book's page
    numbers (Project Gutenberg's page marks) only say where its printed pages began."""
    return KINDS.get(PurePosixPath(source).suffix.lower()) == "pdf"


def file_sha256(path: Path) -> str:
    """Return the hex sha256 of a file's bytes (read in blocks: large files are not held in memory)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def relative_source(path: Path, corpus_dir: Path) -> str:
    """Name a file by its path relative to the corpus folder (posix separators)."""
    return path.relative_to(corpus_dir).as_posix()


def discover(corpus_dir: Path) -> tuple[list[Path], list[SourceProblem]]:
    """List the indexable files under ``corpus_dir`` and the files that will be skipped.

    Hidden files and folders (``.git``, ``.DS_Store``) are ignored silently; other files with an
    unsupported suffix are reported so the user knows they were not indexed.

    Raises:
        FileNotFoundError: if ``corpus_dir`` does not exist or is not a folder.
    """
    if not corpus_dir.is_dir():
        raise FileNotFoundError(
            f"corpus folder {str(corpus_dir)!r} does not exist: create it and put documents ("
            f"{', '.join(SUPPORTED_SUFFIXES)}) in it, or point SCOQA_CORPUS / --corpus at the right folder"
        )
    files: list[Path] = []
    problems: list[SourceProblem] = []
    for path in sorted(corpus_dir.rglob("*")):
        rel = path.relative_to(corpus_dir)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.is_dir():
            # rglob does not descend into linked folders: say so when one leads out of the corpus.
            if path.is_symlink() and not _inside(path, corpus_dir):
                problems.append(SourceProblem(rel.as_posix(), _outside_reason(path)))
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            problems.append(
                SourceProblem(rel.as_posix(), f"unsupported file type {path.suffix or '(none)'!r}; "
                              f"scoqa reads {', '.join(SUPPORTED_SUFFIXES)}")
            )
            continue
        files.append(path)
    return files, problems


def _inside(path: Path, corpus_dir: Path) -> bool:
    try:
        return path.resolve().is_relative_to(corpus_dir.resolve())
    except (OSError, RuntimeError):  # a link loop
        return False


def _outside_reason(path: Path) -> str:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    return f"symbolic link pointing outside the corpus folder (to {target}); copy the file in instead"


def check_readable(path: Path, corpus_dir: Path, max_bytes: int | None = None) -> None:
    """Refuse files that must not be read: links leaving the corpus, empty or huge files.

    Only metadata is looked at, so this is cheap enough for every status check.

    Args:
        path: The file, inside ``corpus_dir``.
        corpus_dir: The corpus folder.
        max_bytes: Size limit; default :data:`MAX_FILE_BYTES` (read at call time).

    Raises:
        SourceError: naming the reason.
    """
    limit = MAX_FILE_BYTES if max_bytes is None else max_bytes
    if not _inside(path, corpus_dir):  # the file itself, or a folder on its way, is a link out
        raise SourceError(_outside_reason(path) if path.is_symlink() else
                          "lies behind a symbolic link pointing outside the corpus folder; copy the file in instead")
    if not path.is_file():
        raise SourceError("not a regular file (broken symbolic link?)")
    size = path.stat().st_size
    if size == 0:
        raise SourceError("file is empty")
    if size > limit:
        raise SourceError(f"file is {_size(size)}, above the {_size(limit)} limit; split it into smaller files")


def _size(n: int) -> str:
    for unit, scale in (("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def read_document(path: Path, corpus_dir: Path, ocr: PageOCR | None = None) -> Document:
    """Read one source file.

    Args:
        path: The file, inside ``corpus_dir``.
        corpus_dir: The corpus folder, used to name the source.
        ocr: Reads the scanned pages of a PDF (see :func:`scoqa.ingest.ocr.page_ocr`); None: they are skipped.

    Returns:
        The document with its lines.

    Raises:
        SourceError: if the file cannot be indexed; the message names the reason.
    """
    try:
        check_readable(path, corpus_dir)
        # One read: the hash is of exactly the bytes parsed, even if the file changes meanwhile.
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot be read ({exc.strerror or exc}); check its permissions") from None
    kind = KINDS[path.suffix.lower()]
    lines, title = parse(kind, data, ocr)
    if kind != "pdf":
        lines, catalogue_title = gutenberg.unwrap(lines)
        title = catalogue_title or title
    if not any(line.text.strip() for line in lines):
        raise SourceError("file holds only whitespace")
    return Document(relative_source(path, corpus_dir), kind, lines, hashlib.sha256(data).hexdigest(), title)


def parse(kind: str, data: bytes, ocr: PageOCR | None = None) -> tuple[tuple[Line, ...], str]:
    """Run the reader of ``kind`` on a file's bytes: its lines and the title it declares.

    Raises:
        SourceError: if the bytes cannot be read as that kind of file.
    """
    if kind == "pdf":
        from .pdf import pdf_lines

        return pdf_lines(data, ocr)
    if kind == "html":
        from .html import html_lines

        return html_lines(data)
    if kind == "docx":
        from .docx import docx_lines

        return docx_lines(data)
    if kind == "markdown":
        return markdown_lines(data)
    return gutenberg.footnotes(plain_text_lines(data)), ""


def load_corpus(corpus_dir: Path) -> tuple[list[Document], list[SourceProblem]]:
    """Read every indexable file under ``corpus_dir``.

    Returns:
        The documents read, and one problem per file that was skipped.
    """
    paths, problems = discover(corpus_dir)
    documents: list[Document] = []
    for path in paths:
        try:
            documents.append(read_document(path, corpus_dir))
        except SourceError as exc:
            problems.append(SourceProblem(relative_source(path, corpus_dir), str(exc)))
    for problem in problems:
        log.warning("%s", problem)
    return documents, problems
