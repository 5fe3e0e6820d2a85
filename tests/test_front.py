"""Questions about a document itself: who wrote it, who published it, when it came out.

The answer sits on a title page, an RFC's header block or under a numbered part's heading, set
as a title, which ordinary answers never quote (:mod:`scoqa.qa.front`).
"""

from __future__ import annotations

import pytest

from scoqa import ask
from scoqa.engine import Engine
from scoqa.index.build import build_index
from scoqa.qa.answer import Answerer
from scoqa.qa.front import asks_about_document

from .index_helpers import cli, make_settings
from .test_formats import TITLE_PAGE

#: An RFC's first page: the header block (authors, number, date) in two columns, then its body.
RFC = """\


Internet Engineering Task Force (IETF)                        J. Quennell
Request for Comments: 9999                                 Tarn Institute
Category: Standards Track                                   November 2031
Obsoletes: 9001
ISSN: 2070-1721


                 The Lantern Signalling Protocol

Abstract

   This document defines the lantern signalling protocol, by which
   lighthouse keepers exchange weather warnings across a strait at night.

1.  Introduction

   Keepers have long signalled each other with lanterns. The protocol
   was first published in draft form in March 2029 and revised after
   trials on three straits. Each warning is a sequence of long and short
   flashes, repeated until the other keeper answers with a single flash.

2.  Warnings

   A gale warning is three long flashes. A fog warning is two short
   flashes followed by one long flash. Keepers repeat a warning every
   ten minutes while the weather lasts.
"""

OTHER = """\
# Orchard care

Apple trees are pruned in late winter, before their buds open, so that the cuts heal quickly.
Pear trees need the same care, but their branches are thinned less each year.
"""


@pytest.mark.parametrize(("question", "fact"), [
    ("In which month and year was the guide released?", "when"),
    ("From which periodical was the essay reprinted?", "who"),
    ("Who is the author of RFC 6265?", "who"),
    ("Who are the authors of the guide?", "who"),
    ("Who wrote this report?", "who"),
    ("Which New York firm published The Elements of Style?", "who"),
    ("When was RFC 6265 published?", "when"),
    ("When was this In Focus updated?", "when"),
    ("In what year was the memo issued?", "when"),
    # The work's history is told in its text, not on the edition's title page.
    ("Who first published The Compleat Angler in 1653?", ""),
    ("When was the strategy first released in draft form?", ""),
    ("Who is the head of the agency?", ""),
    ("When does a keeper repeat a warning?", ""),
    # What earlier document it replaces is a header field too; what the text calls obsolete is not.
    ("Which earlier RFC does RFC 6265 obsolete?", "supersedes"),
    ("What does SP 800-40 Revision 3 supersede?", "supersedes"),
    ("Which of the transfer modes is obsolete?", ""),
])
def test_what_asks_about_a_document_itself(question: str, fact: str) -> None:
    assert asks_about_document(question) == fact


def test_where_a_numbered_part_first_appeared_is_its_byline() -> None:
    question = "In which newspaper was Federalist No. 10 first printed?"
    assert asks_about_document(question) == ""  # a whole work's history is in its text
    assert asks_about_document(question, part=True) == "who"  # a part's byline says it


@pytest.fixture(scope="module")
def lanterns(tmp_path_factory):  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path_factory.mktemp("front"), {"rfc9999.txt": RFC, "orchard.md": OTHER,
                                                                "lore.htm": TITLE_PAGE.decode()})
    build_index(settings)
    return settings


def test_who_wrote_a_document_is_answered_from_its_header(lanterns) -> None:  # type: ignore[no-untyped-def]
    reply = ask("Who is the author of RFC 9999, the lantern signalling protocol?", settings=lanterns)
    assert reply.answered and "J. Quennell" in reply.text and reply.text.endswith("[1]"), reply.text
    assert reply.sources[0].source == "rfc9999.txt" and reply.sources[0].line_start <= 3
    # The quote is the header as it reads in the file, its columns' runs of spaces closed up.
    quote = reply.quotes[0]
    assert " ".join(reply.sources[0].text[quote.start:quote.end].split()) in reply.text


def test_a_document_named_by_what_kind_of_document_it_is_is_answered_from_its_header(lanterns) -> None:  # type: ignore[no-untyped-def]
    # Nothing in the RFC says "specification": the word says what kind of document, not which.
    reply = ask("Who is the author of the lantern signalling specification?", settings=lanterns)
    assert reply.answered and "J. Quennell" in reply.text, reply.text


