"""The Python API: from scoqa import retrieve."""

from __future__ import annotations

import dataclasses

import pytest

import scoqa
from scoqa import Hit, retrieve


def test_retrieve_returns_typed_hits_best_first(report_settings) -> None:
    hits = retrieve("When was the SCO founded?", k=5, settings=report_settings)
    assert len(hits) == 5 and all(isinstance(h, Hit) for h in hits)
    assert dataclasses.is_dataclass(hits[0]) and dataclasses.fields(hits[0])
    assert "June 2001" in hits[0].text
    assert hits[0].citation.startswith("sco-counter-terrorism-cooperation-report.txt")
    assert hits[0].line_start <= hits[0].line_end and hits[0].page is None
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        hits[0].text = "changed"  # type: ignore[misc]


def test_environment_variables_choose_the_folders(report_settings, monkeypatch) -> None:
    monkeypatch.setenv("SCOQA_CORPUS", str(report_settings.corpus_dir))
    monkeypatch.setenv("SCOQA_INDEX", str(report_settings.index_dir))
    hits = retrieve("When was the SCO founded?", k=3)
    assert "June 2001" in hits[0].text


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_empty_query_is_refused(query: str) -> None:
    with pytest.raises(ValueError, match="query is empty"):
        retrieve(query)


@pytest.mark.parametrize("k", [0, -3])
def test_k_below_one_is_refused(k: int) -> None:
    with pytest.raises(ValueError, match=f"k must be >= 1, got {k}"):
        retrieve("When was the SCO founded?", k=k)


def test_unknown_mode_is_refused(report_settings) -> None:
    with pytest.raises(ValueError, match="mode must be one of"):
        retrieve("SCO", mode="magic", settings=report_settings)


def test_public_names() -> None:
    assert {"retrieve", "Hit", "build_index", "index_status"} <= set(scoqa.__all__)
