"""Readers of every format: HTML, Word, Markdown front matter, text in other encodings and line ends."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from scoqa.ingest import Document, Line, SourceError, read_document
from scoqa.ingest.layout import clean_document
from scoqa.ingest.lines import in_sequence

HTML = b"""<!DOCTYPE html>
<html><head><meta charset="ISO-8859-1"><title>Field Manual</title>
<style>p { color: red }</style><script>var secret = "never indexed";</script></head>
<body>
<nav><a href="/">Home</a> <a href="/about">About</a></nav>
<h1>Field Manual</h1>
<p><a href="#ch1">Chapter 1</a></p>
<h2 id="ch1">Chapter 1. Marching</h2>
<p>The pace is thirty inches, the length of the full step in quick time.<span class="pagenum">[Pg 12]</span></p>
<p>Caf\xe9 breaks are taken at the halt.</p>
<ul><li>Double time is 180 steps a minute.</li><li>Quick time is 120 steps a minute.</li></ul>
<div style="display:none">hidden text</div>
<div class="footnote"><p>[1] Changed in 1917.</p></div>
<footer>Copyright notice</footer>
</body></html>
"""


def _doc(tmp_path: Path, name: str, data: bytes):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_bytes(data)
    return read_document(path, tmp_path)


def test_html_keeps_visible_text_headings_lists_and_pages(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "manual.htm", HTML)
    assert doc.kind == "html" and doc.title == "Field Manual"
    text = " ".join(line.text for line in doc.lines)
    for absent in ("secret", "color: red", "Home", "hidden text", "Copyright", "Chapter 1 "):
        assert absent not in text, absent
    blocks = clean_document(doc)
    heading = next(b for b in blocks if b.kind == "heading" and "Marching" in b.text)
    assert heading.section == "Field Manual › Chapter 1. Marching"
    pace = next(b for b in blocks if "thirty inches" in b.text)
    assert pace.kind == "paragraph" and pace.section == heading.section
    cafe = next(b for b in blocks if "breaks" in b.text)
    assert cafe.text == "Café breaks are taken at the halt." and cafe.page == 12  # the marker sets the page
    items = [b.text for b in blocks if b.kind == "item"]
    assert items == ["Double time is 180 steps a minute.", "Quick time is 120 steps a minute."]
    assert [b.text for b in blocks if b.kind == "footnote"] == ["[1] Changed in 1917."]
    assert pace.line_start == 9  # the source line of its <p>


def test_docx_headings_from_styles(tmp_path: Path) -> None:
    from docx import Document

    word = Document()
    word.core_properties.title = "Travel Policy"
    word.add_heading("Travel Policy", level=0)
    word.add_heading("Booking", level=1)
    word.add_paragraph("Flights are booked through the travel office at least 14 days ahead.")
    word.add_paragraph("Economy class is the default.", style="List Bullet")
    table = word.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Per diem"
    table.rows[0].cells[1].text = "75 dollars"
    buffer = io.BytesIO()
    word.save(buffer)
    doc = _doc(tmp_path, "policy.docx", buffer.getvalue())
    assert doc.kind == "docx" and doc.title == "Travel Policy"
    blocks = clean_document(doc)
    flights = next(b for b in blocks if "Flights" in b.text)
    assert flights.section == "Travel Policy › Booking" and flights.kind == "paragraph"
    assert any(b.kind == "item" and b.text == "Economy class is the default." for b in blocks)
    assert any(b.text == "Per diem | 75 dollars" for b in blocks)


def test_broken_docx_is_one_clear_problem(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"unreadable Word document .*is it a complete \.docx file\?"):
        _doc(tmp_path, "broken.docx", b"PK\x03\x04 not really a zip")


def test_markdown_front_matter_is_metadata(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "policy.md", b"---\ntitle: Trade Controls\nversions:\n  fpt: '*'\n---\n\n# Overview\n\n"
                                      b"Users may only access the service in compliance with the law.\n")
    assert doc.title == "Trade Controls"
    assert all("fpt" not in line.text and line.text != "---" for line in doc.lines)
    assert next(line.lineno for line in doc.lines if "Users" in line.text) == 9


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-16"])
def test_text_in_other_encodings_and_crlf(tmp_path: Path, encoding: str) -> None:
    text = "Le café de la Paix est à Tashkent.\r\nIl ouvre à l’aube ; fermé le dimanche.\r\n"
    if encoding == "latin-1":
        text = text.replace("’", "'")
    doc = _doc(tmp_path, "notes.txt", text.encode(encoding))
    assert [line.text for line in doc.lines][:2] == text.replace("\r\n", "\n").splitlines()[:2]


def test_a_line_end_hyphen_of_a_compound_stays(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "notes.txt", b"Mining of the deep-\nsea floor is regulated.\n\nThe sea is deep. A territorial integ-\n"
                                      b"rity clause applies; integrity matters.\n")
    texts = [b.text for b in clean_document(doc)]
    assert "Mining of the deep-sea floor is regulated." in texts
    assert any("territorial integrity clause" in t for t in texts)


GUTENBERG = """The Project Gutenberg EBook of A Field Manual, by A. Officer

