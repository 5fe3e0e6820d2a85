"""Late interaction: which word pieces count, MaxSim against a plain loop, and the stored vectors."""

from __future__ import annotations

import numpy as np

from scoqa.config import Settings
from scoqa.index import store
from scoqa.index.tokens import TokenVectors, content_positions
from scoqa.search.rerank import maxsim


def test_content_pieces_leave_out_function_words_special_tokens_and_framing() -> None:
    pieces = ["[CLS]", "what", "does", "the", "report", "say", "about", "bes", "##lan", "?", "[SEP]"]
    assert [pieces[i] for i in content_positions(pieces)] == ["report", "say", "bes", "##lan"]
    assert [pieces[i] for i in content_positions(pieces, query=True)] == ["bes", "##lan"]


def _unit_rows(rng: np.random.Generator, n: int, dim: int = 8) -> np.ndarray:
    rows = rng.normal(size=(n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_maxsim_is_the_mean_of_each_query_pieces_best_match() -> None:
    rng = np.random.default_rng(0)
    parts = [_unit_rows(rng, 3), np.zeros((0, 8), np.float32), _unit_rows(rng, 5), _unit_rows(rng, 1)]
    tokens = TokenVectors.join(parts, 8)
    query = _unit_rows(rng, 4)
    rows = np.array([3, 0, 1, 2])
    expected = [float(np.mean([max(float(q @ p) for p in parts[r]) for q in query])) if len(parts[r]) else 0.0
                for r in rows]
    np.testing.assert_allclose(maxsim(query, tokens, rows), expected, rtol=1e-5, atol=1e-6)
    assert not maxsim(np.zeros((0, 8), np.float32), tokens, rows).any()  # a question of function words only


def test_the_index_stores_each_passages_pieces(report_settings: Settings, engine) -> None:
    index = store.load_index(report_settings.index_dir)
    assert index.tokens is not None
    tokens = TokenVectors(**index.tokens)
    assert tokens.first.size == len(index.chunks) + 1
    assert index.manifest["tokens"] == tokens.vectors.shape[0]
    # The stored (float16) pieces are those the model gives for the passage's indexed text.
    chunk = index.chunks[0]
    _, fresh = engine.embedder.encode_with_tokens([chunk.context])
    np.testing.assert_allclose(tokens.of(0), fresh[0], atol=2e-3)
    np.testing.assert_allclose(np.linalg.norm(tokens.vectors, axis=1), 1.0, atol=2e-3)


def test_the_query_costs_one_forward_pass(engine) -> None:
    vectors, tokens = engine.embedder.encode_with_tokens(["How many died in Beslan?"], query=True)
    np.testing.assert_allclose(vectors[0], engine.embedder.encode(["How many died in Beslan?"])[0], atol=1e-5)
    assert 1 <= len(tokens[0]) <= 6  # "died", "bes", "##lan" and the like; not "how", "in"

    # A whole hybrid query (dense search, sentence scores, the MaxSim rerank) runs the model once,
    # on the question alone: count the embedder's forward passes and the texts each one saw.
    engine.retrieve("Where is the RATS located?", k=3)  # the index is loaded, nothing computed lazily later
    passes: list[int] = []
    embedder = engine.embedder
    forward = embedder._forward

    def counted(texts):  # type: ignore[no-untyped-def]
        passes.append(len(texts))
        return forward(texts)

    embedder._forward = counted
    try:
        hits = engine.retrieve("How many people died in the Beslan school siege?", k=5, mode="hybrid")
    finally:
        del embedder._forward
    assert embedder._forward == forward
    assert hits and "Beslan" in hits[0].text
    assert passes == [1]  # one forward pass, over one text: the question
