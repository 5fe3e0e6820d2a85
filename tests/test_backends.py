"""One suite over the index backends (SCOQA_BACKEND): faiss (the index folder), qdrant
(qdrant-client's in-process local mode) and qdrant-edge (qdrant-edge-py, Qdrant's engine
in-process): build, incremental update, removal, the same answers on
the report's gold questions, two processes on one index, and bad settings that say what is
wrong in one line.

With ``SCOQA_TEST_QDRANT_URL`` set (``make test-qdrant-server``), the same suite also runs on a
Qdrant server or cluster at that address, each test in a collection of its own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from scoqa.config import Settings, environment_without_settings
from scoqa.engine import get_engine
from scoqa.index import build, files, store
from scoqa.index.backend import SearchIndex, open_backend
from scoqa.index.status import index_status
from scoqa.tools.evaluate import comparable

from .conftest import CORPUS, load_jsonl, running_app

#: A Qdrant server or cluster to run the suite on as well (``make test-qdrant-server``).
SERVER_URL = os.environ.get("SCOQA_TEST_QDRANT_URL", "").strip()
BACKENDS = ("faiss", "qdrant", "qdrant-edge") + (("qdrant-server",) if SERVER_URL else ())
#: Backends several processes can open at once: the index folder, and a server. The local mode
#: and Edge lock their folder to one process.
SHARED_BACKENDS = ("faiss",) + (("qdrant-server",) if SERVER_URL else ())
GOLD = load_jsonl("gold_retrieval.jsonl")

DOCS = {
    "alpha.md": "# Alpha\n\nThe alpha treaty was signed in Almaty in March 1998 by five ministers.\n\n"
                "Its second article sets up a joint border commission that meets twice a year.\n",
    "beta.md": "# Beta\n\nThe beta programme trains customs officers in Tashkent every autumn.\n\n"
               "Forty officers finished the course in its first year.\n",
    "gamma.md": "# Gamma\n\nThe gamma observatory in Bishkek records earthquakes along the Tien Shan.\n",
}


def backend_changes(kind: str, root: Path) -> dict[str, object]:
    """The settings of backend ``kind`` for a test working in ``root``."""
    if kind == "qdrant-server":
        return {"backend": "qdrant", "qdrant_url": SERVER_URL,
                "qdrant_api_key": os.environ.get("SCOQA_TEST_QDRANT_API_KEY", ""),
                "qdrant_collection": f"scoqa-test-{uuid.uuid4().hex[:12]}"}
    return {"backend": kind, "qdrant_path": root / "qdrant"}


def settings_for(kind: str, root: Path, **changes: object) -> Settings:
    return Settings(corpus_dir=root / "corpus", index_dir=root / "index",
                    **backend_changes(kind, root)).with_(**changes)  # type: ignore[arg-type]


def drop_test_collection(settings: Settings) -> None:
    """Delete a test's collection from the Qdrant server it made it on (nothing for the others)."""
    if settings.qdrant_url and settings.qdrant_collection.startswith("scoqa-test-"):
        from qdrant_client import QdrantClient

        QdrantClient(url=settings.qdrant_url, api_key=settings.qdrant_api_key or None).delete_collection(
            settings.qdrant_collection)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a ``scoqa`` process ``settings``' index."""
    env = {"SCOQA_CORPUS": str(settings.corpus_dir), "SCOQA_INDEX": str(settings.index_dir),
           "SCOQA_BACKEND": settings.backend, "SCOQA_QDRANT_COLLECTION": settings.qdrant_collection}
    if settings.qdrant_url:
        env.update(SCOQA_QDRANT_URL=settings.qdrant_url, SCOQA_QDRANT_API_KEY=settings.qdrant_api_key)
    if settings.qdrant_path:
        env["SCOQA_QDRANT_PATH"] = str(settings.qdrant_path)
    return env


