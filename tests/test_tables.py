"""A table's rows of figures: led in by the table's caption, searched and quoted row by row."""

from __future__ import annotations

import pytest

from scoqa import ask
from scoqa.index.build import build_index
from scoqa.index.sentences import unit_spans
from scoqa.ingest import Document, Line
from scoqa.ingest.chunk import chunk_document, table_rows

from .index_helpers import make_settings

SURVEY = """Harbour Survey

The survey counted the fishing boats moored in each harbour of the county on one morning in May, \
from first light until noon, and asked each skipper what the boat had landed that week.

Table 3. Fishing boats moored in each harbour on the morning of the survey. Boats under five metres \
are left out.

Harbour Boats (share of all)

Northport 41 (45%) Southport 17 (19%) Eastport 9 (10%) Westport 23 (26%) Total 90 (100%)

The boats of Northport were mostly trawlers, and those of Eastport small crab boats that go out at \
night. Most skippers said the week had been a poor one for herring and a good one for mackerel.
"""


def _doc(text: str) -> Document:
    return Document("survey.txt", "text", tuple(Line(t, n) for n, t in enumerate(text.split("\n"), start=1)), "0")


def test_a_tables_rows_are_led_in_by_its_caption_and_split_into_rows() -> None:
    (rows,) = [c for c in chunk_document(_doc(SURVEY), 160, lambda t: len(t.split())) if c.tabular]
    assert rows.lead_in.startswith("Table 3. Fishing boats moored in each harbour")
    assert "Fishing boats moored" in rows.context  # searched with the caption's words
    assert [rows.text[a:b] for a, b in unit_spans(rows)] == [
        "Northport 41 (45%)", "Southport 17 (19%)", "Eastport 9 (10%)", "Westport 23 (26%)", "Total 90 (100%)"]
    # Prose is never a table, caption or not.
    assert not any(c.tabular for c in chunk_document(_doc(SURVEY), 160, lambda t: len(t.split()))
                   if "trawlers" in c.text)


def test_rows_end_after_a_figure_before_a_label() -> None:
    text = "Flowback water 225 2,000,000 40 990 Fracturing fluid 88 140,000 25 420"
    assert [text[a:b] for a, b in table_rows(text)] == ["Flowback water 225 2,000,000 40 990",
                                                         "Fracturing fluid 88 140,000 25 420"]


@pytest.fixture(scope="module")
def survey(tmp_path_factory):  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path_factory.mktemp("tables"), {"survey.txt": SURVEY})
    build_index(settings)
    return settings


def test_a_question_about_one_row_is_answered_with_that_row(survey) -> None:  # type: ignore[no-untyped-def]
    reply = ask("How many fishing boats were moored in Southport?", settings=survey)
    assert reply.answered and reply.text == "Southport 17 (19%) [1]", reply.text
