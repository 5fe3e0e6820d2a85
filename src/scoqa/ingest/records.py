"""The records a reader produces: :class:`Line` (with what the format knows of its role) and
:class:`Document`, plus the error a reader raises for a file it cannot use."""

from __future__ import annotations

from dataclasses import dataclass

#: Roles a reader may give a line. Plain text gives none ("") and the layout decides.
#: ``heading`` (with a level), ``body`` (a paragraph line the format marks as text, never a
#: heading), ``item`` (a list entry), ``footnote`` (searchable, never quoted alone), ``toc`` (a
#: table-of-contents entry: dropped) and ``furniture`` (running headers, page numbers: dropped).
ROLES = ("", "heading", "body", "item", "footnote", "toc", "furniture")


class SourceError(Exception):
    """A source file that cannot be indexed; the message says why and how to fix it."""


@dataclass(frozen=True)
class Line:
    """One line of extracted text.

    Attributes:
        text: The line without its newline.
        lineno: 1-based line number (in the file for text, Markdown and HTML; within the page for
            PDF; the paragraph number for DOCX).
        page: 1-based page number for PDF, None otherwise.
        role: What the format says the line is (see :data:`ROLES`); "" when it says nothing.
        level: For a heading, its level (1 is the top).
        ocr: Whether the text was read from a picture of the page (a scan) by OCR.
    """

    text: str
    lineno: int
    page: int | None = None
    role: str = ""
    level: int = 0
    ocr: bool = False


@dataclass(frozen=True)
class Document:
    """A readable source file.

    Attributes:
        source: Path relative to the corpus folder, with ``/`` separators.
        kind: ``"text"``, ``"markdown"``, ``"pdf"``, ``"html"`` or ``"docx"``.
        lines: The extracted lines in reading order; an empty line separates paragraphs.
        sha256: Hash of the file's bytes, used to detect changes.
        title: The document's own title (metadata, front matter, ``<title>``), or "".
    """

    source: str
    kind: str
    lines: tuple[Line, ...]
    sha256: str
    title: str = ""

    @property
    def ocr_pages(self) -> frozenset[int]:
        """The pages whose text was read by OCR."""
        return frozenset(line.page for line in self.lines if line.ocr and line.page is not None)

    @property
    def structured(self) -> bool:
        """Whether the format marks its headings and lists itself (no guessing from line shapes)."""
        return self.kind in ("markdown", "html", "docx")


@dataclass(frozen=True)
class SourceProblem:
    """A file in the corpus that was skipped, and why."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"skipped {self.source}: {self.reason}"
