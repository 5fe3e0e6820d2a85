"""The embedding runtimes: onnxruntime gives torch's vectors, its export is made once, checked and
reused (or made again when damaged), serving never imports torch, and indexes move between runtimes."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import sysconfig
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest

import scoqa
from scoqa.config import RUNTIMES, Settings
from scoqa.engine import Engine
from scoqa.index import onnx_model, store
from scoqa.index.build import build_index
from scoqa.index.embed import (
    OnnxEmbedder,
    TorchEmbedder,
    get_embedder,
    get_token_counter,
    resolve_model,
)

from .conftest import load_jsonl
from .index_helpers import make_settings

QUESTIONS = [q["question"] for q in load_jsonl("gold_retrieval.jsonl")[:20]]


@pytest.fixture(scope="module")
def torch_embedder() -> TorchEmbedder:
    embedder = get_embedder(runtime="torch")
    assert isinstance(embedder, TorchEmbedder)
    return embedder


@pytest.fixture(scope="module")
def onnx_embedder(model_cache: Path) -> OnnxEmbedder:
    embedder = get_embedder(runtime="onnx", cache_dir=model_cache)
    assert isinstance(embedder, OnnxEmbedder)
    return embedder


@pytest.fixture(scope="module")
def texts(report_settings: Settings) -> list[str]:
    """Passages of the report, one longer than the model reads (truncated), its gold questions,
    an empty text and one of punctuation only."""
    passages = [c.context for c in store.load_index(report_settings.index_dir).chunks[::4]]
    return passages + [" ".join(passages[:4])] + QUESTIONS + ["", "?!"]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_onnx_gives_torchs_sentence_and_word_piece_vectors(texts, torch_embedder, onnx_embedder) -> None:
    assert onnx_embedder.dim == torch_embedder.dim == 384
    assert onnx_embedder.max_tokens == torch_embedder.max_tokens == 256
    assert min(_cosines(onnx_embedder.encode(texts), torch_embedder.encode(texts))) >= 1 - 1e-5
    for query in (False, True):
        onnx_vectors, onnx_tokens = onnx_embedder.encode_with_tokens(texts, query=query)
        torch_vectors, torch_tokens = torch_embedder.encode_with_tokens(texts, query=query)
        assert min(_cosines(onnx_vectors, torch_vectors)) >= 1 - 1e-5
        assert [len(t) for t in onnx_tokens] == [len(t) for t in torch_tokens]  # the same word pieces kept
        assert sum(len(t) for t in onnx_tokens) > 1000
        assert min(_cosines(np.concatenate(onnx_tokens), np.concatenate(torch_tokens))) >= 1 - 1e-5


def test_onnx_runs_a_builds_batches_at_once_and_hands_them_back_in_order(texts, onnx_embedder, monkeypatch) -> None:
    sequential = onnx_embedder.encode_with_tokens(texts, batch_size=4)
    forward, running, most, flags = onnx_embedder._forward, [0], [0], []
    lock = threading.Lock()

    def counted(batch: list[str], concurrent: bool = False):  # type: ignore[no-untyped-def]
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            flags.append(concurrent)
        time.sleep(0.02)  # long enough for the next batch to start beside it
        try:
            return forward(batch, concurrent)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(onnx_embedder, "_forward", counted)
    monkeypatch.setattr(onnx_embedder, "workers", 2)
    at_once = onnx_embedder.encode_with_tokens(texts, batch_size=4)
    assert most[0] == 2
    assert all(flags)  # batches run beside each other go to the session whose threads never spin
    assert np.array_equal(at_once[0], sequential[0])
    assert all(np.array_equal(a, b) for a, b in zip(at_once[1], sequential[1], strict=True))
    monkeypatch.setattr(onnx_embedder, "workers", 1)
    most[0], flags[:] = 0, []
    onnx_embedder.encode(texts, batch_size=4)
    assert most[0] == 1
    assert flags and not any(flags)
    assert TorchEmbedder.workers == 1  # torch modules are not guaranteed thread-safe


def test_onnx_batches_a_build_by_padded_word_pieces_longest_first(texts, onnx_embedder) -> None:
    batches = onnx_embedder.plan_batches(texts)
    assert sorted(i for rows in batches for i in rows) == list(range(len(texts)))
    padded = [min(onnx_embedder.count_tokens(t) + 2, 256) for t in texts]
    order = [i for rows in batches for i in rows]
    assert [padded[i] for i in order] == sorted(padded, reverse=True)
    assert all(len(rows) == 1 or len(rows) * padded[rows[0]] <= onnx_embedder.batch_pieces for rows in batches)
    assert len(batches[0]) == 1 and max(len(rows) for rows in batches) > 4  # long texts alone, short ones many
    assert min(_cosines(onnx_embedder.encode(texts), onnx_embedder.encode(texts, batch_size=4))) >= 1 - 1e-5


def test_onnx_tokenizes_as_sentence_transformers_at_256_pieces_padded_to_the_longest(texts, torch_embedder,
                                                                                      onnx_embedder) -> None:
    tokenizer = onnx_embedder.onnx.tokenizer
    long, short = " ".join(texts[:4]), "RATS"
    assert len(tokenizer.encode(long).ids) == 256  # tokenizer.json itself says 128
    assert len(tokenizer.encode(short).ids) == 3  # [CLS] rats [SEP], no padding to a fixed length
    assert [len(e.ids) for e in tokenizer.encode_batch([long, short])] == [256, 256]
    for text in [long, *texts]:
        expected = torch_embedder.model.preprocess([text])["input_ids"][0].tolist()
        assert tokenizer.encode(text).ids == expected, text[:80]
        # The counter that chunking uses (tokenizers, no torch) counts as the model's tokenizer does.
        assert get_token_counter()(text) == len(torch_embedder.model.tokenizer(text, add_special_tokens=False)["input_ids"])


def test_the_export_is_reused_not_made_again(model_cache: Path, onnx_embedder, monkeypatch) -> None:
    source = resolve_model("all-MiniLM-L6-v2")
    folder = onnx_model.export_folder(model_cache, source)
    made = (folder / "manifest.json").stat().st_mtime_ns
    monkeypatch.setattr(onnx_model, "export", lambda *args: pytest.fail("the export was made again"))
    loaded = onnx_model.load(source, model_cache)
    assert loaded.folder == folder and (folder / "manifest.json").stat().st_mtime_ns == made
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["agreement"]["sentence"] >= 1 - 1e-5 and manifest["agreement"]["word_pieces"] >= 1 - 1e-5
    assert manifest["max_tokens"] == 256 and manifest["dim"] == 384
    # Attention and GELU fused for onnxruntime; each residual sum and layer norm left as two nodes.
    graph = onnx.load(str(folder / "model.onnx"), load_external_data=False).graph
    ops = Counter(node.op_type for node in graph.node)
    assert ops["Attention"] == 6 and ops["BiasGelu"] == 6 and not ops["SkipLayerNormalization"]
    assert ops["LayerNormalization"] == 13  # the embeddings' and two in each of the six layers
    assert folder.is_relative_to(model_cache)  # scoqa's cache folder, never site-packages
    assert not folder.is_relative_to(sysconfig.get_paths()["purelib"]) and not folder.is_relative_to(source)


def _copy_export(model_cache: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A copy of the session's export in a cache folder of its own: (source, cache, export folder)."""
    source = resolve_model("all-MiniLM-L6-v2")
    folder = onnx_model.export_folder(tmp_path / "cache", source)
    shutil.copytree(onnx_model.export_folder(model_cache, source), folder)
    return source, tmp_path / "cache", folder


