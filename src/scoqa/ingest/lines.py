"""A document's lines -> the layout's tokens: what each non-empty line is, and what went before it.

What a line is comes from the format where it says (a reader's role: a heading and its level, a
footnote, a list entry, a running header or a table-of-contents line; Markdown's ``#`` and
bullets), and from the line's shape where it does not: plain text and PDFs without those marks
lose page numbers, table-of-contents lines and footnotes (a run of lines ending in a URL) between
their paragraphs, and some lines lost in extraction leave a lone first letter behind. Such page
furniture is dropped here, and the token after it notes the break, so that a paragraph it
interrupted goes on across it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .records import Document, Line
from .reflow import normalise
from .shapes import DATE_LINE, PAGE_NUMBER, looks_like_heading

#: A line reduced to one letter: the rest of it was lost in extraction.
FRAGMENT = re.compile(r"^[A-Za-z]$")
REFERENCE = re.compile(r"https?://|www\.|\(accessed\b", re.IGNORECASE)
#: A list entry's bullet or number; a lone "o" is the bullet of plain-text RFCs ("o  At least 4096 bytes ...").
BULLET = re.compile(r"^(?:[-*+•▪◦‣o]|\d{1,2}[.)])\s+")
MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*$")
#: A table-of-contents line: a title, dot leaders, a page number ("Introduction ....... 1").
TOC_LINE = re.compile(r"(?:\.\s?){4,}\s*(?:\d{1,4}|[ivxlc]{1,6})?\s*$", re.IGNORECASE)
#: A numbered section heading: "7.4.1.  Defined Status Codes", "A.2 Examples", "3. Scope"; the
#: number (group 1) and the title (group 2).
SECTION_NUMBER = re.compile(r"^((?:\d{1,2}|[A-Z])(?:\.\d{1,2})+\.?|\d{1,2}\.)\s+(\S.*)$")
#: A document numbers its sections when it has this many headings numbered at two levels or more.
MIN_NUMBERED = 3
#: At most this many lines before a URL/"accessed" line are treated as its footnote.
_MAX_FOOTNOTE_LINES = 6
#: Roles of lines that are page furniture, not text.
_FURNITURE_ROLES = ("furniture", "toc")


@dataclass
class Token:
    """A non-empty line as the layout reads it.

    Attributes:
        text: The normalised line, without a Markdown ``#`` or a bullet.
        line: The source line.
        blank_before: An empty line stood just before.
        break_before: A page number, a footnote or another piece of page furniture was dropped just before.
        fragment_before: A line lost in extraction stood just before.
        bullet: The line opens a list entry.
        heading_level: The level the format gives a heading (Markdown ``#`` count); 0 when it says none.
        footnote: The format marks the line as part of a footnote.
    """

    text: str
    line: Line
    blank_before: bool = False
    break_before: bool = False
    fragment_before: bool = False
    bullet: bool = False
    heading_level: int = 0
    footnote: bool = False


def read_tokens(doc: Document) -> list[Token]:
    """The document's non-empty lines as tokens; page furniture is dropped and leaves a break."""
    lines = list(doc.lines)
    markdown = doc.kind == "markdown"
    by_shape = {} if doc.structured else _furniture_by_shape(lines)
    tokens: list[Token] = []
    blank = brk = frag = False
    for idx, line in enumerate(lines):
        text = normalise(line.text)
        if not text:
            blank = True
            continue
        what = "break" if line.role in _FURNITURE_ROLES else by_shape.get(idx)
        if what == "break":
            brk = True
            continue
        if what == "fragment":
            frag = True
            continue
        token = _marked(Token(text, line, blank, brk, frag), markdown)
        if token.text:
            tokens.append(token)
        # Body text that resumes after a footnote continues across it, as across a page number.
        blank = frag = False
        brk = token.footnote
    return tokens


def mark_numbered_headings(tokens: list[Token], roles: tuple[str, ...] = ("",)) -> None:
    """In a document that numbers its sections ("7.4.1.  Defined Status Codes", as RFCs, standards
    and many reports do), make its numbered headings headings, at the level their number gives.

    A line is such a heading when the reader left it one of ``roles`` (a PDF marks lines in the
    body's font ``body``, though a report may set its numbered headings in that font), it stands
    after a gap, and its title has a heading's shape. A number of two levels or more ("4.2") is a
    section's; a number of one level ("3. Scope") is one only in a document with at least
    :data:`MIN_NUMBERED` of those, and a letter alone ("A.") is an initial, not a section.
    Elsewhere "1. The member states agreed ..." stays a list entry. Where the reader found
    headings by their fonts among the numbered ones ("Appendix A" at level 3), a top-level number
    takes the highest of those levels, so that the two kinds nest together.
    """
    found = []  # (position, depth, number)
    by_fonts = 0  # numbered headings the reader marked itself
    for position, (tok, nxt) in enumerate(zip(tokens, tokens[1:] + [None])):
        match = SECTION_NUMBER.match(tok.line.text.strip())
        if match and tok.line.role == "heading":
            by_fonts += 1
        if not (match and tok.line.role in roles and (tok.blank_before or tok.break_before)):
            continue
        number = match.group(1).rstrip(".")
        depth = number.count(".") + 1
        # A sub-section's title may be in sentence case ("3.1. Name space definitions"): a
        # number of two levels is not a list's.
        if not (looks_like_heading(match.group(2)) or (depth >= 2 and _short_title(match.group(2)))):
            continue
        gap_after = nxt is None or nxt.blank_before or nxt.break_before
        # A title stands alone: the line after it is not the rest of its sentence, and after a
        # one-level number ("9.  Optionally, a header field, with a"), not text at all.
        if gap_after or (depth >= 2 and not nxt.text[:1].islower()):
            found.append((position, depth, number))
    if by_fonts >= MIN_NUMBERED:
        return  # the reader found the numbered headings by their fonts: other numbered lines are lists
    if sum(depth >= 2 for _, depth, _ in found) < MIN_NUMBERED:
        found = [f for f in found if f[1] >= 2]
    found = in_sequence(found)
    if not found:
        return
    marked = [t.heading_level for t in tokens[found[0][0]:] if t.line.role == "heading"]
    offset = min(marked) - 1 if marked else 0
    for position, depth, _ in found:
        tok = tokens[position]
        tok.text, tok.bullet, tok.heading_level = normalise(tok.line.text), False, depth + offset


#: A heading that opens an appendix or an annex ("Appendix A—SCAP Tutorial", "ANNEX 2").
APPENDIX = re.compile(r"^(?:appendix|annex)\b", re.IGNORECASE)


def level_appendices(tokens: list[Token]) -> None:
    """Appendices stand beside a document's numbered sections, not inside the last one: a report
    often sets "Appendix A" a size below "5. Metrics", and its passages went under "5. Metrics".
    An appendix heading takes the level of the one-level numbered headings ("5.", "6."), when
    those are headings and sit higher."""
    top = [t.heading_level for t in tokens
           if t.heading_level and (m := SECTION_NUMBER.match(t.text)) and "." not in m.group(1).rstrip(".")]
    if not top:
        return
    level = min(top)
    for tok in tokens:
        if tok.heading_level > level and APPENDIX.match(tok.text):
            tok.heading_level = level


def _number(text: str) -> tuple[int, ...]:
    """A section number as a tuple, a letter by its place in the alphabet: "A.2" -> (1, 2)."""
    return tuple(int(part) if part.isdigit() else ord(part) - ord("A") + 1 for part in text.split("."))


#: How many earlier candidates a numbered heading may follow on from (the ones between are lists).
_SEQUENCE_WINDOW = 64


def _short_title(text: str) -> bool:
    """Whether ``text`` may be a title in sentence case: a few words, opening with a capital, not
    ending as a sentence does."""
    words = text.split()
    return 0 < len(words) <= 8 and len(text) <= 80 and text[:1].isupper() and text.rstrip()[-1] not in ".,;:!?"


def _follows(last: tuple[int, ...], number: tuple[int, ...]) -> bool:
    """Whether section ``number`` may come right after section ``last``: 3.1 -> 3.2, 3.1.1 or 4.
    Below the top level one heading may have been missed (its title not read as one): 3 -> 3.2,
    3.2 -> 3.4."""
    same = next((i for i, (a, b) in enumerate(zip(number, last)) if a != b), min(len(number), len(last)))
    steps = (1, 2) if same >= 1 else (1,)  # the number that moves is below the top level
    if same == len(last):  # a sub-section of the last: 4. -> 4.1
        return len(number) == same + 1 and number[-1] in steps
    return same < len(number) and number[same] - last[same] in steps and all(n == 1 for n in number[same + 1:])


def in_sequence(found: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The longest run of ``found`` (numbers in their third field) that numbers sections one after
    another: "1.", "1.1", "1.2", "2.", "2.1" ... Numbers outside it are other numbering: "1." again
    (a template's own inside an appendix), "3." between "2.1" and "2.2" (a list's entry), "86"."""
    numbers = [_number(entry[2]) for entry in found]
    length = [1 if all(n <= 2 for n in number) else 0 for number in numbers]
    previous = [-1] * len(found)
    for i, number in enumerate(numbers):
        for j in range(max(0, i - _SEQUENCE_WINDOW), i):
            if length[j] and length[j] + 1 > length[i] and _follows(numbers[j], number):
                length[i], previous[i] = length[j] + 1, j
    if not found or not max(length):
        return []
    i = max(range(len(found)), key=lambda k: (length[k], -k))
    chain = []
    while i >= 0:
        chain.append(found[i])
        i = previous[i]
    return chain[::-1]


def _marked(token: Token, markdown: bool) -> Token:
    """The token with what the format says of its line: a role, or Markdown's and plain text's marks."""
    line, text = token.line, token.text
    if line.role == "heading":
        token.heading_level = max(line.level, 1)
    elif line.role == "footnote":
        token.footnote = True
    elif line.role == "item":
        token.bullet = True
    elif markdown and (heading := MD_HEADING.match(text)):
        token.text, token.heading_level = heading.group(2), len(heading.group(1))
    elif line.role != "body" and (bullet := BULLET.match(text)):
        if not DATE_LINE.match(text):
            token.text, token.bullet = text[bullet.end():], True
    return token


def _furniture_by_shape(lines: list[Line]) -> dict[int, str]:
    """For plain text and PDFs: the lines without a role that are not text, by index.

    ``"break"`` for a page number, a table-of-contents line or a footnote (see
    :func:`_footnote_lines`); ``"fragment"`` for a lone letter left by a line lost in extraction.
    """
    found = dict.fromkeys(_footnote_lines(lines), "break")
    for idx, line in enumerate(lines):
        text = normalise(line.text)
        if idx in found or line.role or not text:
            continue
        if PAGE_NUMBER.match(text) or TOC_LINE.search(text):
            found[idx] = "break"
        elif FRAGMENT.match(text):
            found[idx] = "fragment"
    return found


def _footnote_lines(lines: list[Line]) -> set[int]:
    """Indices of lines that belong to footnotes: a run of lines ending in a URL/"accessed" line.

    Only lines the reader left unmarked are judged: a line it gave a role (a footnote it saw by
    its font, a running header) is not this guess's business and ends a run.
    """
    dropped: set[int] = set()
    run: list[int] = []

    def close_run() -> None:
        refs = [k for k, idx in enumerate(run) if REFERENCE.search(lines[idx].text)]
        if refs and refs[-1] < _MAX_FOOTNOTE_LINES:
            end = refs[-1]
            span = " ".join(lines[idx].text for idx in run[: end + 1])
            # A citation's "(accessed" may close on the next line.
            while span.count("(") > span.count(")") and end + 1 < len(run):
                end += 1
                span += " " + lines[run[end]].text
            dropped.update(run[: end + 1])
        run.clear()

    for idx, line in enumerate(lines):
        text = normalise(line.text)
        if not text or line.role or PAGE_NUMBER.match(text):
            close_run()
        else:
            run.append(idx)
    close_run()
    return dropped
