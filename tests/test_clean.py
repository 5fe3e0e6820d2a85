"""Cleaning PDF-extraction damage: headings, re-flow, lists, footnotes, page numbers, line spans."""

from __future__ import annotations

from scoqa.ingest import Document, Line
from scoqa.ingest.layout import clean_document
from scoqa.ingest.reflow import join_lines
from scoqa.ingest.shapes import looks_like_heading


def doc(text: str, kind: str = "text") -> Document:
    return Document("t.txt", kind, tuple(Line(t, i) for i, t in enumerate(text.split("\n"), start=1)), "0")


DAMAGED = """\
 Overview

The Organisation was founded in June 2001 by six states, which are the members of
the organization. Its territory is large and it makes up a quarter of the global
population.1 Apart from China, all members were once part of one union.

Example Source, “Charter of the Organisation,” May 7, 2009, available at: http://example.org/show?id=69
(accessed May 7, 2012).
12

Attacks in the Region
Some of the many attacks of the last ten years are listed below. As can be
seen, all member states have been hit:
April 2001

Tajikistan: adviser of the president murdered

February 2004

Moscow, Russia: bombs in the metro, 50 dead,
130 wounded

Legal Foundation
Some treaties dealing with counter-terrorism cooperation are:
Charter of the Organisation, June 15, 2002
Treaty on Long-Term Good-Neighborliness, Friendship and Cooperation
Between the Member States of the Organisation and all of its partners,
August 16, 2007
Agreement on the Training of Personnel, June 16, 2009
"""


def test_headings_are_recognised_and_set_sections() -> None:
    blocks = clean_document(doc(DAMAGED))
    headings = [b.text for b in blocks if b.kind == "heading"]
    assert headings == ["Overview", "Attacks in the Region", "Legal Foundation"]
    treaty = next(b for b in blocks if b.text.startswith("Treaty"))
    assert treaty.section == "Legal Foundation"


def test_wrapped_lines_reflow_and_footnote_marks_vanish() -> None:
    para = next(b for b in clean_document(doc(DAMAGED)) if b.kind == "paragraph")
    assert "members of the organization" in para.text
    assert "global population. Apart from China" in para.text
    assert (para.line_start, para.line_end) == (3, 5)


def test_footnotes_urls_and_page_numbers_are_dropped() -> None:
    text = " ".join(b.text for b in clean_document(doc(DAMAGED)))
    assert "http" not in text and "accessed" not in text
    assert " 12 " not in f" {text} "


def test_dated_list_entries_stay_whole_with_their_date_and_lead_in() -> None:
    items = [b for b in clean_document(doc(DAMAGED)) if b.kind == "item" and b.date]
    assert [(b.date, b.text) for b in items] == [
        ("April 2001", "Tajikistan: adviser of the president murdered"),
        ("February 2004", "Moscow, Russia: bombs in the metro, 50 dead, 130 wounded"),
    ]
    assert items[1].lead_in.endswith("all member states have been hit:")
    assert (items[1].line_start, items[1].line_end) == (20, 21)


def test_treaty_entries_split_over_lines_stay_whole() -> None:
    items = [b.text for b in clean_document(doc(DAMAGED)) if b.kind == "item" and not b.date]
    assert items == [
        "Charter of the Organisation, June 15, 2002",
        "Treaty on Long-Term Good-Neighborliness, Friendship and Cooperation Between the Member States "
        "of the Organisation and all of its partners, August 16, 2007",
        "Agreement on the Training of Personnel, June 16, 2009",
    ]


def test_lone_letter_left_by_a_lost_line_starts_a_new_entry() -> None:
    text = (
        "Its main tasks are:\n"
        "To maintain working relations with competent institutions of the member states\n"
        "T\n"
        "respond to global challenges and threats\n"
    )
    items = [b.text for b in clean_document(doc(text)) if b.kind == "item"]
    assert items == [
        "To maintain working relations with competent institutions of the member states",
        "respond to global challenges and threats",
    ]


def test_markdown_headings_and_bullets() -> None:
    text = "# Report\n\n## Exercises\n\nRecent drills were:\n\n- Peace Mission-2010 in Zhambyl\n- Tianshan-2-2011 in Kashgar\n"
    blocks = clean_document(doc(text, "markdown"))
    items = [b for b in blocks if b.kind == "item"]
    assert [b.text for b in items] == ["Peace Mission-2010 in Zhambyl", "Tianshan-2-2011 in Kashgar"]
    assert items[0].section == "Report › Exercises"
    assert items[0].lead_in == "Recent drills were:"


def test_heading_shape() -> None:
    assert looks_like_heading("Legal Foundation of Cooperation")
    assert looks_like_heading("An imperfect Structure")
    assert not looks_like_heading("Kyrgyzstan: bus hijacked, 20 killed")
    assert not looks_like_heading("April 2001")
    assert not looks_like_heading("the organization and its members")


def test_hyphenation_is_undone() -> None:
    assert join_lines(["territorial integ-", "rity of states"]) == "territorial integrity of states"
    assert join_lines(["Counter-", "Terrorism Structure"]) == "Counter- Terrorism Structure"