This eBook is for the use of anyone anywhere at no cost and with
almost no restrictions whatsoever.

Title: A Field Manual

Author: A. Officer

*** START OF THIS PROJECT GUTENBERG EBOOK A FIELD MANUAL ***

CHAPTER I

The pace is thirty inches, the length of the full step in quick time.

End of the Project Gutenberg EBook of A Field Manual, by A. Officer

*** END OF THIS PROJECT GUTENBERG EBOOK A FIELD MANUAL ***

1.E.8. You may charge a reasonable fee for copies of or providing
access to or distributing Project Gutenberg-tm electronic works.
"""


@pytest.mark.parametrize(("name", "data"), [
    ("manual.txt", GUTENBERG.encode()),
    ("manual.htm", ("<html><head><title>The Project Gutenberg eBook of A Field Manual</title></head><body>"
                    + "".join(f"<p>{line}</p>" for line in GUTENBERG.splitlines() if line) + "</body></html>").encode()),
])
def test_a_project_gutenberg_book_is_read_without_its_notice_and_licence(tmp_path: Path, name: str, data: bytes) -> None:
    doc = _doc(tmp_path, name, data)
    text = " ".join(line.text for line in doc.lines)
    assert "The pace is thirty inches" in text and "CHAPTER I" in text
    assert "1.E.8" not in text and "no restrictions" not in text and "START OF" not in text
    assert "Author: A. Officer" in text  # who made the book stays: a title page may name them only in a heading
    assert doc.title == "A Field Manual"  # the catalogue's title, not the page's "The Project Gutenberg eBook of ..."
    if name.endswith(".txt"):  # lines keep their numbers in the file
        assert next(line.lineno for line in doc.lines if "The pace" in line.text) == 14


def test_a_file_without_the_markers_is_kept_whole(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "notes.md", b"# Notes\n\nSome text.\n\nMore text without any marker.\n")
    assert [line.text for line in doc.lines if line.text] == ["# Notes", "Some text.", "More text without any marker."]
    assert doc.title == ""


def test_markdown_reads_as_text_links_by_their_words(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "baseline.md", b"# Policies\n\n_Rationale:_ see [T1110: Brute Force](https://attack.mitre.org/T1110/)"
                                        b" and **all** ![badge](https://img.shields.io/x.svg) `settings`.\n\n"
                                        b"```\ncode *stays* [as](written)\n```\n")
    lines = [line.text for line in doc.lines if line.text]
    assert lines[1] == "Rationale: see T1110: Brute Force and all  settings."
    assert "code *stays* [as](written)" in lines  # fenced code is not Markdown text


def test_plain_text_loses_emphasis_underscores_and_note_anchors_and_keeps_its_footnotes_apart(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "candle.txt", b"A candle of the _Royal George_[1], it is said; snake_case stays.\n\n"
                                       b"[Footnote 1: Page 16. The Royal George sunk\nat Spithead in 1782.]\n\nMore text.\n")
    assert doc.lines[0].text == "A candle of the Royal George, it is said; snake_case stays."
    assert [line.role for line in doc.lines] == ["", "", "footnote", "footnote", "", ""]
    blocks = clean_document(doc)
    notes = [b.text for b in blocks if b.kind == "footnote"]
    assert notes == ["[Footnote 1: Page 16. The Royal George sunk at Spithead in 1782.]"]
    assert [b.text for b in blocks if b.kind == "paragraph"][-1] == "More text."


def test_numbered_chapter_labels_with_full_stops_head_sections_of_plain_text(tmp_path: Path) -> None:
    text = "".join(f"CHAP. {n}.\n\nThe angler speaks of the {fish} and of the river where it lives.\n\n"
                   for n, fish in (("I", "trout"), ("II", "pike"), ("III", "carp")))
    blocks = clean_document(_doc(tmp_path, "angler.txt", text.encode()))
    sections = {b.text.split()[5]: b.section for b in blocks if b.kind == "paragraph"}
    assert sections == {"trout": "CHAP. I.", "pike": "CHAP. II.", "carp": "CHAP. III."}


def test_a_back_of_book_index_is_not_text(tmp_path: Path) -> None:
    html = ("<html><body><h1>Music in Dickens</h1><p>The bagpipes appear in two of the novels.</p>"
            "<h2>INDEX OF INSTRUMENTS</h2><ul>" + "".join(f"<li>{name}, {page}, {page + 7}</li>" for name, page in
                                                     (("Accordion", 1), ("Bagpipes", 5), ("Harp", 10), ("Piano", 44)))
            + "</ul><h2>Index of Songs</h2><p>A</p><p>Auld Lang Syne | 12-14</p><p>Away with Melancholy | 30</p>"
            "</body></html>")
    blocks = clean_document(_doc(tmp_path, "music.htm", html.encode()))
    assert [b.text for b in blocks if b.kind != "heading"] == ["The bagpipes appear in two of the novels."]


def test_the_longer_suffixes_of_markdown_and_html_are_read_as_them(tmp_path: Path) -> None:
    markdown = _doc(tmp_path, "spec.markdown", b"# Versions\n\nA version is *three* numbers.\n")
    xhtml = _doc(tmp_path, "book.xhtml", b'<?xml version="1.0" encoding="utf-8"?>\n'
                 b'<html xmlns="http://www.w3.org/1999/xhtml"><body><h1>Sonatas</h1><p>Op. 27 is in C sharp minor.</p>'
                 b"</body></html>")
    assert markdown.kind == "markdown" and [line.text for line in markdown.lines if line.text][1] == (
        "A version is three numbers.")
    assert xhtml.kind == "html" and [line.text for line in xhtml.lines if line.text] == [
        "Sonatas", "Op. 27 is in C sharp minor."]


def test_a_ditto_mark_in_an_html_table_says_the_cell_above(tmp_path: Path) -> None:
    html = ("<html><body><table><tr><th>Opus</th><th>No.</th><th>Published</th><th>Dedicated to</th></tr>"
            "<tr><td>Op. 27</td><td>No. 1</td><td>1802.</td><td>Princess Liechtenstein.</td></tr>"
            "<tr><td>&quot;</td><td>No. 2</td><td>&quot;</td><td>Countess Guicciardi.</td></tr>"
            "<tr><td>Op. 28</td><td>&#8221; &#8221;</td><td>do.</td><td>Sonnenfels.</td></tr>"
            "</table><table><tr><td>&quot;</td><td>A cell of a new table has nothing above it.</td></tr></table>"
            "</body></html>")
    rows = [line.text for line in _doc(tmp_path, "sonatas.htm", html.encode()).lines if line.text]
    assert rows[2] == "Op. 27 | No. 2 | 1802. | Countess Guicciardi."
    assert rows[3] == "Op. 28 | No. 2 | 1802. | Sonnenfels."
    assert rows[4] == '" | A cell of a new table has nothing above it.'


def test_a_table_row_with_dot_leaders_is_not_a_heading(tmp_path: Path) -> None:
    text = ("The air is made of two gases, as the table shows.\n\n"
            "Oxygen,   .  .  .  .  20    22.3\nNitrogen, .  .  .  .  80    77.7\n\nThe rest is water.\n")
    blocks = clean_document(_doc(tmp_path, "candle.txt", text.encode()))
    assert not [b for b in blocks if b.kind == "heading"]
    assert any("Oxygen" in b.text and "22.3" in b.text for b in blocks)


def _rfc_page(number: int, body: str) -> str:
    """One page of an RFC-style text: header, body, footer, and the form feed after it."""
    return (f"RFC 9999              A Protocol for Tests             March 2030\n\n{body}\n\n"
            f"Writer & Reader            Standards Track                  [Page {number}]\n\f")


RFC = "".join(_rfc_page(n, body) for n, body in enumerate((
    "1.  Introduction\n\n   The protocol moves small messages between two peers over one\n   connection.",
    "   A peer that closes the connection sends a status code and a\n   reason.\n\n"
    "1.1.  Status Codes\n\n   1009 indicates that a message was too big to process.",
    "1.2.  Reserved Codes\n\n   Codes from 1000 to 2999 are reserved for this\n   protocol.\n\n"
    "   Steps a client takes:\n\n   9.   Optionally, a header field, with a\n        list of extensions.",
    "2.  Security Considerations\n\n2.1.  Threats\n\n   Peers check every message before they act on it.",
), start=1))


def test_paged_text_loses_running_headers_and_footers_and_keeps_line_numbers(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "rfc9999.txt", RFC.encode())
    furniture = {line.text.split()[0] for line in doc.lines if line.role == "furniture"}
    assert furniture == {"RFC", "Writer"}
    assert not any("\f" in line.text for line in doc.lines)
    # A form feed does not end a line: line numbers are the file's, as an editor counts them.
    status = next(line for line in doc.lines if "1009" in line.text)
    assert status.lineno == RFC.split("\n").index("   1009 indicates that a message was too big to process.") + 1
    blocks = clean_document(doc)
    text = " ".join(b.text for b in blocks)
    assert "Standards Track" not in text and "March 2030" not in text
    # The paragraph the page break interrupted goes on across it.
    assert "A peer that closes the connection sends a status code and a reason." in text


def test_a_copy_without_form_feeds_reads_as_the_paged_text(tmp_path: Path) -> None:
    # Copies of RFCs often lose their form feeds; the footers that number the pages still end them.
    paged = clean_document(_doc(tmp_path, "rfc9999.txt", RFC.encode()))
    unpaged = clean_document(_doc(tmp_path, "rfc9999-copy.txt", RFC.replace("\f", "").encode()))
    assert [(b.kind, b.section, b.text) for b in unpaged] == [(b.kind, b.section, b.text) for b in paged]
    # A line that only looks like a footer, once, ends no page.
    text = "See the table below [Page 3]\nRFC 1 is old.\n"
    assert " ".join(b.text for b in clean_document(_doc(tmp_path, "note.txt", text.encode()))).startswith("See the")


def test_numbered_section_headings_of_plain_text_nest_by_their_numbers(tmp_path: Path) -> None:
    blocks = clean_document(_doc(tmp_path, "rfc9999.txt", RFC.encode()))
    section = {b.text.split()[0]: b.section for b in blocks if b.kind != "heading"}
    assert section["1009"] == "1.  Introduction › 1.1.  Status Codes"
    assert section["Codes"] == "1.  Introduction › 1.2.  Reserved Codes"
    assert section["Peers"] == "2.  Security Considerations › 2.1.  Threats"
    # A numbered list entry whose text runs on is no heading.
    assert not any(b.kind == "heading" and b.text.startswith("9.") for b in blocks)


def test_one_level_numbers_are_list_entries_where_sections_are_not_numbered(tmp_path: Path) -> None:
    text = "The member states agreed on three steps:\n\n1. Joint Exercises\n\n2. Shared Lists\n\n3. A Regional Office\n"
    blocks = clean_document(_doc(tmp_path, "steps.txt", text.encode()))
    assert not [b for b in blocks if b.kind == "heading"]
    assert [b.text for b in blocks if b.kind == "item"] == ["Joint Exercises", "Shared Lists", "A Regional Office"]


def test_an_rfcs_o_bullets_are_list_entries(tmp_path: Path) -> None:
    text = ("   General-use user agents SHOULD provide each of the following minimum\n"
            "   capabilities:\n\n"
            "   o  At least 4096 bytes per cookie (as measured by the sum of the\n"
            "      length of the cookie's name, value, and attributes).\n\n"
            "   o  At least 50 cookies per domain.\n\n"
            "   o IF the client has not requested a specific lease, the server\n"
            "      assigns a locally configured default lease time.\n\n"
            "   Servers SHOULD use as few and as small cookies as possible.\n")
    blocks = clean_document(_doc(tmp_path, "rfc.txt", text.encode()))
    assert [b.text for b in blocks if b.kind == "item"] == [
        "At least 4096 bytes per cookie (as measured by the sum of the length of the cookie's name, value, and "
        "attributes).", "At least 50 cookies per domain.",
        "IF the client has not requested a specific lease, the server assigns a locally configured default lease time."]
    after = [b.text for b in blocks if b.kind == "paragraph"][-1]
    assert after == "Servers SHOULD use as few and as small cookies as possible."


def test_text_without_form_feeds_keeps_a_repeated_line(tmp_path: Path) -> None:
    text = "".join(f"Chorus of the song\n\nVerse {n} tells of the river.\n\n" for n in range(6))
    doc = _doc(tmp_path, "song.txt", text.encode())
    assert not any(line.role == "furniture" for line in doc.lines)


def _pdf_lines(*rows: tuple[str, str, int]) -> Document:
    """A PDF's lines as its reader gives them: (text, role, level), an empty line after each."""
    lines = []
    for text, role, level in rows:
        lines += [Line(text, len(lines) + 1, 1, role, level), Line("", len(lines) + 2, 1)]
    return Document("guide.pdf", "pdf", tuple(lines), "0" * 64)


