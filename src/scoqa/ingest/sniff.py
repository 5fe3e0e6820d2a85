"""What a file is, by its content: the type check of files added from outside (the app's uploads).

A name can say ``.pdf`` over anything; the first bytes cannot lie as easily. :func:`content_kind`
names what the bytes hold, and :func:`check_content` refuses a file whose bytes are not what its
suffix claims (a program renamed ``.pdf``, a PNG called ``notes.txt``). Reading the file with its
reader afterwards finds the damaged ones.
"""

from __future__ import annotations

import io
import re
import zipfile

from .records import SourceError

#: First bytes of common formats that scoqa does not read, and what to call them.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"\x7fELF", "a program (ELF)"), (b"MZ", "a Windows program"), (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"), (b"Rar!", "a RAR archive"),
    (b"\xd0\xcf\x11\xe0", "an old Office file (.doc, .xls); save it as .docx"),
    (b"RIFF", "audio or video (RIFF)"), (b"OggS", "audio or video (Ogg)"), (b"ID3", "an MP3 file"),
    (b"{\\rtf", "an RTF file; save it as .docx"),
)
_HTML = re.compile(rb"<(?:!doctype\s+html|html|head|body|meta|title|p|div|script)\b", re.IGNORECASE)
#: What each kind of reader accepts: text readers take HTML-looking text too (a Markdown file may hold
#: tags, an HTML fragment may lack <html>), the binary formats only themselves.
_ACCEPTS = {"pdf": {"pdf"}, "docx": {"docx"}, "html": {"html", "text"}, "markdown": {"text", "html"},
            "text": {"text", "html"}}
_NAMES = {"pdf": "a PDF", "docx": "a Word document", "html": "HTML", "text": "text", "zip": "a zip archive"}


def content_kind(data: bytes) -> str:
    """Name what ``data`` holds: ``pdf``, ``docx``, ``zip``, ``html``, ``text`` or a description
    of another format (``a PNG image``, ``binary data``)."""
    if b"%PDF-" in data[:1024]:  # readers accept a little junk before the header
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return "docx" if "word/document.xml" in archive.namelist() else "zip"
        except (zipfile.BadZipFile, OSError):
            return "docx" if b"word/" in data[:4096] else "zip"  # cut short: the reader says so
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return what
    head = data[:8192]
    utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff"))
    if b"\x00" in head and not utf16:
        return "binary data"
    if _HTML.search(head.decode("utf-16", "ignore").encode() if utf16 else head):
        return "html"
    return "text"


def check_content(data: bytes, kind: str) -> None:
    """Refuse ``data`` unless it holds what a file of reader ``kind`` (``pdf``, ``docx``, ``html``,
    ``markdown``, ``text``) should.

    Raises:
        SourceError: naming what the content is instead.
    """
    found = content_kind(data)
    if found not in _ACCEPTS[kind]:
        what = _NAMES.get(found, found)
        claimed = _NAMES.get(kind, "Markdown" if kind == "markdown" else kind)
        raise SourceError(f"the content is {what}, not {claimed} as its name says; rename it or save it in the right format")
