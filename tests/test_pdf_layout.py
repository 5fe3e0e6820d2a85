"""The PDF reader reads roles from the typesetting: headings by size and weight (and the outline),
running headers and page numbers, table-of-contents lines, footnotes, paragraph gaps, columns."""

from __future__ import annotations

from fpdf import FPDF

from scoqa.ingest.pdf import _close_letter_spacing, _continues, _joined_rows, _Row, pdf_lines
from scoqa.ingest.records import Line

HEADER = "Annual Survey of Lake Fisheries"
INTRO = [
    "The survey counted the fish of eleven lakes in the northern district over three summers, "
    "from the first thaw in May until the water cooled again in late September of each year.",
    "Counts were made from boats at dawn and at dusk, when the fish rise to feed near the surface "
    "and are easiest to see, and every count was repeated by a second observer on the same day.",
]
NOTE = "1 The district office keeps the original count sheets and lends them on request."
SAMPLING = (
    "Nets of three mesh sizes were set at fixed stations along each shore, and the catch was "
    "weighed, measured and released within the hour so that no fish was lost to the survey."
)
RESULTS = "Perch were the most common fish in nine of the eleven lakes, and pike in the other two."


class Report(FPDF):
    """An A4 report with a running header and a bare page number in the footer, as Word makes them."""

    def header(self) -> None:
        self.set_font("Helvetica", "I", 8)
        self.cell(0, 6, HEADER, align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(6)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "", 8)
        self.cell(0, 6, str(self.page_no()), align="C")


def heading(pdf: FPDF, text: str, size: float) -> None:
    pdf.set_font("Helvetica", "B", size)
    pdf.cell(0, size * 0.6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)


def paragraph(pdf: FPDF, text: str) -> None:
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(0, 5.5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)  # the space after a paragraph, larger than the line spacing