def test_numbered_headings_in_a_pdfs_body_font_nest_with_its_font_headings() -> None:
    body = "Agencies keep a record of every system that holds such information."
    doc = _pdf_lines(("A Guide to Records", "heading", 1), ("1. Introduction", "", 0), (body, "body", 0),
                     ("1.1 Authority", "body", 0), (body, "body", 0), ("1.2 Scope", "body", 0), (body, "body", 0),
                     ("2. Examples of Records", "", 0), ("2.1 Paper Files", "body", 0), (body, "body", 0),
                     ("The benefits are:", "body", 0), ("3. Lower Costs", "", 0), ("2.2 Databases", "body", 0),
                     (body, "body", 0), ("3. Results", "", 0), (body, "body", 0),
                     ("Appendix A—Glossary", "heading", 2), (body, "body", 0))
    sections = [b.section for b in clean_document(doc) if b.kind == "paragraph" and b.text == body]
    assert sections == [
        "A Guide to Records › 1. Introduction", "A Guide to Records › 1. Introduction › 1.1 Authority",
        "A Guide to Records › 1. Introduction › 1.2 Scope",
        "A Guide to Records › 2. Examples of Records › 2.1 Paper Files",
        # "3. Lower Costs" is an entry of a list inside 2.1: 3 does not follow 2.1
        "A Guide to Records › 2. Examples of Records › 2.2 Databases", "A Guide to Records › 3. Results",
        "A Guide to Records › Appendix A—Glossary",
    ]


