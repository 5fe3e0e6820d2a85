"""Chunking: passages fit the model, keep their line spans, and carry context for indexing."""

from __future__ import annotations

from scoqa.config import MODEL_MAX_TOKENS
from scoqa.ingest import Document, Line, load_corpus
from scoqa.ingest.chunk import chunk_document, sentence_spans

from .conftest import CORPUS


def doc(text: str) -> Document:
    return Document("t.txt", "text", tuple(Line(t, i) for i, t in enumerate(text.split("\n"), start=1)), "0")


def test_no_passage_of_the_report_exceeds_the_model_limit(count_tokens) -> None:
    docs, problems = load_corpus(CORPUS)
    assert docs and not problems
    chunks = [c for d in docs for c in chunk_document(d, 160, count_tokens)]
    assert len(chunks) > 50
    assert max(count_tokens(c.context) for c in chunks) <= MODEL_MAX_TOKENS - 2
    assert max(count_tokens(c.text) for c in chunks) <= 160


def test_a_long_paragraph_is_split_into_sentences_within_budget(count_tokens) -> None:
    sentence = "The member states agreed to exchange information on terrorist groups and their financing."
    lines = ["Cooperation", ""] + [sentence] * 30
    chunks = chunk_document(doc("\n".join(lines)), 64, count_tokens)
    assert len(chunks) > 3
    assert all(count_tokens(c.text) <= 64 for c in chunks)
    assert all(c.text.endswith(".") for c in chunks)  # whole sentences
    assert chunks[0].line_start == 3 and chunks[-1].line_end == 32
    assert all(a.line_end < b.line_start for a, b in zip(chunks, chunks[1:]))


def test_a_single_giant_sentence_is_cut_at_word_boundaries(count_tokens) -> None:
    giant = " ".join(["counterterrorism cooperation"] * 400)
    chunks = chunk_document(doc(giant), 100, count_tokens)
    assert len(chunks) > 5
    assert all(count_tokens(c.context) <= MODEL_MAX_TOKENS - 2 for c in chunks)


def test_list_entries_are_indexed_with_heading_lead_in_and_date(count_tokens) -> None:
    text = "Attacks\n\nSome attacks are listed below:\nSeptember 2004\n\nBeslan, Russia: 300 dead, half of them children\n"
    (entry,) = [c for c in chunk_document(doc(text), 160, count_tokens) if c.kind == "item"]
    assert entry.text == "Beslan, Russia: 300 dead, half of them children"
    assert entry.context.startswith("Attacks — Some attacks are listed below: — September 2004:")
    assert entry.citation == "t.txt, “Attacks”, line 6"


def test_tiny_scraps_are_folded_into_the_next_paragraph(count_tokens) -> None:
    text = "Members\n\ngoals\n\nChina views the organisation as having a symbolic meaning and a valuable asset.\n"
    chunks = chunk_document(doc(text), 160, count_tokens)
    assert [c.text for c in chunks] == [
        "goals China views the organisation as having a symbolic meaning and a valuable asset."
    ]
    assert (chunks[0].line_start, chunks[0].line_end) == (3, 5)


def test_a_run_of_short_lines_is_one_passage_before_the_text() -> None:
    from scoqa.ingest.chunk import _merge_scraps
    from scoqa.ingest.layout import Block

    def para(text: str, line: int) -> Block:
        return Block("paragraph", text, "", None, line, line, line_map=((0, line, None),))

    lines = ["THE ELEMENTS OF STYLE", "BY WILLIAM STRUNK, Jr.", "PROFESSOR OF ENGLISH IN CORNELL UNIVERSITY",
             "NEW YORK HARCOURT, BRACE AND COMPANY"]
    body = ("This book aims to give in brief space the principal requirements of plain English style, and to "
            "lighten the task of instructor and student by concentrating attention on a few essentials.")
    blocks = _merge_scraps([para(t, n) for n, t in enumerate(lines + [body], start=1)], lambda t: len(t.split()))
    assert [b.text for b in blocks] == [" ".join(lines), body]  # the title page, whole, then the text
    assert (blocks[0].line_start, blocks[0].line_end) == (1, 4)
    # One short line still goes with the paragraph after it.
    blocks = _merge_scraps([para("NEW YORK", 1), para(body, 2)], lambda t: len(t.split()))
    assert [b.text for b in blocks] == [f"NEW YORK {body}"]


def test_a_table_rows_cells_are_one_sentence() -> None:
    text = "Op. 27 | No. 2 | (C sharp minor) | 1802. | Countess Guicciardi. Op. 28 | (D) | 1802. | Sonnenfels."
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "Op. 27 | No. 2 | (C sharp minor) | 1802. | Countess Guicciardi.", "Op. 28 | (D) | 1802. | Sonnenfels."]


def test_an_enumeration_inside_a_sentence_does_not_end_it() -> None:
    text = ("If User fails to pay on time, GitHub may, in addition to any other action, (i) charge interest at "
            "1.0% per month, and (ii) terminate the order form. User pays all taxes.")
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        text[:text.index(" User pays")], "User pays all taxes."]
    # After a sentence's end (or a colon), an item is a sentence of its own.
    listed = "The keeper must: (a) light the lamp. (b) Log the hour."
    assert [listed[a:b] for a, b in sentence_spans(listed)] == ["The keeper must:", "(a) light the lamp.",
                                                                "(b) Log the hour."]
