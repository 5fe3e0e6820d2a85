"""Answers with the real model: short cited answers, follow-ups, and "not in the report".

The sets in tests/data are written from the report in a reader's words: answers.jsonl (question
and expected short answer), conversations.jsonl (turns whose last only makes sense with the
history), unanswerable.jsonl (off-topic and near-topic questions the report cannot answer).
"""

from __future__ import annotations

import functools
import re

import pytest

from scoqa import Reply, ask
from scoqa.qa.answer import Answerer
from scoqa.qa.question import analyse
from scoqa.tools.evaluate import converse as replay
from scoqa.tools.evaluate import holds_answer

from .conftest import load_jsonl

ANSWERS = load_jsonl("answers.jsonl")
CONVERSATIONS = load_jsonl("conversations.jsonl")
UNANSWERABLE = load_jsonl("unanswerable.jsonl")
GOLD = load_jsonl("gold_retrieval.jsonl")


def cites_answer(reply: Reply, expected: list[str]) -> bool:
    """The answer holds an expected string as whole words, and a cited source holds it too (its
    text, or for a list entry the date the answer quotes it with)."""
    if not holds_answer(reply.text, expected):
        return False
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", reply.text)}
    sources = [reply.sources[n - 1] for n in cited]
    return any(holds_answer(f"In {s.date}, {s.text}" if s.date else s.text, expected) for s in sources)


def test_sets_are_large_enough() -> None:
    assert len(ANSWERS) >= 40 and len(CONVERSATIONS) >= 10 and len(UNANSWERABLE) >= 8
    assert {u["kind"] for u in UNANSWERABLE} == {"off-topic", "near-topic"}
    assert all(len(c["turns"]) >= 2 for c in CONVERSATIONS)


def test_answers_are_short_cited_and_correct(report_settings) -> None:
    wrong = []
    for item in ANSWERS:
        reply = ask(item["question"], settings=report_settings)
        assert len(reply.text) <= 400, reply.text
        if not (reply.answered and cites_answer(reply, item["answers"])):
            wrong.append((item["question"], reply.text))
    # Measured 44 of 46 right (the misses: the SCO Charter's date, "paper tiger"): at most one more.
    assert len(wrong) <= 3, f"answer accuracy {1 - len(wrong) / len(ANSWERS):.3f}; wrong: {wrong}"


def test_markers_refer_to_sources_and_quotes_are_verbatim(report_settings) -> None:
    reply = ask("How many people died in Beslan?", settings=report_settings)
    assert reply.answered and reply.text.endswith("[1]")
    assert reply.text.startswith("In September 2004, Beslan, Russia: 300 dead")
    for quote in reply.quotes:
        source = reply.sources[quote.source]
        assert source.text[quote.start:quote.end] in reply.text
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", reply.text)}
    assert markers and max(markers) <= len(reply.sources)


def converse(turns: list[str], settings) -> Reply:
    """Ask each turn with the conversation so far; the reply to the last."""
    return replay(functools.partial(ask, settings=settings), turns)


def test_follow_ups_are_answered_with_the_history(report_settings) -> None:
    wrong = []
    for conversation in CONVERSATIONS:
        reply = converse(conversation["turns"], report_settings)
        if not (reply.answered and cites_answer(reply, conversation["answers"])):
            wrong.append((conversation["turns"], reply.search_query, reply.text))
    assert len(wrong) <= 1, f"measured 14 of 14; wrong: {wrong}"


def test_held_out_follow_ups_are_answered(report_settings) -> None:
    """30 conversations written by someone who had not seen the system (since used to choose
    designs, so a development set now; measured: 29 right)."""
    conversations = load_jsonl("heldout/conversations.jsonl")
    wrong = []
    for conversation in conversations:
        reply = converse(conversation["turns"], report_settings)
        if not (reply.answered and holds_answer(reply.text, conversation["answers"])):
            wrong.append((conversation["turns"], reply.search_query, reply.text))
    assert len(wrong) <= 1, wrong


