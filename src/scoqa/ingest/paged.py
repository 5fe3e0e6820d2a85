"""Plain text cut into pages by form feeds (``pdftotext`` output, RFCs): its running headers and footers.

A text file laid out for printing repeats a header and a footer on every page ("RFC 6455  The
WebSocket Protocol  December 2011", "Fette & Melnikov  Standards Track  [Page 45]") between
paragraphs, and a form feed (``\\f``) starts each page. Read as text, the header became the heading
of every passage after it and the footer a sentence of the text. As for a PDF (:mod:`.pdf`), a line
among the top or bottom few of a page whose words (digits aside) open or close many pages is page
furniture: it is marked so, and the paragraph it interrupted goes on across it.

Copies of RFCs often come without their form feeds; their pages still end in a footer that
numbers them ("Postel & Reynolds  [Page 12]"), and such a line ends a page as a form feed would.
Otherwise, without form feeds, nothing is judged: a line repeated through a text is as likely a
refrain as a header.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import replace

from .records import Line
from .shapes import running_key

FORM_FEED = "\f"
#: The top or bottom few non-empty lines of a page, where running headers and footers sit.
ZONE = 3
#: Fewer pages than this say nothing of what repeats on them.
MIN_PAGES = 3
#: A footer that numbers its page, as RFCs' do: "Fette & Melnikov  Standards Track  [Page 45]".
_PAGE_FOOTER = re.compile(r"\S.*\[Page (\d+)\]\s*$")


def page_numbers(lines: tuple[Line, ...]) -> list[int]:
    """The page (from 1) of each line: a form feed before a line's text starts a new page with
    it, one after its text (or alone) starts the next line's."""
    pages = []
    page = 1
    for line in lines:
        before = len(line.text) - len(line.text.lstrip(FORM_FEED + " \t"))
        leading = line.text[:before].count(FORM_FEED)
        page += leading
        pages.append(page)
        page += line.text.count(FORM_FEED) - leading
    return pages


def running_furniture(lines: tuple[Line, ...]) -> tuple[Line, ...]:
    """``lines`` with form feeds removed, and the running headers and footers of a text with
    form feeds marked ``furniture`` (see the module doc). A text without form feeds is returned
    as it is."""
    if not any(FORM_FEED in line.text for line in lines):
        lines = _footer_breaks(lines)
        if not any(FORM_FEED in line.text for line in lines):
            return lines
    pages: dict[int, list[int]] = defaultdict(list)  # page -> indices of its non-empty lines
    for idx, (line, page) in enumerate(zip(lines, page_numbers(lines))):
        if line.text.strip(FORM_FEED + " \t"):
            pages[page].append(idx)
    # The top and bottom few lines of each page, by what they keep from page to page.
    keys = {idx: running_key(lines[idx].text) for rows in pages.values() for idx in rows[:ZONE] + rows[-ZONE:]}
    seen: dict[str, set[int]] = defaultdict(set)
    for page, rows in pages.items():
        for idx in rows[:ZONE] + rows[-ZONE:]:
            seen[keys[idx]].add(page)
    needed = max(MIN_PAGES, math.ceil(0.4 * len(pages)))
    running = {key for key, on in seen.items() if len(key) >= 3 and len(on) >= needed}
    marked = {idx for idx, key in keys.items() if key in running} if len(pages) >= MIN_PAGES else set()
    return tuple(replace(line, text=line.text.replace(FORM_FEED, ""), role="furniture" if idx in marked else line.role)
                 for idx, line in enumerate(lines))


def _footer_breaks(lines: tuple[Line, ...]) -> tuple[Line, ...]:
    """``lines`` of a text without form feeds, with one put before the line after each footer
    that numbers its page, when pages 1, 2, 3 ... end so at least :data:`MIN_PAGES` times."""
    footers = [(idx, int(m.group(1))) for idx, line in enumerate(lines) if (m := _PAGE_FOOTER.match(line.text.strip()))]
    numbers = [number for _, number in footers]
    if len(footers) < MIN_PAGES or numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        return lines
    after = {idx + 1 for idx, _ in footers if idx + 1 < len(lines)}
    return tuple(replace(line, text=FORM_FEED + line.text) if idx in after else line for idx, line in enumerate(lines))
