"""Plain text and Markdown: bytes -> lines, whatever the encoding and line ends.

The encoding is taken from a byte-order mark, else UTF-8 if the bytes are valid UTF-8, else
detected with charset-normalizer (Latin-1 and Windows-1252 files are common). Markdown front matter
(``---`` YAML at the top) is metadata: its ``title`` becomes the document's title and its lines
are left out of the text (their line numbers are kept for the rest).
"""

from __future__ import annotations

import codecs

from .records import Line, SourceError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode(data: bytes) -> str:
    """Decode a text file's bytes.

    Raises:
        SourceError: for binary data (NUL bytes without a UTF-16/32 byte-order mark) or bytes no
            text encoding explains.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                break
    if b"\x00" in data[:8192]:
        raise SourceError("binary data, not text (NUL bytes found); is it really a text file?")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return str(guess_encoding(data))


def guess_encoding(data: bytes):  # type: ignore[no-untyped-def]
    """charset-normalizer's best reading of bytes that are not UTF-8.

    Short texts often fit several single-byte code pages equally well (French read as Polish
    cp1250); a tie goes to Windows-1252, the most common of them and what browsers read
    "ISO-8859-1" as.

    Raises:
        SourceError: if no encoding explains the bytes.
    """
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        raise SourceError("not text in any known encoding; is it really a text file?")
    best = matches[0]
    for match in matches:
        if (match.chaos, match.coherence) == (best.chaos, best.coherence) and "cp1252" in match.could_be_from_charset:
            return match
    return best


def text_lines(data: bytes) -> tuple[Line, ...]:
    """The lines of a text file (CRLF, CR and LF line ends alike)."""
    return tuple(Line(t, i) for i, t in enumerate(decode(data).splitlines(), start=1))


def markdown_lines(data: bytes) -> tuple[tuple[Line, ...], str]:
    """The lines of a Markdown file without its front matter, and the front matter's title."""
    lines = text_lines(data)
    title = ""
    if lines and lines[0].text.strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].text.strip() in ("---", "...")), None)
        if end is not None:
            import yaml

            try:
                meta = yaml.safe_load("\n".join(line.text for line in lines[1:end]))
            except yaml.YAMLError:
                meta = None
            if isinstance(meta, dict) and isinstance(meta.get("title"), str):
                title = meta["title"].strip()
            lines = lines[end + 1:]
    return lines, title
