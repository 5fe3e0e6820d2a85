"""The retrieval floors, measured on the gold set with the real model.

The same numbers ``scoqa eval`` prints next to the fusion without its rerank, dense-only and
BM25-only search. The floors are the issue's targets (measured when written: recall@1 0.953,
recall@3 0.976, MRR@10 0.966 on 85 questions). Recall is compared as counts: the scores are
rounded to three decimals, and 80/85 = 0.941 would fail a comparison with the exact fraction.
"""

from __future__ import annotations

from scoqa.tools.evaluate import evaluate_retrieval

from .conftest import load_jsonl


def test_hybrid_retrieval_meets_the_floors_and_beats_each_ranker_alone(engine) -> None:
    gold = load_jsonl("gold_retrieval.jsonl")
    assert len(gold) >= 60
    scores, embed_p50 = evaluate_retrieval(engine, gold)
    by_mode = {s.mode: s for s in scores}
    hybrid = by_mode["hybrid"]
    # Measured 81, 85 and 0.975 on 85 questions: at most one question less.
    assert round(hybrid.recall_at_1 * 85) >= 80, hybrid
    assert round(hybrid.recall_at_3 * 85) >= 84, hybrid
    assert hybrid.mrr_at_10 >= 0.96, hybrid
    for single in ("dense", "bm25"):
        assert hybrid.mrr_at_10 > by_mode[single].mrr_at_10
    # The late-interaction rerank earns its place over the fusion it reorders.
    assert hybrid.recall_at_1 > by_mode["fusion"].recall_at_1
    assert hybrid.mrr_at_10 > by_mode["fusion"].mrr_at_10
    assert embed_p50 > 0


def test_held_out_questions_are_found_too(engine) -> None:
    """155 questions written by people who had not seen the system (used since to compare designs,
    so a development set now): measured recall@1 0.903 (140) and recall@3 0.968 (150), less one
    question. 43 of them accept several passages; counting only each one's first answer string,
    recall@1 is 0.826."""
    held_out = load_jsonl("heldout/gold_retrieval.jsonl")
    assert len(held_out) >= 150
    scores, _ = evaluate_retrieval(engine, held_out, modes=("hybrid", "fusion"))
    hybrid, fusion = scores
    assert round(hybrid.recall_at_1 * 155) >= 139 and round(hybrid.recall_at_3 * 155) >= 149, hybrid
    assert hybrid.mrr_at_10 > fusion.mrr_at_10


def test_the_top_three_passages_stay_readable(engine) -> None:
    """The top three passages together stay short enough to read (measured 1,123 characters on
    average on the gold set; three passages of the report average ~640, so the ranking must not
    drift towards the longest ones)."""
    gold = load_jsonl("gold_retrieval.jsonl")
    lengths = [sum(len(h.text) for h in engine.retrieve(g["question"], k=3)) for g in gold]
    assert sum(lengths) / len(lengths) < 1400