def test_a_follow_up_needs_its_history(report_settings) -> None:
    alone = ask("When did it happen?", settings=report_settings)
    assert "September 2004" not in alone.text
    history = [{"role": "user", "content": [{"type": "text", "text": "How many people died in Beslan?"}]},
               {"role": "assistant", "content": "In September 2004, Beslan, Russia: 300 dead [1]"}]
    assert "September 2004" in ask("When did it happen?", history, settings=report_settings).text


def test_what_about_a_new_name_asks_the_same_of_it(report_settings) -> None:
    """ "What about Andijan?" after two turns on the Nal'chik attack: the new name replaces the old
    one, and the corpus's own spelling ("Andijian") is searched and quoted."""
    history: list[dict[str, str]] = []
    for turn in ("How many people were wounded in the Nal'chik attack?", "When did it happen?"):
        history += [{"role": "user", "content": turn},
                    {"role": "assistant", "content": ask(turn, history, settings=report_settings).text}]
    reply = ask("What about Andijan?", history, settings=report_settings)
    assert reply.answered and "Andijian" in reply.text and "187 killed" in reply.text
    assert "Nal" not in reply.search_query


def test_self_contained_questions_ignore_unrelated_history(report_settings) -> None:
    history = [{"role": "user", "content": "What did Quentin Peel say about the SCO?"},
               {"role": "assistant", "content": "a dog that does not bark [1]"}]
    for item in ANSWERS[:12]:
        plain = ask(item["question"], settings=report_settings)
        with_history = ask(item["question"], history, settings=report_settings)
        assert with_history.search_query == plain.search_query  # the question alone (names respelled)
        assert with_history.text == plain.text


def test_unanswerable_questions_are_declined(report_settings) -> None:
    for item in UNANSWERABLE:
        reply = ask(item["question"], settings=report_settings)
        assert not reply.answered, (item["question"], reply.text)
        assert "does not" in reply.text and "[" not in reply.text
        assert reply.sources  # offered as "possibly related"


def test_answerable_questions_stay_answered(report_settings) -> None:
    questions = [item["question"] for item in ANSWERS + GOLD]
    declined = [q for q in questions if not ask(q, settings=report_settings).answered]
    assert len(declined) <= 5, declined  # measured 4 of 131


@pytest.mark.parametrize(("question", "history", "message"), [
    ("", None, "query is empty"),
    ("Beslan?", "not a list", "history must be a list"),
])
def test_bad_input_is_refused(question, history, message, report_settings) -> None:
    with pytest.raises(ValueError, match=message):
        ask(question, history, settings=report_settings)


def test_a_sentence_that_introduces_a_list_is_answered_with_the_list(report_settings) -> None:
    reply = ask("What are the main tasks of RATS?", settings=report_settings)
    assert reply.answered and len(reply.text) <= 400
    assert reply.text.startswith("Its main tasks and duties are: [1]")
    assert len(reply.quotes) >= 3 and all(s.kind == "item" for s in reply.sources[1:])
    for quote in reply.quotes:
        source = reply.sources[quote.source]
        assert source.text[quote.start:quote.start + 40] in reply.text  # verbatim, perhaps clipped


def test_held_out_unanswerable_questions_are_mostly_declined(report_settings) -> None:
    """40 questions the report does not answer, written by someone who had not seen the system (a
    development set since): all 10 off-topic ones declined, and near-topic ones (measured 20 of
    30; they ask for the one fact a listed attack, treaty or exercise lacks)."""
    probes = load_jsonl("heldout/unanswerable.jsonl")
    answered = [p for p in probes if ask(p["question"], settings=report_settings).answered]
    assert not [p for p in answered if p["kind"] == "off-topic"], answered
    assert len(answered) <= 10, answered


