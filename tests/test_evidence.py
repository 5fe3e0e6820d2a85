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
    return searcher, question, hits, [searcher.row_of[h.chunk_id] for h in hits]


def test_a_passages_readings_are_kept_and_score_as_read_afresh(engine) -> None:  # type: ignore[no-untyped-def]
    searcher, question, hits, rows = _found(engine, "When was the Shanghai Cooperation Organisation founded?")
    evidence._kept.pop(searcher, None)
    cold = evidence.candidates(searcher, question, hits, rows)
    assert cold and any(c.typed for c in cold)
    kept = evidence._kept[searcher]
    assert set(kept) == {row for hit, row in zip(hits, rows) if hit.kind != "title"}
    for hit, row in zip(hits, rows):
        if row in kept:
            assert kept[row] == evidence._read(searcher, hit, row)
    assert evidence.candidates(searcher, question, hits, rows) == cold


def test_the_readings_kept_are_bounded(engine, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    searcher, question, hits, rows = _found(engine, "Where is the Regional Anti-Terrorist Structure located?")
    evidence._kept.pop(searcher, None)
    cold = evidence.candidates(searcher, question, hits, rows)
    monkeypatch.setattr(evidence, "READINGS_KEPT", 2)
    evidence._kept.pop(searcher, None)
    assert evidence.candidates(searcher, question, hits, rows) == cold
    kept = evidence._kept[searcher]
    assert len(kept) == 2 and list(kept) == [row for hit, row in zip(hits, rows) if hit.kind != "title"][-2:]