def test_numbered_sections_follow_each_other() -> None:
    entries = [(n, text.count(".") + 1, text) for n, text in enumerate(
        ["1", "1.1", "1.2", "1.2.1", "2", "1", "86", "2.1", "3", "2.2", "3", "3.1"])]
    assert [e[2] for e in in_sequence(entries)] == ["1", "1.1", "1.2", "1.2.1", "2", "2.1", "2.2", "3", "3.1"]
    assert [e[0] for e in in_sequence(entries)][-2:] == [10, 11]  # the second "3", after "2.2"


def test_a_missed_sub_section_does_not_break_the_numbering() -> None:
    # "3.1" was not read as a heading: 3.2 and 3.3 still follow 3.
    entries = [(n, text.count(".") + 1, text) for n, text in enumerate(["1", "2", "2.1", "3", "3.2", "3.3", "4"])]
    assert [e[2] for e in in_sequence(entries)] == ["1", "2", "2.1", "3", "3.2", "3.3", "4"]


RFC_SECTIONS = """\
                         The Example Protocol

1.  Introduction

   The protocol names hosts.

2.  Message format

2.1.  Header fields

   Every message has a header.

2.2.  Type values

   TYPE fields are used in resource records.

   TYPE            value and meaning

   A               1 a host address

   MX              15 mail exchange

2.3.  Compression of names

   Names may be compressed.

3.  Security Considerations

   None.
"""