def test_a_sentence_that_only_repeats_the_question_is_no_answer(tmp_path) -> None:
    from scoqa.index.build import build_index

    from .index_helpers import make_settings

    settings = make_settings(tmp_path, {"heat.md": (
        "# Preventing heat illness\n\n"
        "## What workers should do\n\n"
        "- Drink water every 15 minutes.\n"
        "- Eat during lunch and other rest breaks.\n\n"
        "## Why\n\n"
        "Eating replaces the salt and minerals that workers lose when they sweat in the heat.\n")})
    build_index(settings)
    reply = ask("Why should workers eat during lunch and other rest breaks in the heat?", settings=settings)
    assert reply.answered and "salt" in reply.text, reply.text


def test_how_many_is_not_answered_by_a_sentence_without_a_number(tmp_path) -> None:
    """The sentence about the thing asked is what an answer quotes: when it holds no number (the
    day of "April 12, 2011" is a date's), another passage's count does not make it an answer."""
    from scoqa.index.build import build_index

    from .index_helpers import make_settings

    settings = make_settings(tmp_path, {"attacks.md": (
        "# Statements\n\n"
        "On April 12, 2011, the Secretary-General issued a statement on the terrorist act at "
        "Oktyabrskaya Station of the Minsk metro system, condemning the bombing.\n\n"
        "# Attacks in the region\n\n"
        "- Moscow, Russia: bombs in the metro, 50 dead, 130 wounded.\n"
        "- Tashkent, Uzbekistan: a series of bombs in the metro, 10 dead.\n")})
    build_index(settings)
    reply = ask("How many people died in the April 2011 bombing at Oktyabrskaya station in the Minsk metro?",
                settings=settings)
    assert not reply.answered, reply.text
    reply = ask("How many people died in the Moscow metro bombs?", settings=settings)
    assert reply.answered and "50 dead" in reply.text, reply.text


def test_a_definition_crowded_out_of_the_search_is_looked_up(tmp_path) -> None:
    """The title page's lines, under a heading that names the term, outscore the one sentence that
    says what it is: a search for the term alone finds that sentence."""
    from scoqa.index.build import build_index

    from .index_helpers import make_settings

    settings = make_settings(tmp_path, {"guide.md": (
        "# Guide to Enterprise Widget Calibration\n\n"
        "Widget Calibration Series 12, Revision 3\n\n"
        "http://dx.doi.org/10.0000/WCS.12r3\n\n"
        "CODEN: WIDG3\n\n"
        "## Purpose of this guide\n\n"
        "This guide helps organizations understand enterprise widget calibration technologies.\n\n"
        "## Tools\n\n"
        "Enterprise widget calibration tools differ in how they find the widgets that have drifted.\n\n"
        "## Background\n\n"
        "Factories have measured their machines for as long as they have built them, and records of the "
        "adjustments made go back to the first steam engines. Widget calibration is the process of measuring, "
        "adjusting and recording a widget's settings against a reference standard.\n")})
    build_index(settings)
    reply = ask("How does the guide define widget calibration?", k=1, settings=settings)
    assert reply.answered and "measuring, adjusting and recording" in reply.text, reply.text


def test_the_sentence_after_the_best_is_quoted_with_it_when_the_best_does_not_answer(tmp_path) -> None:
    """A sentence that names the question's subject is often followed by the one that answers."""
    from scoqa.index.build import build_index

    from .index_helpers import make_settings

    settings = make_settings(tmp_path, {"wire.md": (
        "# Messages over a stream\n\n"
        "When a message is sent over a stream connection, what comes first is relay port 53. Two bytes "
        "giving its size precede it on the wire.\n\n"
        "# Relays\n\n"
        "A lantern relay was first installed at Tarn Point in March 1911. It repeats each message once.\n")})
    build_index(settings)
    reply = ask("When a message is sent over a stream connection, what comes in front of it?", settings=settings)
    # It scores 0.87 of the best: too far for a second quote of its own, near enough to follow it.
    assert reply.answered and "Two bytes giving its size" in reply.text and reply.text.count("[1]") == 2, reply.text
    # A best sentence that holds what is asked (a date) is quoted alone.
    reply = ask("When was the first lantern relay installed at Tarn Point?", settings=settings)
    assert reply.answered and "March 1911" in reply.text and "repeats" not in reply.text, reply.text


