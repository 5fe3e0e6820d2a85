"""Project Gutenberg's wrapper: the notice before a book and the licence after it are not the book.

Every Project Gutenberg file, text or HTML, puts the book between two marker lines
(``*** START OF THE PROJECT GUTENBERG EBOOK ... ***`` and ``*** END OF ... ***``); before the first
come the catalogue entry (title, author, release date) and a notice, after the second some 350
lines of licence ("paragraph 1.E.8 or 1.E.9") that would otherwise be searched and quoted as if
the book said them. Of the catalogue entry, who made the book stays with its text (a title page
often gives the author only as a heading); the ``Title:`` names the document.
"""

from __future__ import annotations

import re
from dataclasses import replace

from .records import Line

_START = re.compile(r"^\W*START OF (?:THE|THIS) PROJECT GUTENBERG", re.IGNORECASE)
#: The end marker, or the "End of the Project Gutenberg EBook of ..." line that precedes it.
_END = re.compile(r"^\W*(?:END OF (?:THE|THIS) PROJECT GUTENBERG|End of (?:the )?Project Gutenberg)", re.IGNORECASE)
_TITLE = re.compile(r"^\s*Title:\s*(\S.*?)\s*$")
#: "[Footnote 1: Page 16. The Royal George sunk ...]": a transcriber's footnote, at a line's start.
_FOOTNOTE = re.compile(r"^\s*\[(?:Footnote|Note)\b", re.IGNORECASE)
#: The longest footnote: past it, an unclosed bracket is a typo, not a note.
MAX_FOOTNOTE_LINES = 40
#: The catalogue fields kept with the book: its title and the people who made it.
_CREDIT = re.compile(r"^(?:Title|Author|Editor|Translator|Illustrator|Contributor|Compiler)s?:", re.IGNORECASE)


def unwrap(lines: tuple[Line, ...]) -> tuple[tuple[Line, ...], str]:
    """The book inside a Project Gutenberg file's lines, and its catalogue title.

    Lines keep their numbers, so citations still point into the file. Anything that is not a
    Project Gutenberg file (no start marker) is returned as it is, with no title.
    """
    start = next((i for i, line in enumerate(lines) if _START.match(line.text)), None)
    if start is None:
        return lines, ""
    end = next((i for i in range(start + 1, len(lines)) if _END.match(lines[i].text)), len(lines))
    title = next((m.group(1) for line in lines[:start] if (m := _TITLE.match(line.text))), "")
    return _credits(lines[:start]) + lines[start + 1:end], title


def _credits(header: tuple[Line, ...]) -> tuple[Line, ...]:
    """The catalogue's title and credit fields, each with its indented continuation lines, as
    paragraphs of their own."""
    kept: list[Line] = []
    keeping = False
    for line in header:
        if _CREDIT.match(line.text):
            keeping = True
            if kept:
                kept.append(Line("", line.lineno))
        elif not (keeping and line.text[:1].isspace() and line.text.strip()):
            keeping = False
        if keeping:
            kept.append(line)
    return tuple(kept) + ((Line("", kept[-1].lineno),) if kept else ())


def footnotes(lines: tuple[Line, ...]) -> tuple[Line, ...]:
    """Plain text's bracketed footnotes ("[Footnote 1: ...]", over as many lines as it takes for
    the bracket to close) marked as footnotes: searchable, but not the body text answers quote."""
    marked: list[Line] = []
    unclosed = run = 0
    for line in lines:
        if not unclosed and not line.role and _FOOTNOTE.match(line.text):
            run = 0
        elif not unclosed or run >= MAX_FOOTNOTE_LINES:  # a bracket never closed is no footnote
            unclosed = 0
            marked.append(line)
            continue
        marked.append(replace(line, role="footnote"))
        run += 1
        unclosed = max(unclosed + line.text.count("[") - line.text.count("]"), 0)
    return tuple(marked)