def test_an_rfcs_sub_sections_in_sentence_case_are_headings_and_its_table_rows_text(tmp_path: Path) -> None:
    blocks = clean_document(_doc(tmp_path, "rfc.txt", RFC_SECTIONS.encode()))
    assert [" ".join(b.text.split()) for b in blocks if b.kind == "heading" and b.text[:1].isdigit()] == [
        "1. Introduction", "2. Message format", "2.1. Header fields", "2.2. Type values",
        "2.3. Compression of names", "3. Security Considerations"]
    rows = [b for b in blocks if "mail exchange" in b.text]
    assert rows and rows[0].kind == "paragraph" and " ".join(rows[0].section.split()).endswith("2.2. Type values"), rows


def test_markdown_setext_headings_rules_and_tables(tmp_path: Path) -> None:
    text = ("Guide to Boats\n==============\n\nThe harbour has boats.\n\n---\n\nMooring rules\n-------------\n\n"
            "Boats moor at the north pier.\n\n- a list entry\n---\n\n| Pier | Opens |\n|:-----|------:|\n"
            "| North | 5 **am** |\n| South | 6 am |\n")
    blocks = clean_document(_doc(tmp_path, "boats.md", text.encode()))
    assert [(b.kind, b.text) for b in blocks if b.kind == "heading"] == [
        ("heading", "Guide to Boats"), ("heading", "Mooring rules")]
    said = [(b.section, b.text) for b in blocks if b.kind != "heading"]
    assert ("Guide to Boats", "The harbour has boats.") in said
    assert ("Guide to Boats › Mooring rules", "North | 5 am") in said  # a row reads as its cells
    assert not any(set(t) <= set("-=|: ") for _, t in said)  # no underline, rule or header dashes as text


