"""Word documents (.docx): paragraphs and tables in order, headings and lists from their styles
(python-docx).

A paragraph styled ``Title`` is a heading of level 1 and ``Heading N`` one of level N + 1; one styled as a list
(``List ...``) or carrying list numbering is a list entry. A table row becomes one line of its
cells. ``lineno`` is the paragraph's (or row's) position in the body, counted from 1.
"""

from __future__ import annotations

import io
import re

from .records import Line, SourceError

_HEADING = re.compile(r"^(?:heading\s*(\d)|title)$", re.IGNORECASE)


def docx_lines(data: bytes) -> tuple[tuple[Line, ...], str]:
    """The text of a .docx file as lines, and its title (document properties).

    Raises:
        SourceError: if the file is not a readable Word document.
    """
    import zipfile

    from docx import Document as open_docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = open_docx(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise SourceError(f"unreadable Word document ({type(exc).__name__}: {exc}); is it a complete .docx file?") from None
    lines: list[Line] = []
    number = 0

    def emit(text: str, role: str, level: int = 0) -> None:
        text = " ".join(text.split())
        if text:
            lines.append(Line(text, number, None, role, level))
            lines.append(Line("", number))

    for block in document.iter_inner_content():
        number += 1
        if isinstance(block, Paragraph):
            style = (block.style.name if block.style is not None else "") or ""
            heading = _HEADING.match(style.strip())
            if heading:
                # "Title" heads the document, "Heading 1" its sections: levels 1, 2, ...
                emit(block.text, "heading", int(heading.group(1)) + 1 if heading.group(1) else 1)
            elif style.lower().startswith("list") or block._p.pPr is not None and block._p.pPr.numPr is not None:
                emit(block.text, "item")
            else:
                emit(block.text, "body")
        elif isinstance(block, Table):
            for row in block.rows:
                cells: list[str] = []
                for cell in row.cells:
                    text = " ".join(cell.text.split())
                    if text and (not cells or cells[-1] != text):  # merged cells repeat their text
                        cells.append(text)
                emit(" | ".join(cells), "body")
    try:
        title = (document.core_properties.title or "").strip()
    except Exception:  # damaged properties are no reason to refuse the text
        title = ""
    return tuple(lines), title
