"""Five real documents scoqa was never tuned on (tests/data/devcorpus, questions written by readers
who never saw scoqa): retrieval, the right document, answers, follow-ups and abstention.

The floors are what ``scoqa eval --data tests/data/devcorpus --corpus tests/data/devcorpus/docs``
measured, less at most one question (README, "Quality on documents it was not tuned on"): recall@1
58 of 69 (0.841), recall@3 65, right document first 68, answers 58, follow-ups 12 of 14, 19 of 22
unanswerable declined, 68 of 69 answerable answered. The follow-ups and abstention are held at the
issue's targets (12 and 19).
"""

from __future__ import annotations

import pytest

from scoqa.engine import Engine
from scoqa.qa.answer import Answerer
from scoqa.tools.evaluate import evaluate_answers, evaluate_retrieval, load_sets

from .conftest import DEVCORPUS


@pytest.fixture(scope="module")
def dev(devcorpus_settings):  # type: ignore[no-untyped-def]
    engine = Engine(devcorpus_settings)
    return engine, load_sets(DEVCORPUS)


def test_every_document_is_indexed_with_its_passages(dev) -> None:
    engine, _ = dev
    searcher = engine.searcher()
    names = {s.rsplit("/", 1)[-1] for s in searcher.sources()}
    assert names == {"R47324.18.pdf", "IF12672.12.pdf", "github-and-trade-controls.md", "20866-h.htm", "1404.txt"}
    assert searcher.titles()["trade-controls/github-and-trade-controls.md"] == "GitHub and Trade Controls"


@pytest.mark.parametrize("number", [10, 23, 51, 78])
def test_a_numbered_paper_the_question_names_is_searched_first(dev, number: int) -> None:
    # "Federalist No. 51": the passages under that heading come first, not its neighbours'.
    engine, _ = dev
    hits = engine.retrieve(f"What is the main argument of Federalist No. {number}?", 3)
    papers = [h.section.split(" › ")[0] for h in hits]
    assert papers.count(f"FEDERALIST No. {number}") >= 2, papers


def test_retrieval_finds_the_passage_and_the_document(dev) -> None:
    engine, sets = dev
    scores, _ = evaluate_retrieval(engine, sets.retrieval, modes=("hybrid",), by_document=True)
    overall = scores[0]
    assert overall.questions == 69
    # Counted, not compared as fractions: the report rounds them to three places.
    assert round(overall.recall_at_1 * 69) >= 57, overall  # measured 58
    assert round(overall.recall_at_3 * 69) >= 64, overall  # measured 65
    assert overall.right_document_first is not None and round(overall.right_document_first * 69) >= 67, overall


def test_answers_follow_ups_and_abstention(dev) -> None:
    engine, sets = dev
    answerer = Answerer(engine.searcher())

    def ask(question, history=None):  # type: ignore[no-untyped-def]
        return answerer.reply(question, history, 5)

    scores = evaluate_answers(ask, sets.answers, sets.conversations, sets.unanswerable, [])
    assert round(scores.answer_accuracy * scores.answers) >= 59, scores.failures  # measured 60
    assert round(scores.followup_accuracy * scores.conversations) >= 12, scores.failures  # measured 12, the target
    assert round(scores.abstention * scores.unanswerable) >= 19, scores.failures  # measured 19, the target
    assert round(scores.answered_rate * scores.answers) >= 67, scores  # measured 68 (counted: the rate is rounded)


def test_a_question_can_be_scoped_to_one_document(dev) -> None:
    engine, _ = dev
    hits = engine.retrieve("What does the report say about Iran?", k=5, sources=["R47324.18.pdf"])
    assert hits and all(h.source.endswith("R47324.18.pdf") for h in hits)
    with pytest.raises(ValueError, match="no document 'nope.pdf' in the index; the documents are: "):
        engine.retrieve("Iran", k=3, sources=["nope.pdf"])


def test_a_definition_is_looked_for_beyond_the_first_passages(dev) -> None:
    # The first three passages found talk about factions without saying what one is; the fifth does.
    engine, _ = dev
    reply = Answerer(engine.searcher()).reply("How does Madison define a faction?", None, 5)
    assert reply.answered and "By a faction, I understand a number of citizens" in reply.text, reply.text


def test_a_footnote_is_quoted_beside_body_text_never_alone(dev) -> None:
    # The CRS report gives the reason in a footnote; the answer opens with body text and adds it.
    engine, _ = dev
    reply = Answerer(engine.searcher()).reply("Why do some people think deep-sea mining can never be profitable?",
                                              None, 5)
    assert reply.answered and "extreme water pressure" in reply.text, reply.text
    kinds = [reply.sources[q.source].kind for q in reply.quotes]
    assert kinds[0] != "footnote" and "footnote" in kinds, kinds
