"""HTML: the visible text of a page as lines, with the headings, lists and footnotes its markup
declares (lxml's HTML parser, which copes with the tag soup real pages are made of).

Only what a reader sees is kept: ``<script>``, ``<style>``, ``<template>``, hidden elements and
navigation (``<nav>``, ``<header>``, ``<footer>``, ``<aside>``, and blocks that are nothing but
links to places in the same page, i.e. a table of contents) are left out. Each block element
(paragraph, heading, list entry, table row, definition) becomes one line numbered by where it
starts in the file, followed by an empty line; ``<pre>`` keeps its own lines. Page markers that
digitised books carry (an element classed ``pagenum``, e.g. ``[Pg 12]``) are not text: they set
the page number of what follows, so citations can give pages as for a PDF.
"""

from __future__ import annotations

import re

from .records import Line, SourceError

_DROP = {"script", "style", "noscript", "template", "head", "nav", "header", "footer", "aside", "iframe",
         "object", "svg", "button", "select", "form", "input", "textarea"}
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_BLOCKS = {"p", "div", "li", "dt", "dd", "blockquote", "pre", "table", "tr", "td", "th", "ul", "ol", "dl",
           "section", "article", "main", "body", "center", "figure", "figcaption", "caption", "address",
           "tbody", "thead", "tfoot", *(_HEADINGS)}
_PAGE_MARK = re.compile(r"\bpage-?num|\bpagebreak\b|\bpage-number\b", re.IGNORECASE)
_FOOTNOTE = re.compile(r"\bfoot-?note|\bendnote|\bfnote\b", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")
#: A table cell that says "as above": ditto marks ('"', '" "') or the word.
_DITTO = re.compile(r"(?:[\"”〃]\s*)+|do\.|ditto", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


def html_lines(data: bytes) -> tuple[tuple[Line, ...], str]:
    """The visible text of an HTML file as lines, and its ``<title>``.

    Raises:
        SourceError: if the bytes are not HTML with any text in it.
    """
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.document_fromstring(data, parser=lxml.html.HTMLParser(encoding=_encoding(data)))
    except (etree.ParserError, ValueError) as exc:
        raise SourceError(f"unreadable HTML ({exc}); is the file complete?") from None
    title_el = root.find(".//title")
    title = _SPACE.sub(" ", title_el.text_content()).strip() if title_el is not None else ""
    body = root.find("body")
    walker = _Walker()
    walker.walk(body if body is not None else root)
    return tuple(walker.lines), title


def _encoding(data: bytes) -> str | None:
    """The encoding a page declares in its first bytes, else UTF-8 if it decodes, else a guess."""
    head = data[:4096].decode("ascii", errors="replace")
    declared = re.search(r"""charset\s*=\s*["']?([\w-]+)""", head, re.IGNORECASE)
    if declared:
        import codecs

        try:
            return codecs.lookup(declared.group(1)).name
        except LookupError:
            pass
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        from .text import guess_encoding

        try:
            return str(guess_encoding(data).encoding)
        except SourceError:
            return None


def _classes(el) -> str:  # type: ignore[no-untyped-def]
    return f"{el.get('class') or ''} {el.get('id') or ''}"


def _hidden(el) -> bool:  # type: ignore[no-untyped-def]
    style = (el.get("style") or "").replace(" ", "").lower()
    return el.get("hidden") is not None or el.get("aria-hidden") == "true" or "display:none" in style


class _Walker:
    """Depth-first walk that emits one line per innermost block element."""

    def __init__(self) -> None:
        self.lines: list[Line] = []
        self.page: int | None = None
        self.row_above: list[str] = []  # the cells of the table row before, dittos resolved

    def emit(self, text: str, lineno: int, role: str, level: int = 0) -> None:
        text = _SPACE.sub(" ", text).strip()
        if not text:
            return
        self.lines.append(Line(text, lineno, self.page, role, level))
        self.lines.append(Line("", lineno, self.page))

    def walk(self, el, role: str = "body") -> None:  # type: ignore[no-untyped-def]
        tag = el.tag if isinstance(el.tag, str) else ""
        if not tag or tag in _DROP or _hidden(el):
            return
        if _PAGE_MARK.search(_classes(el)):
            number = _DIGITS.search(el.text_content() or "")
            if number:
                self.page = int(number.group())
            return
        if _FOOTNOTE.search(_classes(el)):
            role = "footnote"
        if tag in _HEADINGS:
            self.emit(self.inline_text(el), el.sourceline or 0, "heading", _HEADINGS[tag])
            return
        if tag == "pre":
            for offset, text in enumerate(self.inline_text(el, keep_lines=True).splitlines()):
                self.emit(text, (el.sourceline or 0) + offset, role)
            return
        if tag == "table":
            self.row_above = []
        if tag == "tr":
            cells = [self.inline_text(c) for c in el if isinstance(c.tag, str) and c.tag in ("td", "th")]
            if _internal_links_only(el):
                return
            # Old books' tables print a value once and ditto marks under it ('Op. 27 | No. 1 |
            # 1802.', then '" | No. 2 | "'): each row is a passage of its own, so it says them.
            if len(cells) == len(self.row_above):
                cells = [above if _DITTO.fullmatch(cell.strip()) else cell
                         for cell, above in zip(cells, self.row_above)]
            self.row_above = cells
            self.emit(" | ".join(c for c in cells if c.strip()), el.sourceline or 0, role)
            return
        if not any(isinstance(c.tag, str) and c.tag in _BLOCKS for c in el.iterdescendants()):
            if _internal_links_only(el):
                return  # a table of contents or a "back to top" link
            self.emit(self.inline_text(el), el.sourceline or 0, "item" if tag in ("li", "dt") and role == "body" else role)
            return
        # A block holding other blocks: its loose text between them is a paragraph of its own.
        if el.text and el.text.strip():
            self.emit(el.text, el.sourceline or 0, role)
        for child in el:
            self.walk(child, role)
            if child.tail and child.tail.strip() and tag not in ("table", "tbody", "thead", "tr", "ul", "ol", "dl"):
                self.emit(child.tail, child.sourceline or el.sourceline or 0, role)

    def inline_text(self, el, keep_lines: bool = False) -> str:  # type: ignore[no-untyped-def]
        """The text of an element without its dropped parts; page markers inside it set the page."""
        parts: list[str] = []

        def visit(node) -> None:  # type: ignore[no-untyped-def]
            tag = node.tag if isinstance(node.tag, str) else ""
            if node is not el and (not tag or tag in _DROP or _hidden(node)):
                parts.append(node.tail or "")
                return
            if node is not el and _PAGE_MARK.search(_classes(node)):
                number = _DIGITS.search(node.text_content() or "")
                if number:
                    self.page = int(number.group())
                parts.append(node.tail or "")
                return
            if tag == "br":
                parts.append("\n" if keep_lines else " ")
            parts.append(node.text or "")
            for child in node:
                visit(child)
            if node is not el:
                parts.append(node.tail or "")

        visit(el)
        return "".join(parts)


def _internal_links_only(el) -> bool:  # type: ignore[no-untyped-def]
    """Whether the element's text is all inside links to places in the same page (navigation)."""
    text = _SPACE.sub("", el.text_content() or "")
    if not text:
        return False
    linked = "".join(_SPACE.sub("", a.text_content() or "") for a in el.iter("a")
                     if (a.get("href") or "").startswith("#"))
    return len(linked) >= 0.8 * len(text.replace("|", ""))
