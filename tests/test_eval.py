"""The retrieval floors, measured on the gold set with the real model.

The same numbers ``scoqa eval`` prints next to dense-only and BM25-only search. The floors are
those reached (recall@1 0.894, recall@3 0.976, MRR@10 0.937 on 85 questions when written): the
issue's recall@1 target of 0.90 is not met yet, and this test keeps what is from slipping.
"""

from __future__ import annotations

from scoqa.evaluate import evaluate_retrieval

from .conftest import load_jsonl


def test_hybrid_retrieval_meets_the_floors_and_beats_each_ranker_alone(engine) -> None:
    gold = load_jsonl("gold_retrieval.jsonl")
    assert len(gold) >= 60
    scores, embed_p50 = evaluate_retrieval(engine, gold)
    by_mode = {s.mode: s for s in scores}
    hybrid = by_mode["hybrid"]
    assert hybrid.recall_at_1 >= 0.89, hybrid
    assert hybrid.recall_at_3 >= 0.97, hybrid
    assert hybrid.mrr_at_10 >= 0.93, hybrid
    for single in ("dense", "bm25"):
        assert hybrid.mrr_at_10 > by_mode[single].mrr_at_10
    assert embed_p50 > 0
