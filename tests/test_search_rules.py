"""The searcher's rules on inline text, without the model: which numbered headings a question names."""

from __future__ import annotations

import pytest

from scoqa.search.searcher import _labels, _ordinal_labels
from scoqa.text import query_terms


@pytest.mark.parametrize(("text", "labels"), [
    ("What maxim does Federalist No. 51 offer?", {("no", "51"), ("federalist", "51")}),
    ("In the worked example in Appendix 1, what is the index?", {("appendix", "1")}),
    ("What does Chapter IV say about drills?", {("chapter", "IV")}),
    # Years are dates and months with a day are dates; "no" without its dot is a word.
    ("What happened in March 2010?", set()),
    ("What happened on May 28?", set()),
    ("There were no 12 soldiers there", set()),
    # A document's own number is a label too; it matters only if a heading carries it.
    ("What does SP 800-122 recommend?", {("sp", "800")}),
])
def test_numbered_headings_a_question_names(text: str, labels: set[tuple[str, str]]) -> None:
    assert _labels(text) == labels


def test_a_name_typed_without_its_accents_is_the_documents_name() -> None:
    # "Midē´wiwin" (a spacing accent inside the word), "Alloüez", "café": one term each way.
    assert query_terms("Midē´wiwin") == query_terms("Midewiwin") == ["midewiwin"]
    assert query_terms("Father Alloüez") == query_terms("Father Allouez")
    assert query_terms("the café's ﬁnances") == query_terms("the cafe's finances")


def test_an_ordinal_names_a_numbered_heading_in_arabic_or_roman_figures() -> None:
    labels = _ordinal_labels("What does the third lecture say about candles?")
    assert {("lecture", "3"), ("lecture", "III")} <= labels
    assert ("report", "1") in _ordinal_labels("How old was the worker in the first case report?")
    assert _ordinal_labels("What happened first?") == set()
    # "FEDERALIST No. 1" is named by "the first Federalist paper".
    assert _ordinal_labels("When did the first Federalist paper appear?") & _labels("FEDERALIST No. 1")