def test_lines_set_in_from_plain_text_are_examples_not_headings(tmp_path: Path) -> None:
    text = ("II. RULES OF USAGE\n\n1. Form the possessive singular of nouns by adding 's.\n\n"
            "Follow this rule whatever the final consonant. Thus write,\n\n  Charles's friend\n\n  Burns's poems\n\n"
            "This is the usage of the Government Printing Office.\n\n"
            "                         III. PRINCIPLES OF COMPOSITION\n\n"
            "Choose a suitable design and hold to it.\n\n A Wrapped Heading\n\nText under it.\n")
    blocks = clean_document(_doc(tmp_path, "style.txt", text.encode()))
    assert [b.text for b in blocks if b.kind == "heading"] == [
        "II. RULES OF USAGE", "III. PRINCIPLES OF COMPOSITION", "A Wrapped Heading"]  # centred, or one column in
    section = {b.text: b.section for b in blocks if b.kind != "heading"}
    assert section["This is the usage of the Government Printing Office."] == "II. RULES OF USAGE"
    assert any("Charles's friend" in t for t in section)  # text of its section, not a heading


def test_a_contents_page_without_dot_leaders_is_not_text(tmp_path: Path) -> None:
    text = ("CONTENTS\n\n                                        Page\n\n    I. Introductory            5\n\n"
            "   II. Rules of Usage          7\n\n       1. Place the emphatic words of a sentence at the end     31\n\n"
            "I. INTRODUCTORY\n\nThis book aims to give in brief space the principal requirements of plain English.\n")
    blocks = clean_document(_doc(tmp_path, "style.txt", text.encode()))
    assert [b.text for b in blocks if b.kind != "heading"] == [
        "This book aims to give in brief space the principal requirements of plain English."]