@pytest.fixture(params=BACKENDS)
def small(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = settings_for(request.param, tmp_path)
    request.addfinalizer(lambda: drop_test_collection(settings))
    build.build_index(settings)
    return settings


def texts(settings: Settings) -> str:
    return "\n".join(c.text for c in open_backend(settings).load(settings.model).chunks)


def test_build_then_search(small: Settings) -> None:
    index = open_backend(small).load(small.model)
    assert isinstance(index, SearchIndex)
    assert index.manifest["chunks"] == len(index.chunks) == len(index.vectors) > 0
    assert sorted(index.manifest["sources"]) == sorted(DOCS)
    status = index_status(small)
    assert status.exists and not status.stale
    hits = get_engine(small).retrieve("Where are earthquakes recorded?", k=1)
    assert "gamma observatory" in hits[0].text
    hits = get_engine(small).retrieve("customs officers training", k=1, sources=["beta.md"])
    assert hits[0].source == "beta.md"


def test_update_one_changed_file_embeds_only_it(small: Settings) -> None:
    before = open_backend(small).load()
    (small.corpus_dir / "beta.md").write_text(
        DOCS["beta.md"].replace("Forty officers", "Sixty-two officers from Osh"), encoding="utf-8")
    assert index_status(small).changed == ["beta.md"]
    report = build.update_index(small)
    assert report.changed and report.embedded == 1 and report.reused == len(before.chunks) - 1
    after = open_backend(small).load()
    assert after.build_id != before.build_id
    assert "Sixty-two officers" in texts(small) and "Forty officers" not in texts(small)
    assert not index_status(small).stale
    hits = get_engine(small).retrieve("How many officers from Osh finished?", k=1)
    assert "Sixty-two" in hits[0].text
    assert build.update_index(small).changed is False  # nothing to do: nothing written


def test_removed_file_leaves_the_index(small: Settings) -> None:
    (small.corpus_dir / "gamma.md").unlink()
    report = build.update_index(small)
    assert report.removed >= 1 and report.embedded == 0
    index = open_backend(small).load()
    assert "gamma.md" not in index.manifest["sources"]
    assert all(c.source != "gamma.md" for c in index.chunks)
    assert len(index.chunks) == index.manifest["chunks"]
    hits = get_engine(small).retrieve("earthquakes observatory", k=3)
    assert all(h.source != "gamma.md" for h in hits)


def test_model_mismatch_is_one_line(small: Settings) -> None:
    with pytest.raises(store.IndexMismatch) as caught:
        open_backend(small).load("another-model")
    assert "\n" not in str(caught.value) and "another-model" in str(caught.value)
    assert "scoqa index build --force" in str(caught.value)


def test_missing_index_is_one_line(small: Settings, tmp_path: Path) -> None:
    wrong = small.with_(index_dir=tmp_path / "elsewhere", qdrant_collection="nope")
    with pytest.raises(store.IndexNotFound) as caught:
        open_backend(wrong).read_manifest()
    message = str(caught.value)
    assert "\n" not in message and "scoqa index build" in message
    if small.backend != "faiss":
        assert "'nope'" in message and "SCOQA_QDRANT_COLLECTION" in message


def test_unreachable_qdrant_server_is_one_line(tmp_path: Path) -> None:
    from scoqa.index.qdrant import IndexUnavailable

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = settings_for("qdrant", tmp_path, qdrant_url=f"http://127.0.0.1:{port}")
    with pytest.raises(IndexUnavailable) as caught:
        index_status(settings.with_(corpus_dir=CORPUS))
    message = str(caught.value)
    assert "\n" not in message and f"127.0.0.1:{port}" in message and "SCOQA_QDRANT_URL" in message
    assert isinstance(caught.value, store.IndexProblem)  # the CLI prints it as one line


def test_backend_setting_is_checked() -> None:
    with pytest.raises(ValueError, match="SCOQA_BACKEND"):
        Settings(backend="elastic")


@pytest.fixture(scope="session", params=BACKENDS[1:])
def report_in_qdrant(request: pytest.FixtureRequest, report_settings: Settings,
                     tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The report's faiss index, saved as it is into a Qdrant collection (nothing embedded again)."""
    root = tmp_path_factory.mktemp("report-qdrant")
    settings = report_settings.with_(index_dir=root / "index", **backend_changes(request.param, root))
    request.addfinalizer(lambda: drop_test_collection(settings))
    save_into(report_settings.index_dir, settings)
    return settings


def test_qdrant_holds_the_same_index(report_settings: Settings, report_in_qdrant: Settings) -> None:
    import numpy as np

    faiss_index = store.load_index(report_settings.index_dir)
    qdrant_index = open_backend(report_in_qdrant).load(report_in_qdrant.model)
    assert [c.id for c in qdrant_index.chunks] == [c.id for c in faiss_index.chunks]
    np.testing.assert_array_equal(qdrant_index.vectors, faiss_index.vectors)
    for name in files.UNIT_ARRAYS:
        np.testing.assert_array_equal(qdrant_index.units[name], faiss_index.units[name])
    for name in files.TOKEN_ARRAYS:
        np.testing.assert_array_equal(qdrant_index.tokens[name], faiss_index.tokens[name])
    assert qdrant_index.vocabulary() == faiss_index.vocabulary()
    np.testing.assert_array_equal(qdrant_index.document_frequencies(), faiss_index.document_frequencies())
    terms = ["terrorism", "shanghai", "convent"]
    np.testing.assert_allclose(qdrant_index.bm25_scores([t for t in terms if t in faiss_index.vocabulary()]),
                               faiss_index.bm25_scores([t for t in terms if t in faiss_index.vocabulary()]),
                               rtol=1e-5, atol=1e-5)


def test_a_qdrant_process_reads_word_pieces_and_scoped_vectors_from_the_collection(
        report_settings: Settings, report_in_qdrant: Settings) -> None:
    """Serving holds the records and sentence units, not every dense vector and code: the rerank's
    word pieces and a search within some rows come from the collection, equal to the faiss index's."""
    import numpy as np

    faiss_index = store.load_index(report_settings.index_dir)
    qdrant_index = open_backend(report_in_qdrant).load(report_in_qdrant.model)
    searcher = get_engine(report_settings).searcher()
    rows = np.array([7, 0, 42, 7, len(faiss_index.chunks) - 1])
    mine, theirs = qdrant_index.late_tokens(rows), faiss_index.late_tokens(rows)
    for name in files.TOKEN_ARRAYS:
        np.testing.assert_array_equal(mine[name], theirs[name])
    some = np.arange(0, len(faiss_index.chunks), 3)
    for question in ["joint exercises in Kazakhstan", "Where is RATS located?"]:
        vector = searcher.embed_query(question)
        found, scores = qdrant_index.dense_top(vector, 10, some)
        expected, expected_scores = faiss_index.dense_top(vector, 10, some)
        np.testing.assert_array_equal(found, expected)
        np.testing.assert_allclose(scores, expected_scores, rtol=1e-5, atol=1e-6)
    assert qdrant_index._vectors is None and qdrant_index._tokens is None


def save_into(index_dir: Path, settings: Settings) -> None:
    """Save the faiss index at ``index_dir`` as it is into ``settings``' backend (nothing embedded again)."""
    faiss_index = store.load_index(index_dir)
    open_backend(settings).save(faiss_index.manifest, faiss_index.chunks, faiss_index.vectors,
                                faiss_index.lexical, faiss_index.units, faiss_index.tokens)


def agreement(faiss_engine, qdrant_engine, items: list[dict]) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """How many top hits are the same passage, and recall@1 of each backend (a top hit holding
    one of the item's ``answers``, or of its ``gold`` passages in the devcorpus's format)."""
    same = hits_faiss = hits_qdrant = 0
    for item in items:
        question = item.get("question") or item["q"]
        wanted = [comparable(a) for a in item.get("answers") or item["gold"]]
        top_faiss = faiss_engine.retrieve(question, k=1)[0]
        top_qdrant = qdrant_engine.retrieve(question, k=1)[0]
        same += top_faiss.chunk_id == top_qdrant.chunk_id
        hits_faiss += any(a in comparable(top_faiss.text) for a in wanted)
        hits_qdrant += any(a in comparable(top_qdrant.text) for a in wanted)
    return same, hits_faiss, hits_qdrant


@pytest.mark.parametrize("name", ["gold_retrieval.jsonl", "heldout/gold_retrieval.jsonl"])
def test_report_top1_agrees_with_faiss(report_settings: Settings, report_in_qdrant: Settings, name: str) -> None:
    items = load_jsonl(name)
    same, hits_faiss, hits_qdrant = agreement(get_engine(report_settings), get_engine(report_in_qdrant), items)
    print(f"{report_in_qdrant.backend} {name}: top-1 identical {same}/{len(items)}; recall@1 faiss "
          f"{hits_faiss}/{len(items)}, qdrant {hits_qdrant}/{len(items)}")
    assert same >= 0.95 * len(items)
    assert abs(hits_faiss - hits_qdrant) <= 1


@pytest.mark.parametrize("kind", SHARED_BACKENDS)
def test_an_update_by_one_process_is_answered_by_an_app_serving_the_same_index(
        kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Two real processes on one index: the app serves it; ``scoqa index update``, run beside it,
    adds a passage; the app answers from it at once, without a restart."""
    from gradio_client import Client

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = settings_for(kind, tmp_path)
    request.addfinalizer(lambda: drop_test_collection(settings))
    build.build_index(settings)
    question = "Where is the delta lighthouse?"
    # The app would bring a stale index up to date itself: here only the other process may.
    with running_app(settings, tmp_path, {**settings_env(settings), "SCOQA_AUTO_UPDATE": "0"}) as url:
        client = Client(url, verbose=False)
        before = client.predict(question, [], None, api_name="/ask")
        assert all("lighthouse" not in s["text"] for s in before["sources"])
        (corpus / "delta.md").write_text("# Delta\n\nThe delta lighthouse stands on the cliffs above Aktau.\n",
                                         encoding="utf-8")
        env = environment_without_settings()
        env.update(settings_env(settings))
        done = subprocess.run([sys.executable, "-m", "scoqa.interfaces.cli", "index", "update"], env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        after = client.predict(question, [], None, api_name="/ask")
        assert after["answered"] and "Aktau" in after["text"], after
        assert after["sources"][0]["source"] == "delta.md"


def test_devcorpus_top1_agrees_with_faiss(devcorpus_settings: Settings, tmp_path: Path,
                                          request: pytest.FixtureRequest) -> None:
    """The five real documents (9,000 passages and sentences) in Qdrant's engine answer as the
    index folder does. qdrant-edge runs here (about 35 s); the local mode gave the same 69 of 69
    top hits when measured (about 2 minutes: docs/indexing.md) and runs on the report above."""
    kind = "qdrant-server" if SERVER_URL else "qdrant-edge"
    settings = devcorpus_settings.with_(index_dir=tmp_path / "index", **backend_changes(kind, tmp_path))
    request.addfinalizer(lambda: drop_test_collection(settings))
    save_into(devcorpus_settings.index_dir, settings)
    items = load_jsonl("devcorpus/qa.jsonl")
    same, hits_faiss, hits_qdrant = agreement(get_engine(devcorpus_settings), get_engine(settings), items)
    print(f"{kind} devcorpus: top-1 identical {same}/{len(items)}; recall@1 faiss {hits_faiss}, qdrant {hits_qdrant}")
    assert same >= 0.95 * len(items)
    assert abs(hits_faiss - hits_qdrant) <= 1