def test_the_command_line_lists_the_header_it_quotes(lanterns, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli(capsys, lanterns, "ask", "When was RFC 9999 published?")
    assert code == 0 and "November 2031" in out.split("Sources:")[0], out
    assert "Sources:\n[1] rfc9999.txt" in out, out


def test_when_a_document_came_out_is_answered_from_its_header(lanterns) -> None:  # type: ignore[no-untyped-def]
    reply = ask("When was RFC 9999 published?", settings=lanterns)
    assert reply.answered and "November 2031" in reply.text, reply.text


def test_what_a_document_replaces_is_answered_from_its_header(lanterns) -> None:  # type: ignore[no-untyped-def]
    reply = ask("Which earlier RFC does RFC 9999 obsolete?", settings=lanterns)
    assert reply.answered and "Obsoletes: 9001" in reply.text, reply.text


def test_a_title_page_set_in_headings_answers_who_wrote_a_book_and_where_it_appeared(lanterns) -> None:  # type: ignore[no-untyped-def]
    reply = ask("Who wrote Lantern Lore of the Northern Straits?", settings=lanterns)
    assert "By J. QUENNELL" in reply.text and reply.sources[0].kind == "title", reply.text
    reply = ask("From which journal was Lantern Lore of the Northern Straits reprinted?", settings=lanterns)
    assert "Journal of Coastal Studies" in reply.text, reply.text
    # The title page is no body text: it does not answer what it only seems to ("1890").
    reply = ask("In what year was J. Quennell born?", settings=lanterns)
    assert "1890" not in reply.text, reply.text


def test_a_title_page_counts_less_than_the_text_in_a_search(lanterns) -> None:  # type: ignore[no-untyped-def]
    """A title page is short and names the title and the author: as a footnote, it must not come
    before the passage that answers a question naming them."""
    hits = Engine(lanterns).searcher().search("Lantern lore of the northern straits: how did keepers signal?", 3)
    assert hits[0].kind == "paragraph" and "signalled each other with lanterns" in hits[0].text, hits


def test_a_question_that_says_more_than_the_document_is_answered_from_the_text(lanterns) -> None:  # type: ignore[no-untyped-def]
    # "draft form" is no word of the title page: the answer is in the body.
    reply = ask("When was the lantern protocol first published in draft form?", settings=lanterns)
    assert "March 2029" in reply.text, reply.text
    reply = ask("When was the lantern protocol published in draft form?", settings=lanterns)
    assert "March 2029" in reply.text, reply.text


def test_a_document_the_question_does_not_name_is_not_answered_from_a_title_page(lanterns) -> None:  # type: ignore[no-untyped-def]
    engine = Engine(lanterns)
    answerer = Answerer(engine.searcher())
    question = "Who wrote the orchard guide to pruning pear trees?"
    hits = engine.searcher().search(question, 5)
    assert answerer.front.answer(question, hits) == []  # no header names anyone
    assert answerer.front.answer("Who wrote the history of the Roman empire?", hits) == []


def test_a_follow_up_is_not_answered_from_a_title_page(lanterns) -> None:  # type: ignore[no-untyped-def]
    history = [{"role": "user", "content": "What is a gale warning?"},
               {"role": "assistant", "content": "A gale warning is three long flashes. [1]"}]
    reply = ask("Who wrote it?", history=history, settings=lanterns)
    assert "Quennell" not in reply.text, reply.text


def test_a_numbered_part_is_answered_from_the_byline_under_its_heading(devcorpus_settings) -> None:  # type: ignore[no-untyped-def]
    """Each Federalist paper's heading carries its newspaper, date and author."""
    reply = ask("When was Federalist No. 10 published?", settings=devcorpus_settings)
    assert "November 22, 1787" in reply.text and "Daily Advertiser" in reply.text, reply.text
    reply = ask("Who wrote Federalist No. 10?", settings=devcorpus_settings)
    assert "MADISON" in reply.text, reply.text
    assert reply.sources[0].section.startswith("FEDERALIST No. 10 ")
    reply = ask("In which newspaper was Federalist No. 10 first printed?", settings=devcorpus_settings)
    assert "Daily Advertiser" in reply.text, reply.text


def test_title_pages_are_read_once_an_index(lanterns) -> None:  # type: ignore[no-untyped-def]
    engine = Engine(lanterns)
    first = engine.answerer().front
    assert engine.answerer().front is first  # every question of the API asks the engine's answerer
    assert "lantern" in first.words["rfc9999.txt"]  # its title page's words
    # An index loaded again is a new searcher, with an answerer that reads its title pages again.
    searcher = engine.searcher()
    engine.refresh()
    assert engine.searcher() is not searcher
    assert engine.answerer().searcher is engine.searcher() and engine.answerer().front is not first