def test_an_appendix_stands_beside_the_numbered_sections() -> None:
    body = "Agencies measure how long each patch takes to deploy."
    doc = _pdf_lines(("4. Technologies", "heading", 1), (body, "body", 0), ("5. Metrics", "heading", 1),
                     (body, "body", 0), ("Appendix A—A Tutorial", "heading", 2), (body, "body", 0),
                     ("A.1 Components", "heading", 3), (body, "body", 0))
    sections = [b.section for b in clean_document(doc) if b.kind == "paragraph"]
    assert sections == ["4. Technologies", "5. Metrics", "Appendix A—A Tutorial",
                        "Appendix A—A Tutorial › A.1 Components"]


#: A book's title page set in headings, its contents, then chapters; a part heading with nothing
#: under it, and an author's address closing the book in headings.
TITLE_PAGE = b"""<html><head><title>Lantern Lore</title></head><body>
<h1>LANTERN LORE</h1>
<h2>OF THE</h2>
<h1>NORTHERN STRAITS</h1>
<h2>By J. QUENNELL</h2>
<h3>Reprinted from the Journal of Coastal Studies, 1890</h3>
<h2>CONTENTS</h2>
<h3>Signals</h3>
<h3>Keepers</h3>
<h2>SIGNALS</h2>
<p>Keepers on the northern straits signalled each other with lanterns, a long flash for a gale and two
short ones for fog, and repeated each warning until the other keeper answered with a single flash.</p>
<h2>KEEPERS</h2>
<p>The keepers lived in pairs, one on each shore, and kept a log of every signal they sent or answered,
with the hour and the weather, which the inspector read at the end of each season.</p>
<p>A new keeper learned the signals from the log before the first winter, and was sent to the other
shore for a week so that each of the pair would know the other's lantern and the way it was held.</p>
<h2>PART II</h2>
<h2>WEATHER</h2>
<p>Gales came most often in the autumn, fog in the late spring, and a keeper could expect a warning
from the other shore on one night in three during the worst months of the year.</p>
<h2>Author's Address</h2>
<h3>J. Quennell</h3>
<h3>Tarn Institute</h3>
</body></html>
"""


def test_a_title_page_set_in_headings_is_read_as_text(tmp_path: Path) -> None:
    """Each heading of a title page is replaced by the next before any text comes under it: its
    words would be in no passage and on no section path. They are read as a ``title`` block:
    searched, but not quoted as body text."""
    blocks = clean_document(_doc(tmp_path, "lore.htm", TITLE_PAGE))
    titles = [b for b in blocks if b.kind == "title"]
    assert titles[0].text == ("LANTERN LORE OF THE NORTHERN STRAITS By J. QUENNELL "
                              "Reprinted from the Journal of Coastal Studies, 1890")
    assert titles[0].section == "" and titles[0].line_start == 2 and titles[0].line_end == 6
    # The book's closing run of headings is its author's address; the contents page's headings
    # and a part's label in the body stay headings.
    assert [t.text for t in titles] == [titles[0].text, "Author's Address J. Quennell Tarn Institute"]
    headings = [b.text for b in blocks if b.kind == "heading"]
    assert {"CONTENTS", "Signals", "Keepers", "PART II"} <= set(headings), headings
    assert [b.section for b in blocks if b.kind == "paragraph"] == [
        "NORTHERN STRAITS › SIGNALS", "NORTHERN STRAITS › KEEPERS", "NORTHERN STRAITS › KEEPERS",
        "NORTHERN STRAITS › WEATHER"]