def _flip_weights(path: Path) -> None:
    """Change bytes in the middle of the weights, keeping the file's size."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4096] = bytes(b ^ 0x5A for b in data[middle:middle + 4096])
    path.write_bytes(bytes(data))


def _swap_reference(folder: Path) -> None:
    """Make the reference vectors another text's (as if onnxruntime now computed otherwise)."""
    reference = dict(np.load(folder / "reference.npz"))
    reference["sentence"] = np.roll(reference["sentence"], 1, axis=0)
    np.savez(folder / "reference.npz", **reference)


def _edit_manifest(folder: Path, **changes: object) -> None:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    (folder / "manifest.json").write_text(json.dumps(manifest | changes), encoding="utf-8")


DAMAGES = {
    "truncated": (lambda f: (f / "model.onnx").write_bytes((f / "model.onnx").read_bytes()[:1000]),
                  r"model\.onnx has 1000 bytes, the manifest says \d+"),
    "weights changed": (lambda f: _flip_weights(f / "model.onnx"), r"model\.onnx is not the file that was exported"),
    "answers otherwise": (lambda f: _swap_reference(f), r"vectors no longer match torch's"),
    "manifest unreadable": (lambda f: (f / "manifest.json").write_text("{", encoding="utf-8"),
                            r"its manifest is unreadable"),
    "another model": (lambda f: _edit_manifest(f, fingerprint={"model.safetensors": [1, 2]}),
                      r"it was made from other model files than those in"),
    "another format": (lambda f: _edit_manifest(f, format=0), rf"it is of format 0, this scoqa makes format {onnx_model.EXPORT_FORMAT}"),
    "reference lost": (lambda f: (f / "reference.npz").unlink(), r"it does not load"),
}


