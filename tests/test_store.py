"""The index on disk: round trip, manifest, and FAISS against brute force."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from scoqa.config import Settings
from scoqa.engine import Engine
from scoqa.index import files, store
from scoqa.search.searcher import Searcher


def test_manifest_describes_the_build(report_settings: Settings) -> None:
    manifest = json.loads((report_settings.index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format_version"] == files.FORMAT_VERSION
    assert manifest["model"] == "all-MiniLM-L6-v2" and manifest["dim"] == 384
    assert manifest["chunking"]["chunk_tokens"] == report_settings.chunk_tokens
    (source, sha), = manifest["sources"].items()
    assert source == "sco-counter-terrorism-cooperation-report.txt" and len(sha) == 64
    assert manifest["built_at"].endswith("Z") and manifest["scoqa_version"]


def test_save_and_load_round_trip_gives_identical_results(report_settings: Settings, engine, tmp_path) -> None:
    original = store.load_index(report_settings.index_dir)
    copy_dir = tmp_path / "copy"
    store.save_index(copy_dir, original.manifest, original.chunks, original.vectors, original.lexical, original.units,
                     original.tokens)
    reloaded = store.load_index(copy_dir)
    assert reloaded.chunks == original.chunks
    np.testing.assert_array_equal(reloaded.vectors, original.vectors)
    assert original.units is not None and reloaded.units is not None
    for name in ("owner", "spans", "first", "vectors"):
        np.testing.assert_array_equal(reloaded.units[name], original.units[name])
    assert original.tokens is not None and reloaded.tokens is not None
    for name in files.TOKEN_ARRAYS:  # the codes and their codec, as stored (nothing inflated to float32)
        np.testing.assert_array_equal(reloaded.tokens[name], original.tokens[name])
        assert reloaded.tokens[name].dtype == original.tokens[name].dtype
    assert reloaded.tokens["codes"].dtype == np.uint8
    a = Searcher(original, engine.embedder)
    b = Searcher(reloaded, engine.embedder)
    for question in ["When was the SCO founded?", "How many died in Beslan?", "Where is RATS located?"]:
        for mode in ("hybrid", "fusion", "dense", "bm25"):
            assert a.search(question, 5, mode) == b.search(question, 5, mode)


def test_faiss_agrees_with_brute_force_numpy(report_settings: Settings, engine) -> None:
    index = store.load_index(report_settings.index_dir)
    searcher = Searcher(index, engine.embedder)
    for question in ["joint exercises in Kazakhstan", "legal documents adopted", "Shanghai Spirit"]:
        vector = searcher.embed_query(question)
        rows, scores = searcher.dense(vector, 10)
        brute = index.vectors @ vector
        expected = np.argsort(-brute, kind="stable")[:10]
        np.testing.assert_allclose(scores, brute[expected], rtol=1e-5, atol=1e-6)
        assert set(rows.tolist()) == set(expected.tolist())


def test_vectors_are_normalised(report_settings: Settings) -> None:
    vectors = store.load_index(report_settings.index_dir).vectors
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-4)


def test_an_index_built_with_another_model_is_refused(report_settings: Settings) -> None:
    with pytest.raises(store.IndexMismatch, match="built with model 'all-MiniLM-L6-v2'.*scoqa index build --force"):
        store.load_index(report_settings.index_dir, model="some-other-model")


def test_a_missing_index_says_what_to_run(tmp_path) -> None:
    with pytest.raises(store.IndexNotFound, match="scoqa index build"):
        store.load_index(tmp_path / "nothing")


def test_first_retrieve_builds_a_missing_index(tmp_path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "note.md").write_text("# Note\n\nThe RATS is located in Bishkek, Kyrgyzstan.\n", encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    hits = Engine(settings).retrieve("Where is RATS?", k=3)
    assert (tmp_path / "index" / "manifest.json").is_file()
    assert "Bishkek" in hits[0].text


def test_an_index_without_its_sentence_vectors_asks_for_a_rebuild(report_settings: Settings, engine) -> None:
    """Nothing but the question is embedded at query time: an index that lacks the stored
    sentence vectors is refused with the command that fixes it, not re-embedded on the fly."""
    index = dataclasses.replace(store.load_index(report_settings.index_dir), units=None)
    with pytest.raises(ValueError, match="scoqa index build --force"):
        Searcher(index, engine.embedder).search("When was the SCO founded?", 3)


def test_sentence_units_are_searched_in_their_own_faiss_index(report_settings: Settings, engine) -> None:
    """The build saves the units' FAISS index beside the passages'; it finds the passages of the
    closest sentences as a scan of every unit vector would, for the whole corpus and for some rows."""
    manifest = json.loads((report_settings.index_dir / files.MANIFEST).read_text(encoding="utf-8"))
    assert manifest["units_index"] == "IndexFlatIP" and files.UNITS_FAISS in manifest["files"]
    index = store.load_index(report_settings.index_dir)
    assert index.sentences is not None and index.sentences.index.ntotal == manifest["units"]
    owner, vectors = index.units["owner"], index.units["vectors"]
    searcher = Searcher(index, engine.embedder)
    some = np.arange(0, len(index.chunks), 3)
    for question in ["joint exercises in Kazakhstan", "Where is RATS located?"]:
        vector = searcher.embed_query(question)
        scan = np.argsort(-(vectors @ vector), kind="stable")
        np.testing.assert_array_equal(index.sentence_top(vector, 12), owner[scan[:12]])
        inside = scan[np.isin(owner[scan], some)]
        np.testing.assert_array_equal(index.sentence_top(vector, 12, some), owner[inside[:12]])
        assert not index.sentence_top(vector, 12, some[:0]).size


def test_an_index_saved_before_the_sentence_index_gets_one_on_first_use(report_settings: Settings, engine,
                                                                         tmp_path) -> None:
    original = store.load_index(report_settings.index_dir)
    copy_dir = tmp_path / "copy"
    store.save_index(copy_dir, original.manifest, original.chunks, original.vectors, original.lexical, original.units,
                     original.tokens)
    manifest = json.loads((copy_dir / files.MANIFEST).read_text(encoding="utf-8"))
    (copy_dir / files.UNITS_FAISS).unlink()
    del manifest["files"][files.UNITS_FAISS], manifest["units_index"]
    (copy_dir / files.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    older = store.load_index(copy_dir)
    assert older.sentences is None
    question = "How many died in Beslan?"
    expected = Searcher(original, engine.embedder).search(question, 5)
    assert Searcher(older, engine.embedder).search(question, 5) == expected
    assert older.sentences is not None


def test_a_large_sentence_index_is_hnsw_and_finds_what_a_scan_finds() -> None:
    from scoqa.index.faiss_index import SentenceIndex, make_faiss_index

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    owner = np.repeat(np.arange(1000), 3)
    units = {"owner": owner, "first": np.arange(0, 3001, 3), "vectors": vectors}
    hnsw, kind = make_faiss_index(vectors, exact_limit=1000)
    assert kind.startswith("IndexHNSWFlat")
    sentences = SentenceIndex(units, hnsw)
    hits = 0
    for query in vectors[rng.choice(3000, 20, replace=False)] + 0.1 * rng.standard_normal((20, 32)).astype(np.float32):
        query /= np.linalg.norm(query)
        scan = owner[np.argsort(-(vectors @ query))[:10]]
        hits += len(set(sentences.passages(query, 10).tolist()) & set(scan.tolist()))
    assert hits >= 0.95 * 200


def test_word_piece_codes_are_mapped_from_the_file_not_read_into_the_process(report_settings: Settings) -> None:
    """The codes are most of an index; a question reads 30 passages' worth of them."""
    index = store.load_index(report_settings.index_dir)
    codes = index.tokens["codes"]
    assert isinstance(codes, np.memmap) and not codes.flags.writeable
    with np.load(report_settings.index_dir / files.TOKENS) as stored:
        np.testing.assert_array_equal(codes, stored["codes"])


