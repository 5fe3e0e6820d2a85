"""Plain text and Markdown: bytes -> lines, whatever the encoding and line ends, as they read.

The encoding is taken from a byte-order mark, else UTF-8 if the bytes are valid UTF-8, else
detected with charset-normalizer (Latin-1 and Windows-1252 files are common). Markdown front matter
(``---`` YAML at the top) is metadata: its ``title`` becomes the document's title and its lines
are left out of the text (their line numbers are kept for the rest).

Lines are kept as a reader sees them, so that BM25 matches their words and answers quote them
cleanly: Markdown's inline marks are rendered by markdown-it (a link by its text, images left
out, no emphasis or code marks, entities decoded; fenced code stays as written), and plain text
loses the underscores of its ``_emphasis_`` (Project Gutenberg's italics, which BM25 would read
as part of the word) and its ``[1]`` note anchors. A text cut into pages by form feeds loses its
running headers and footers (:mod:`.paged`).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import replace
from functools import lru_cache
from typing import Any

from .paged import running_furniture
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


#: A line end: CRLF, CR or LF. Not ``str.splitlines``, which also ends a line at a form feed and
#: at other separators that editors do not count, so that line numbers drifted from the file's.
_LINE_END = re.compile(r"\r\n|\r|\n")


def text_lines(data: bytes) -> tuple[Line, ...]:
    """The lines of a text file (CRLF, CR and LF line ends alike), exactly as written; a form
    feed stays in its line (:mod:`.paged` reads the pages it makes)."""
    texts = _LINE_END.split(decode(data))
    if texts[-1] == "":
        texts.pop()  # the last line's end
    return tuple(Line(t, i) for i, t in enumerate(texts, start=1))


#: "_Royal George_[1]": an underscore opening or closing a word is emphasis ("snake_case" is not).
_EMPHASIS = re.compile(r"(?<!\w)_(?=\w)|(?<=[\w.,;:!?'’)])_(?!\w)")
#: A note anchor right after a word or its punctuation: "adopted[2]:".
_NOTE_ANCHOR = re.compile(r"(?<=[\w.,;:!?'’”\")])\[\d{1,3}\]")


def plain_text_lines(data: bytes) -> tuple[Line, ...]:
    """The lines of a plain text file as they read: without emphasis underscores or note anchors."""
    lines = running_furniture(text_lines(data))
    return tuple(replace(line, text=_NOTE_ANCHOR.sub("", _EMPHASIS.sub("", line.text))) for line in lines)


@lru_cache(maxsize=1)
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("strikethrough")


#: A fence opening or closing a code block.
_FENCE = re.compile(r"^\s{0,3}(?:```|~~~)")


def plain_markdown(text: str) -> str:
    """One Markdown line as it reads: "see [the guide](https://x) for **details**" -> "see the
    guide for details". Block marks at its start ("# ", "- ", "1. ", "> ") stay for the layout."""
    if not text.strip():
        return text
    indent = text[: len(text) - len(text.lstrip())]
    parts = []
    for token in _markdown().parseInline(text.strip())[0].children or ():
        if token.type in ("text", "code_inline"):
            parts.append(token.content)
        elif token.type == "softbreak":
            parts.append(" ")
    return indent + "".join(parts)


def markdown_lines(data: bytes) -> tuple[tuple[Line, ...], str]:
    """The lines of a Markdown file without its front matter, and the front matter's title."""
    lines = running_furniture(text_lines(data))
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
    rendered: list[Line] = []
    in_code = False
    for line in lines:
        fence = bool(_FENCE.match(line.text))
        in_code ^= fence
        if in_code or fence:
            rendered.append(line)
        else:
            rendered.extend(_markdown_block(line, rendered))
    return tuple(rendered), title


#: A setext heading's underline: "=====" (level 1) or "-----" (level 2) under its text.
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
#: A thematic break ("---", "***", "___", spaced or not) standing alone: no text.
_RULE = re.compile(r"^ {0,3}([-*_])(?:\s*\1){2,}\s*$")
#: A table row ("| a | b |") and the row of dashes under a table's header ("|---|:--:|").
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
#: A line that opens a block of its own (heading, list entry, quote): never a setext heading's text.
_BLOCK_START = re.compile(r"^\s{0,3}(?:#|[-*+>]\s|\d{1,9}[.)]\s)")


def _markdown_block(line: Line, rendered: list[Line]) -> list[Line]:
    """One Markdown line outside code as lines for the layout, after the lines ``rendered`` so
    far: its inline marks rendered (:func:`plain_markdown`); the text over a setext underline
    made a heading (``rendered``'s last line is changed in place) and the underline a gap; a
    thematic break a gap; a table row one line of its cells ("a | b", as HTML and Word tables
    read) and a gap, its header's dashes a gap."""
    text = line.text
    previous = rendered[-1] if rendered else None
    if _SETEXT.match(text) and previous is not None and previous.text.strip() and not previous.role \
            and not _BLOCK_START.match(previous.text):
        rendered[-1] = replace(previous, role="heading", level=1 if "=" in text else 2)
        return [Line("", line.lineno)]
    if _RULE.match(text) or (_TABLE_ROW.match(text) and _TABLE_RULE.match(text)):
        return [Line("", line.lineno)]
    if _TABLE_ROW.match(text):
        cells = (plain_markdown(cell).strip() for cell in re.split(r"(?<!\\)\|", text.strip()[1:-1]))
        return [Line(" | ".join(cell for cell in cells if cell), line.lineno), Line("", line.lineno)]
    return [Line(plain_markdown(text), line.lineno)]
