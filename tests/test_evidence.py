"""Evidence on the real report: a passage's sentences are read once a process, and reading them
again gives the same candidates."""

from __future__ import annotations

import pytest

from scoqa.qa import evidence
from scoqa.qa.question import analyse


def _found(engine, text: str):  # type: ignore[no-untyped-def]
    searcher = engine.searcher()
    question = analyse(text, None, searcher, lambda word: False)
    hits = searcher.search(question.query, 5, "hybrid", question.encoded)
    return evidence.Readings(searcher), question, hits, [searcher.row_of[h.chunk_id] for h in hits]


def test_a_passages_readings_are_kept_and_score_as_read_afresh(engine) -> None:  # type: ignore[no-untyped-def]
    readings, question, hits, rows = _found(engine, "When was the Shanghai Cooperation Organisation founded?")
    cold = evidence.candidates(readings, question, hits, rows)
    assert cold and any(c.typed for c in cold)
    kept = readings._kept
    assert set(kept) == {row for hit, row in zip(hits, rows) if hit.kind != "title"}
    for hit, row in zip(hits, rows):
        if row in kept:
            assert kept[row] == evidence._read(readings.searcher, hit, row)
    assert evidence.candidates(readings, question, hits, rows) == cold


def test_the_readings_kept_are_bounded(engine, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    readings, question, hits, rows = _found(engine, "Where is the Regional Anti-Terrorist Structure located?")
    cold = evidence.candidates(readings, question, hits, rows)
    monkeypatch.setattr(evidence, "READINGS_KEPT", 2)
    bounded = evidence.Readings(readings.searcher)
    assert evidence.candidates(bounded, question, hits, rows) == cold
    assert list(bounded._kept) == [row for hit, row in zip(hits, rows) if hit.kind != "title"][-2:]


def test_the_engine_keeps_one_answerer_an_index(engine) -> None:  # type: ignore[no-untyped-def]
    answerer = engine.answerer()
    assert engine.answerer() is answerer and answerer.searcher is engine.searcher()
    assert answerer.front is answerer.front  # the title pages read once


def test_a_unit_without_a_date_or_a_number_is_never_typed_for_when_or_how_many(engine) -> None:  # type: ignore[no-untyped-def]
    # The precheck on a unit's words alone must never turn down a unit the full check would type.
    searcher = engine.searcher()
    questions = ("When was the Shanghai Cooperation Organisation founded?", "How many people died in Beslan?",
                 "In which year did Russia and China hold the exercise Peace Mission?",
                 "How many member states signed the Charter in 2002?")
    typed = {"when": 0, "number": 0}
    for row, chunk in enumerate(searcher.index.chunks):
        for start, end in searcher.units.spans[searcher.units.of(row)].tolist():
            words = chunk.text[start:end]
            kinds = evidence._may_hold(words)
            for question in questions:
                for kind in ("when", "number"):
                    if evidence._type_match(kind, words, question):
                        assert kind in kinds, (kind, words, question)
                        typed[kind] += 1
    assert typed["when"] > 100 and typed["number"] > 100
    assert evidence._may_hold("Its members signed the Charter in June 2002.") == {"when", "number"}
    assert evidence._may_hold("Funding rose in FY of 17.") == {"when", "number"}  # a question may say "of"
    assert evidence._may_hold("Three officers were wounded.") == {"number"}
    assert evidence._may_hold("The office coordinates the member states.") == frozenset()