def test_a_compressed_or_empty_member_is_read_as_it_is(tmp_path) -> None:
    codes = (np.arange(35) % 256).astype(np.uint8).reshape(5, 7)
    np.savez_compressed(tmp_path / "packed.npz", codes=codes)
    np.savez(tmp_path / "empty.npz", codes=np.zeros((0, 7), np.uint8))
    np.testing.assert_array_equal(files.mapped_member(tmp_path / "packed.npz", "codes"), codes)
    assert files.mapped_member(tmp_path / "empty.npz", "codes").shape == (0, 7)


def test_best_unit_scores_takes_each_passages_closest_sentence() -> None:
    from scoqa.index.sentences import Units
    from scoqa.search.searcher import best_unit_scores

    rng = np.random.default_rng(1)
    counts = rng.integers(0, 4, 50)  # some passages have no unit at all
    first = np.concatenate([[0], np.cumsum(counts)])
    vectors = rng.standard_normal((int(first[-1]), 8)).astype(np.float32)
    units = Units(owner=np.repeat(np.arange(50), counts), spans=np.zeros((int(first[-1]), 2), np.int64),
                  first=first, vectors=vectors)
    query = rng.standard_normal(8).astype(np.float32)
    rows = np.array([3, 0, 7, 7, 49, 12, 5, int(np.flatnonzero(counts == 0)[0])])
    expected = [np.max(vectors[first[r]:first[r + 1]] @ query) if counts[r] else -1.0 for r in rows]
    np.testing.assert_allclose(best_unit_scores(units, query, rows), expected, rtol=1e-6)
