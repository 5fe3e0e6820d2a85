"""Late interaction: which word pieces count, MaxSim against a plain loop, the stored vectors and
their compression (:class:`scoqa.index.tokens.TokenCodec`)."""

from __future__ import annotations

import numpy as np

import pytest

from scoqa.config import Settings
from scoqa.index import store
from scoqa.index.runs import offsets, runs
from scoqa.index.tokens import TOKEN_CODE, TokenCodec, TokenVectors, content_positions, store_pieces
from scoqa.search.rerank import maxsim
from scoqa.search.searcher import Searcher
from scoqa.tools.evaluate import as_item

from .conftest import load_jsonl


def test_content_pieces_leave_out_function_words_special_tokens_and_framing() -> None:
    pieces = ["[CLS]", "what", "does", "the", "report", "say", "about", "bes", "##lan", "?", "[SEP]"]
    assert [pieces[i] for i in content_positions(pieces)] == ["report", "say", "bes", "##lan"]
    assert [pieces[i] for i in content_positions(pieces, query=True)] == ["bes", "##lan"]


def _unit_rows(rng: np.random.Generator, n: int, dim: int = 8) -> np.ndarray:
    rows = rng.normal(size=(n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_runs_find_each_passages_items_in_the_order_asked() -> None:
    first = offsets([3, 0, 5, 1])  # passage 1 has no items
    assert first.tolist() == [0, 3, 3, 8, 9]
    filled, ids, starts = runs(first, np.array([3, 1, 0, 2]))
    assert filled.tolist() == [0, 2, 3]  # positions in the rows asked for, the empty one left out
    assert ids.tolist() == [8, 0, 1, 2, 3, 4, 5, 6, 7]
    assert starts.tolist() == [0, 1, 4]
    assert [a.size for a in runs(first, np.array([1]))] == [0, 0, 0]


def test_maxsim_is_the_mean_of_each_query_pieces_best_match() -> None:
    rng = np.random.default_rng(0)
    parts = [_unit_rows(rng, 3), np.zeros((0, 8), np.float32), _unit_rows(rng, 5), _unit_rows(rng, 1)]
    tokens = TokenVectors.fit(parts, 8, dims=None, code="float16")
    parts = [tokens.vectors_of(r) for r in range(len(parts))]  # what is stored, to float16
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
    assert index.manifest["tokens"] == tokens.codes.shape[0]
    # The stored pieces are those the model gives for the passage's indexed text, compressed
    # and decoded close to the model's vectors; what grows with the corpus is the codes alone.
    assert tokens.codec.code == TOKEN_CODE and tokens.codes.dtype == np.uint8
    assert tokens.codes.shape == (tokens.first[-1], tokens.codec.width)
    assert tokens.codes.nbytes <= tokens.codes.shape[0] * 384  # a byte a dimension at most; float16 took 768
    chunk = index.chunks[0]
    _, fresh = engine.embedder.encode_with_tokens([chunk.context])
    decoded = tokens.vectors_of(0)
    assert decoded.shape == fresh[0].shape
    cosines = np.sum(decoded * fresh[0], axis=1) / np.linalg.norm(decoded, axis=1)
    assert cosines.min() > 0.8 and cosines.mean() > 0.9


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

    def counted(texts, concurrent=False):  # type: ignore[no-untyped-def]
        passes.append(len(texts))
        return forward(texts, concurrent)

    embedder._forward = counted
    try:
        hits = engine.retrieve("How many people died in the Beslan school siege?", k=5, mode="hybrid")
    finally:
        del embedder._forward
    assert embedder._forward == forward
    assert hits and "Beslan" in hits[0].text
    assert passes == [1]  # one forward pass, over one text: the question


def _low_rank_rows(rng: np.random.Generator, n: int, dim: int = 48, rank: int = 6) -> np.ndarray:
    """Unit rows that mostly live in a few directions, as the model's word-piece vectors do."""
    rows = rng.normal(size=(n, rank)) @ rng.normal(size=(rank, dim)) + 0.05 * rng.normal(size=(n, dim))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_the_codec_round_trips_in_fewer_bytes() -> None:
    rng = np.random.default_rng(1)
    rows = _low_rank_rows(rng, 4000)
    parts = [rows[i:i + 40] for i in range(0, 4000, 40)]
    tokens = TokenVectors.fit(parts, 48, dims=8, code="uint4")
    codec = tokens.codec
    assert (codec.dims, codec.width, codec.code, codec.fitted) == (8, 4, "uint4", 4000)
    assert codec.basis.shape == (48, 8) and codec.mean.shape == (48,)
    np.testing.assert_allclose(codec.basis.T @ codec.basis, np.eye(8), atol=1e-5)  # orthonormal axes
    assert tokens.codes.dtype == np.uint8 and tokens.codes.shape == (4000, 4)
    assert tokens.codes.nbytes == 4000 * 4  # two 4-bit codes a byte; 4000 * 48 * 2 as float16
    np.testing.assert_array_equal(tokens.first, np.arange(0, 4001, 40))
    decoded = codec.decode(tokens.codes)
    assert decoded.dtype == np.float32 and decoded.shape == rows.shape
    error = np.abs(decoded - rows)
    bytewise = TokenCodec.fit(rows, dims=8, code="uint8")  # 8 bits a dimension: closer still
    assert np.abs(bytewise.decode(bytewise.encode(rows)) - rows).mean() < error.mean() < 0.05
    # Each stored code is its value to within half a step (4 bits: 16 levels over the fitted range).
    projected = (rows - codec.mean) @ codec.basis
    assert np.all(np.abs(codec.low + codec.step * codec.values(tokens.codes) - projected) <= codec.step / 2 + 1e-6)
    # A question meets the codes exactly as it would meet the decoded vectors.
    query = _low_rank_rows(rng, 3)
    weights, offset = codec.query(query)
    np.testing.assert_allclose(weights @ codec.values(tokens.codes).T + offset[:, None], query @ decoded.T,
                               atol=1e-4)
    # The arrays written to tokens.npz make the same thing again.
    again = TokenVectors(**tokens.arrays())
    np.testing.assert_array_equal(again.codes, tokens.codes)
    np.testing.assert_array_equal(again.codec.decode(again.of(3)), tokens.vectors_of(3))
    # MaxSim over the codes ranks passages as over the float vectors.
    exact = TokenVectors.fit(parts, 48, dims=None, code="float16")
    rows_ = np.arange(len(parts))
    assert np.corrcoef(maxsim(query, tokens, rows_), maxsim(query, exact, rows_))[0, 1] > 0.9


def test_a_large_corpus_is_projected_in_blocks_with_the_same_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    from scoqa.index import tokens as module

    rows = _low_rank_rows(np.random.default_rng(6), 3000)
    whole = TokenCodec.fit(rows, dims=8)
    monkeypatch.setattr(module, "_BLOCK", 700)  # five blocks, the last one short
    blocked = TokenCodec.fit(rows, dims=8)
    np.testing.assert_allclose(blocked.low, whole.low, rtol=1e-5)  # float sums in another order
    np.testing.assert_allclose(blocked.step, whole.step, rtol=1e-5)
    a, b = blocked.values(blocked.encode(rows)), whole.values(whole.encode(rows))
    assert np.abs(a - b).max() <= 1 and np.mean(a == b) > 0.999


def test_codes_meet_a_question_block_by_block_as_all_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from scoqa.index import tokens as module

    rows = _low_rank_rows(np.random.default_rng(8), 301)
    query = _low_rank_rows(np.random.default_rng(9), 5)
    monkeypatch.setattr(module, "PRODUCT_ROWS", 64)  # five blocks, the last one short
    for dims, code in ((8, "uint8"), (8, "uint4"), (None, "uint8"), (None, "float16")):
        codec = TokenCodec.fit(rows, dims=dims, code=code)
        codes = codec.encode(rows)
        weights, _ = codec.query(query)
        products = codec.products(codes, weights)
        assert products.dtype == np.float32 and products.shape == (301, 5)
        np.testing.assert_allclose(products, codec.values(codes) @ weights.T, rtol=1e-5, atol=1e-5)
        assert codec.products(codes[:0], weights).shape == (0, 5)


def test_passages_are_fitted_and_encoded_without_one_array_of_all_their_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    # A build holds each passage's float pieces; fitting and encoding them block by block must
    # give what one array of all of them gives: the same sample, ranges and codes, bit for bit.
    from scoqa.index import tokens as module

    rng = np.random.default_rng(7)
    parts = [_low_rank_rows(rng, int(n)) for n in rng.integers(0, 40, size=150)]
    rows = np.concatenate(parts)
    monkeypatch.setattr(module, "_BLOCK", 256)  # blocks across passages, and passages across blocks
    monkeypatch.setattr(module, "FIT_SAMPLE", 1000)  # the PCA sample drawn across passages
    for dims, code in ((8, "uint8"), (8, "uint4"), (None, "uint8")):
        joined = TokenCodec.fit(rows, dims=dims, code=code)
        tokens = TokenVectors.fit(parts, 48, dims=dims, code=code)
        for name, value in joined.arrays().items():
            np.testing.assert_array_equal(tokens.codec.arrays()[name], value)
        np.testing.assert_array_equal(tokens.codes, joined.encode(rows))
        np.testing.assert_array_equal(tokens.first[-1], len(rows))


def test_the_codec_keeps_every_dimension_of_a_small_corpus_and_checks_its_arguments() -> None:
    rows = _low_rank_rows(np.random.default_rng(2), 50)
    small = TokenCodec.fit(rows, dims=8)  # 50 vectors are too few to fit 8 axes on
    assert small.dims == 48 and small.basis.size == 0
    np.testing.assert_allclose(small.decode(small.encode(rows)), rows, atol=small.step.max())
    half = TokenCodec.fit(rows, dims=None, code="float16")
    assert half.encode(rows).dtype == np.float16
    with pytest.raises(ValueError, match="code must be one of"):
        TokenCodec.fit(rows, code="int4")
    with pytest.raises(ValueError, match="dims must be at least 1"):
        TokenCodec.fit(rows, dims=0)
    assert TokenCodec.fit(_low_rank_rows(np.random.default_rng(4), 5000), dims=64).dims == 48  # a small model
    odd = _low_rank_rows(np.random.default_rng(5), 50, dim=7)  # an odd dimension: one more code, always 0
    packed = TokenCodec.fit(odd, dims=None, code="uint4")
    assert packed.encode(odd).shape == (50, 4) and packed.decode(packed.encode(odd)).shape == (50, 7)
    np.testing.assert_allclose(packed.decode(packed.encode(odd)), odd, atol=packed.step.max())
    empty = TokenVectors.fit([np.zeros((0, 48), np.float32)], 48)
    assert empty.codes.shape[0] == 0 and empty.first.tolist() == [0, 0]


def test_an_update_keeps_the_codec_until_the_corpus_doubles() -> None:
    rng = np.random.default_rng(3)
    parts = [_low_rank_rows(rng, 50) for _ in range(40)]
    old = TokenVectors.fit(parts, 48, dims=8)  # 2000 pieces
    # Ten passages kept, ten new ones: the codec stays, the kept passages' codes are unchanged.
    new = [_low_rank_rows(rng, 50) for _ in range(10)]
    kept = store_pieces({i: new[i] for i in range(10)}, {10 + i: i for i in range(10)}, 20, old, 48)
    np.testing.assert_array_equal(kept.basis, old.basis)
    for i in range(10):
        np.testing.assert_array_equal(kept.of(10 + i), old.of(i))
        np.testing.assert_array_equal(kept.of(i), old.codec.encode(new[i]))
    # All kept and as many new again as there were: past twice what it was fitted on, fitted anew.
    grown = [_low_rank_rows(rng, 50) for _ in range(41)]
    refit = store_pieces({40 + i: grown[i] for i in range(41)}, {i: i for i in range(40)}, 81, old, 48)
    assert int(refit.fitted) == 81 * 50 and refit.first[-1] == 81 * 50
    assert not np.array_equal(refit.basis, old.basis)


def test_compressed_pieces_find_the_gold_answers_as_the_model_vectors_do(report_settings: Settings, engine) -> None:
    """The report's gold set, reranked with the stored codes and with the model's own word-piece
    vectors (float16 as before compression): recall@1 within one question."""
    index = store.load_index(report_settings.index_dir)
    searcher = Searcher(index, engine.embedder)
    _, fresh = engine.embedder.encode_with_tokens([c.context for c in index.chunks])
    exact = TokenVectors.fit(fresh, engine.embedder.dim, dims=None, code="float16")
    found = {"stored": 0, "float16": 0}
    gold = [as_item(row) for row in load_jsonl("gold_retrieval.jsonl")]
    for item in gold:
        encoded = searcher.encode_query(searcher.respelled(item.question))
        for name, tokens in (("stored", TokenVectors(**index.tokens)), ("float16", exact)):
            searcher._tokens = tokens
            top = searcher.search(item.question, 1, encoded=encoded)[0]
            found[name] += any(a in top.text for a in item.gold)
    print(f"gold recall@1: {found}")
    assert found["stored"] >= found["float16"] - 1