def test_when_the_first_passages_found_have_nothing_to_quote_the_others_are_read(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A title page's lines ("THE ELEMENTS OF STYLE BY WILLIAM STRUNK, Jr. PROFESSOR OF ENGLISH
    ...") can fill the first places: the answer is quoted from a passage found after them."""
    from scoqa.engine import Engine
    from scoqa.index.build import build_index

    from .index_helpers import make_settings

    settings = make_settings(tmp_path, {"lanterns.md": (
        "# The Rules of Lantern Signalling\n\n"
        "## Keeper\n\nJohn Quennell, Keeper\n\n"
        "## Assistant\n\nMary Quennell, Assistant Keeper\n\n"
        "## Patron\n\nThe Tarn Point Lighthouse Trust\n\n"
        "## Introduction\n\n"
        "For thirty years John Quennell tended the lamp of the North Light at Tarn Point, and his colleagues "
        "there helped him prepare these rules.\n\n"
        "## Warnings\n\n"
        "A gale warning is three long flashes, repeated every ten minutes while the gale lasts.\n")})
    build_index(settings)
    answerer = Engine(settings).answerer()
    search = answerer.searcher.search

    def title_lines_first(query, k, *args, **kwargs):  # type: ignore[no-untyped-def]
        return sorted(search(query, k, *args, **kwargs), key=lambda hit: "lamp" in hit.text)

    monkeypatch.setattr(answerer.searcher, "search", title_lines_first)
    question = "At which lighthouse did John Quennell keep the lamp?"
    assert not any("lamp" in hit.text for hit in title_lines_first(question, 5)[:3])
    reply = answerer.reply(question, None, 5)
    assert reply.answered and "North Light" in reply.text, reply.text


def test_a_follow_up_is_searched_first_where_the_previous_answer_quoted_from(engine) -> None:  # type: ignore[no-untyped-def]
    """"What does it say ...?" after an answer is about the section that answer quoted: its
    passages are searched first, so a passage of another section that merely shares words loses."""
    searcher = engine.searcher()
    chunks = searcher.index.chunks
    question = "What measures against the financing of terrorism does it mention?"
    plain = [searcher.row_of[h.chunk_id] for h in searcher.search(question, 50)]
    # A section the question alone does not rank first, with a passage long enough to quote.
    row = next(r for r in plain[5:] if len(chunks[r].text) > 200 and plain[0] not in searcher.section_rows(r))
    section = {int(r) for r in searcher.section_rows(row)}
    sentence = chunks[row].text[:150].rsplit(" ", 1)[0]
    assert searcher.quoted_row(sentence) == row
    assert searcher.quoted_row(f"In 2004, {sentence[-80:]}…") == row  # a dated entry, a clipped quote
    assert searcher.quoted_row("too short") is None

    turns = [{"role": "user", "content": "Tell me about this."}, {"role": "assistant", "content": f"{sentence} [1]"}]
    answerer = Answerer(searcher)
    follow_up = analyse(question.replace("does it", "does that part"), turns, searcher, answerer._common)
    assert follow_up.focus is not None and set(follow_up.focus.tolist()) == section
    assert analyse(question, None, searcher, answerer._common).focus is None  # a question on its own
    focused = [searcher.row_of[h.chunk_id] for h in searcher.search(question, 50, focus=follow_up.focus)]
    first_in = min(plain.index(r) for r in section if r in plain)
    assert min(focused.index(r) for r in section if r in focused) < first_in