@pytest.mark.parametrize("damage", DAMAGES, ids=list(DAMAGES))
def test_a_damaged_or_outdated_export_is_found_with_the_reason(model_cache, onnx_embedder, tmp_path, damage) -> None:
    source, _, folder = _copy_export(model_cache, tmp_path)
    onnx_model._open(folder, source)  # the copy itself is fine
    harm, reason = DAMAGES[damage]
    harm(folder)
    with pytest.raises(onnx_model._Unusable, match=reason):
        onnx_model._open(folder, source)


def test_an_unchanged_export_is_not_hashed_again(model_cache, onnx_embedder, tmp_path, monkeypatch) -> None:
    source, _, folder = _copy_export(model_cache, tmp_path)
    onnx_model._open(folder, source)  # hashed once, and its state recorded
    assert (folder / "verified.json").is_file()
    monkeypatch.setattr(onnx_model, "file_sha256", lambda path: pytest.fail("hashed again"))
    onnx_model._open(folder, source)


def test_changed_weights_are_found_even_with_the_files_times_put_back(model_cache, onnx_embedder, tmp_path) -> None:
    source, _, folder = _copy_export(model_cache, tmp_path)
    onnx_model._open(folder, source)
    model_file = folder / "model.onnx"
    before = model_file.stat()
    _flip_weights(model_file)
    os.utime(model_file, ns=(before.st_atime_ns, before.st_mtime_ns))  # as `touch -d` or `cp -p` would
    assert model_file.stat().st_mtime_ns == before.st_mtime_ns and model_file.stat().st_size == before.st_size
    with pytest.raises(onnx_model._Unusable, match=r"model\.onnx is not the file that was exported"):
        onnx_model._open(folder, source)
    # A file that replaces it (another inode), even with the same size and times, is hashed too.
    replacement = folder / "replacement.onnx"
    shutil.copy2(model_cache / "onnx" / folder.name / "model.onnx", replacement)
    _flip_weights(replacement)
    os.utime(replacement, ns=(before.st_atime_ns, before.st_mtime_ns))
    replacement.replace(model_file)
    with pytest.raises(onnx_model._Unusable, match=r"model\.onnx is not the file that was exported"):
        onnx_model._open(folder, source)


def test_a_damaged_export_is_made_again_with_a_warning(model_cache, onnx_embedder, tmp_path, caplog) -> None:
    source, cache, folder = _copy_export(model_cache, tmp_path)
    _flip_weights(folder / "model.onnx")
    with caplog.at_level(logging.WARNING, logger="scoqa.index.onnx_model"):
        loaded = onnx_model.load(source, cache)
    assert any("cannot be used: model.onnx is not the file that was exported" in r.getMessage() and "exporting it again"
               in r.getMessage() for r in caplog.records), caplog.text
    assert loaded.folder == folder and sorted(p.name for p in cache.joinpath("onnx").iterdir()) == [
        folder.name, f"{folder.name}.lock"]  # no temporary folder left behind
    fresh = onnx_model.run(loaded.session, loaded.tokenizer, loaded.inputs, QUESTIONS[:4])[0]
    reference = onnx_model.run(onnx_model.load(source, model_cache).session, loaded.tokenizer, loaded.inputs,
                               QUESTIONS[:4])[0]
    assert onnx_model.agreement(fresh, reference) >= 1 - 1e-5