def report_pdf() -> bytes:
    pdf = Report(format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_page()
    heading(pdf, "Contents", 16)
    pdf.set_font("Helvetica", "", 11)
    for title, page in [("Introduction", 2), ("Methods", 3), ("Sampling", 3)]:
        pdf.cell(0, 7, f"{title} {'.' * 60} {page}", new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    heading(pdf, "Introduction", 16)
    for text in INTRO:
        paragraph(pdf, text)
    pdf.set_y(-40)
    pdf.set_font("Helvetica", "", 8)
    pdf.multi_cell(0, 4, NOTE, new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    heading(pdf, "Methods", 16)
    paragraph(pdf, SAMPLING)
    heading(pdf, "Sampling", 13)
    paragraph(pdf, SAMPLING)
    pdf.add_page()
    heading(pdf, "Results in brief", 11)
    paragraph(pdf, RESULTS)
    return bytes(pdf.output())


def paragraphs(lines: tuple[Line, ...], page: int, role: str) -> list[str]:
    """The texts of the page's runs of ``role`` lines, one per paragraph (empty lines split them)."""
    found: list[list[str]] = [[]]
    for line in lines:
        if line.page != page:
            continue
        if not line.text:
            found.append([])
        elif line.role == role:
            found[-1].append(line.text)
    return [" ".join(p) for p in found if p]


def test_headings_get_levels_by_size_and_weight() -> None:
    lines, _ = pdf_lines(report_pdf())
    headings = [(line.text, line.level, line.page) for line in lines if line.role == "heading"]
    assert headings == [("Contents", 1, 1), ("Introduction", 1, 2), ("Methods", 1, 3), ("Sampling", 2, 3),
                        ("Results in brief", 3, 4)]


def test_running_header_page_numbers_and_contents_are_marked() -> None:
    lines, _ = pdf_lines(report_pdf())
    furniture = [(line.page, line.text) for line in lines if line.role == "furniture"]
    assert sorted(furniture) == sorted([(p, HEADER) for p in range(1, 5)] + [(p, str(p)) for p in range(1, 5)])
    toc = [line.text for line in lines if line.role == "toc"]
    assert [t.split(" .")[0] for t in toc] == ["Introduction", "Methods", "Sampling"]
    assert all(line.role == "toc" for line in lines if "...." in line.text)


def test_footnote_at_the_page_bottom_is_kept_apart_from_the_body() -> None:
    lines, _ = pdf_lines(report_pdf())
    assert paragraphs(lines, 2, "footnote") == [NOTE]
    page2 = [line for line in lines if line.page == 2 and line.text and line.role != "furniture"]
    assert page2[-1].role == "footnote"
    assert not any(line.role == "footnote" for line in lines if line.page != 2)


def test_body_text_is_intact_in_order_with_empty_lines_between_paragraphs() -> None:
    lines, _ = pdf_lines(report_pdf())
    assert paragraphs(lines, 2, "body") == INTRO
    assert paragraphs(lines, 3, "body") == [SAMPLING, SAMPLING]
    assert paragraphs(lines, 4, "body") == [RESULTS]
    page2 = [line for line in lines if line.page == 2]
    # Wrapped lines of one paragraph stay together; each paragraph and heading stands alone.
    kinds = [line.role or "-" for line in page2 if line.role != "furniture"]
    runs = [kind for i, kind in enumerate(kinds) if i == 0 or kind != kinds[i - 1]]
    # The contents page before ended its paragraph: the page opens with an empty line.
    assert runs == ["-", "heading", "-", "body", "-", "body", "-", "footnote"]
    assert [line.lineno for line in page2] == list(range(1, len(page2) + 1))


def test_outline_names_headings_the_fonts_do_not_show() -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "", 11)
    for level, title in [(0, "Background"), (1, "Earlier surveys")]:
        pdf.start_section(title, level=level)
        pdf.cell(0, 6, title, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        pdf.multi_cell(0, 5.5, SAMPLING, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
    lines, _ = pdf_lines(bytes(pdf.output()))
    assert [(line.text, line.level) for line in lines if line.role == "heading"] == [
        ("Background", 1), ("Earlier surveys", 2)]
    assert paragraphs(lines, 1, "body") == [SAMPLING, SAMPLING]


def test_one_font_leaves_headings_to_the_layout_stage() -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "", 12)
    pdf.cell(0, 10, "Founding", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 8, SAMPLING)
    lines, _ = pdf_lines(bytes(pdf.output()))
    assert {line.role for line in lines} == {""}
    assert lines[0].text == "Founding"


def test_two_columns_read_left_column_first() -> None:
    left = "The left column opens the story of the lakes and tells it to the end of its first part. " * 3
    right = "The right column carries the story on from there and closes it with the last result. " * 3
    pdf = FPDF()
    pdf.add_page()
    heading(pdf, "Two columns", 16)
    top = pdf.get_y()
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(85, 5.5, left)
    pdf.set_xy(110, top)
    pdf.multi_cell(85, 5.5, right)
    lines, _ = pdf_lines(bytes(pdf.output()))
    texts = [line.text for line in lines if line.text]
    lefts = [i for i, t in enumerate(texts) if "left" in t or "first part" in t]
    rights = [i for i, t in enumerate(texts) if "right" in t or "last result" in t]
    assert lefts and rights and max(lefts) < min(rights)
    body = " ".join(line.text for line in lines if line.role == "body")
    assert body.startswith(left.strip()) and body.endswith(right.strip())


def test_note_references_and_page_labels_do_not_stick_to_the_text() -> None:
    """Raised note numbers inside a line are dropped ("Bundy3 once" would match no word); a page
    label like "ES-1" is furniture, so the footnotes above it are still found."""
    pdf = FPDF()
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_font("Helvetica", "", 11)
    pdf.write(5.5, "As the adviser Bundy")
    pdf.set_font("Helvetica", "", 7)
    pdf.write(4, "3")
    pdf.set_font("Helvetica", "", 11)
    pdf.write(5.5, " once said, we will lose fewer toothbrushes and more diamonds.")
    pdf.ln(8)
    pdf.multi_cell(0, 5.5, SAMPLING, new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(-40)
    pdf.set_font("Helvetica", "", 8)
    pdf.multi_cell(0, 4, "3 Congressional testimony as quoted by a newspaper in March 1989.", new_x="LMARGIN")
    pdf.set_y(-15)
    pdf.set_font("Helvetica", "", 11)
    pdf.cell(0, 6, "ES-1", align="C")
    lines, _ = pdf_lines(bytes(pdf.output()))
    assert lines[0].text.startswith("As the adviser Bundy once said")
    assert [line.text for line in lines if line.role == "footnote"] == [
        "3 Congressional testimony as quoted by a newspaper in March 1989."]
    assert [line.text for line in lines if line.role == "furniture"] == ["ES-1"]


def test_a_page_set_in_small_type_after_a_footnote_is_not_footnotes() -> None:
    """A table in small type (NIST's Framework Core) fills the pages after one with a note: the run-on
    rule read all of them as notes, which are never quoted alone."""
    pdf = FPDF()
    pdf.set_auto_page_break(False)
    for _ in range(2):  # the running text outweighs the table, as a report's does
        pdf.add_page()
        pdf.set_font("Helvetica", "", 11)
        for _ in range(8):
            pdf.multi_cell(0, 5.5, SAMPLING, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
    pdf.set_y(-40)
    pdf.set_font("Helvetica", "", 8)
    pdf.multi_cell(0, 4, NOTE, new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(0, 5.5, RESULTS, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "", 8)
    for n in range(1, 31):
        pdf.cell(0, 4, f"PR.IP-{n}: Backups of lake {n} are made, kept and tested   CIS CSC {n}",
                 new_x="LMARGIN", new_y="NEXT")
    lines, _ = pdf_lines(bytes(pdf.output()))
    assert [line.text for line in lines if line.role == "footnote"] == [NOTE]
    assert any(line.text.startswith("PR.IP-4:") and line.page == 3 for line in lines)


def test_letter_spaced_titles_become_words() -> None:
    assert _close_letter_spacing("C  O  M  P  U  T  E  R      S  E  C  U  R  I  T  Y") == "COMPUTER SECURITY"
    assert _close_letter_spacing("T  I  T  L  E") == "TITLE"
    assert _close_letter_spacing("A B C D E") == "A B C D E"  # single spaces: letters of a list
    assert _close_letter_spacing("(a) and b") == "(a) and b"


def _row(text: str, x: float, y: float = 400.0, size: float = 10.0, bold: bool = False) -> _Row:
    return _Row(text, 20, x=x, y=y, size=size, bold=bold, runs=[(len(text), x, y, size, bold)])


def test_a_word_pypdf_breaks_on_one_baseline_is_joined_again() -> None:
    # Some PDFs print "Table 2." as "Tab" and "le 2." on the same baseline; pypdf gives two lines.
    tab, rest = _row("Tab", 72.0, bold=True), _row("le 2. Number of spills by state", 87.2)
    assert _continues(tab, rest) and _joined_rows(tab, rest).text == "Table 2. Number of spills by state"
    # A word ending where the next begins a space later stays two words.
    at, the = _row("at", 72.0), _row("the end of each summer", 83.6)
    assert _joined_rows(at, the).text == "at the end of each summer"
    # A bullet, a line on another baseline, or a long line are not pieces of a word.
    assert not _continues(_row("●", 72.0), _row("Data privacy breaches:", 82.0))
    assert not _continues(tab, _row("le 2.", 87.2, y=388.0))
    assert not _continues(_row("The survey counted fish", 72.0), _row("in eleven lakes", 190.0))
