"""Shared fixtures: the real report indexed once per session, and small helpers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from scoqa.api import get_engine
from scoqa.build import build_index
from scoqa.config import Settings
from scoqa.embed import get_token_counter

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
DATA = Path(__file__).resolve().parent / "data"


def load_jsonl(name: str) -> list[dict]:
    """Read one of the evaluation sets in tests/data."""
    with (DATA / name).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(autouse=True)
def _clean_scoqa_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never depend on the caller's SCOQA_* settings."""
    for name in list(os.environ):
        if name.startswith("SCOQA_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def report_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose index holds the real report, built once into a temporary folder."""
    settings = Settings(corpus_dir=CORPUS, index_dir=tmp_path_factory.mktemp("report") / "index")
    build_index(settings)
    return settings


@pytest.fixture(scope="session")
def engine(report_settings: Settings):  # type: ignore[no-untyped-def]
    """The shared engine over the real report."""
    return get_engine(report_settings)


@pytest.fixture(scope="session")
def count_tokens():  # type: ignore[no-untyped-def]
    """The default model's word-piece counter."""
    return get_token_counter()