_SERVE = """
import sys
from pathlib import Path
import json
import scoqa
from scoqa.config import Settings
settings = Settings(corpus_dir=Path(sys.argv[1]), index_dir=Path(sys.argv[2]))
hits = scoqa.retrieve("When was the SCO founded?", k=3, settings=settings)
reply = scoqa.ask("How many people died in Beslan?", settings=settings)
print(settings.runtime, "June 2001" in hits[0].text, reply.answered, "torch" in sys.modules, "transformers" in sys.modules)
# Answering opened the questions' session only, not the one a build's batches run on.
from scoqa.index.embed import embedder_for
print(embedder_for(settings).onnx._batch_session is not None)
# bm25s was imported without the numba and scipy it does not need here, and both still import.
print("numba" in sys.modules, "scipy" in sys.modules)
import bm25s, numba, scipy.sparse
print(bm25s.NUMBA_AVAILABLE, bm25s.SCIPY_AVAILABLE, callable(numba.njit), callable(scipy.sparse.csc_matrix))
print(json.dumps([reply.text, [hit.chunk_id for hit in reply.sources], [[q.source, q.start, q.end] for q in reply.quotes]]))
"""


def test_serving_with_onnx_never_imports_torch(report_settings: Settings, engine) -> None:
    engine.searcher()  # the export and the index exist
    result = subprocess.run([sys.executable, "-c", _SERVE, str(report_settings.corpus_dir),
                             str(report_settings.index_dir)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    *flags, first_answer = result.stdout.splitlines()
    assert " ".join(flags).split() == ["onnx", "True", "True", "False", "False", "False", "False", "False",
                                       "False", "False", "True", "True"]
    # The new process's first answer is the one a warm engine gives.
    warm = scoqa.ask("How many people died in Beslan?", settings=report_settings)
    assert json.loads(first_answer) == [warm.text, [hit.chunk_id for hit in warm.sources],
                                        [[q.source, q.start, q.end] for q in warm.quotes]]


def test_an_index_built_with_torch_answers_with_onnx(tmp_path: Path) -> None:
    settings = make_settings(tmp_path).with_(runtime="torch")
    build_index(settings)
    with_torch = Engine(settings).retrieve("Where is the RATS located?", k=3)
    with_onnx = Engine(settings.with_(runtime="onnx")).retrieve("Where is the RATS located?", k=3)
    assert "Tashkent" in with_onnx[0].text
    assert [h.text for h in with_onnx] == [h.text for h in with_torch]
    assert [h.score for h in with_onnx] == pytest.approx([h.score for h in with_torch], abs=1e-4)
    # And the vectors stored by the torch build are those onnx gives.
    index = store.load_index(settings.index_dir)
    onnx = get_embedder(runtime="onnx", cache_dir=settings.cache_dir)
    assert min(_cosines(index.vectors, onnx.encode([c.context for c in index.chunks]))) >= 1 - 1e-5


def test_the_runtime_setting_names_the_allowed_values(monkeypatch) -> None:
    assert RUNTIMES == ("onnx", "torch") and Settings().runtime == "onnx"
    monkeypatch.setenv("SCOQA_RUNTIME", "torch")
    assert Settings.from_env().runtime == "torch"
    monkeypatch.setenv("SCOQA_RUNTIME", "cuda")
    with pytest.raises(ValueError, match=r"^SCOQA_RUNTIME must be one of onnx, torch, got 'cuda'$"):
        Settings.from_env()
    with pytest.raises(ValueError, match=r"^runtime must be one of onnx, torch, got 'tensorflow'$"):
        Settings(runtime="tensorflow")


def test_the_cache_folder_is_a_setting(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("SCOQA_CACHE", str(tmp_path / "models"))
    assert Settings.from_env().cache_dir == Settings().cache_dir == tmp_path / "models"
    monkeypatch.delenv("SCOQA_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert Settings().cache_dir == tmp_path / "xdg" / "scoqa"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert Settings().cache_dir == Path.home() / ".cache" / "scoqa"
