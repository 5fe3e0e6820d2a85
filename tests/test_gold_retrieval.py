"""Retrieval against known answers, with the real model: the answering passage ranks near the top.

tests/data/gold_retrieval.jsonl holds questions written from the report in a reader's words, each
with substrings of the passage that answers it.
"""

from __future__ import annotations

from .conftest import load_jsonl

GOLD = load_jsonl("gold_retrieval.jsonl")


def first_relevant_rank(hits, answers) -> int | None:
    return next((rank for rank, hit in enumerate(hits) if any(a in hit.text for a in answers)), None)


def test_gold_set_is_large_enough() -> None:
    assert len(GOLD) >= 25
    assert all(item["question"].strip() and item["answers"] for item in GOLD)


def test_recall_at_3(engine) -> None:
    ranks = [first_relevant_rank(engine.retrieve(item["question"], k=3), item["answers"]) for item in GOLD]
    misses = [item["question"] for item, rank in zip(GOLD, ranks) if rank is None]
    recall = 1 - len(misses) / len(GOLD)
    assert recall >= 0.9, f"recall@3 = {recall:.3f}; missed: {misses}"
