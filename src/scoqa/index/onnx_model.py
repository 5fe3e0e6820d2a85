"""The embedding model on onnxruntime: exported once from the local sentence-transformers folder,
checked against torch, kept in scoqa's cache folder, and checked again (without torch) on every load.

One export lives in ``<cache>/onnx/<model folder>-<key>/`` (the key hashes the model folder's path):

    model.onnx      the model's modules (transformer, pooling, normalisation) as one graph: inputs
                    as the model's tokenizer names them, outputs ``sentence_embedding`` and
                    ``token_embeddings`` (the last hidden layer, one vector per word piece: the rerank's)
    reference.npz   torch's sentence and word-piece vectors of the short :data:`PROBES`, which
                    every load compares the export with (a damaged file gives other vectors)
    manifest.json   what it was made from (the model folder's files with sizes and times), with
                    which versions, the agreement measured against torch, and model.onnx's size and
                    SHA-256 (the only check that sees a damaged row of the word-piece embeddings
                    that the check texts do not use)
    verified.json   model.onnx's size, times, inode and device when its SHA-256 last matched: a
                    load that finds them unchanged skips the hash (~0.07 s); see :func:`_check_sha256`

Exporting needs torch (``torch.onnx.export(dynamo=True)``; the older TorchScript exporter gives
wrong outputs under transformers 5); loading needs only onnxruntime, numpy and ``tokenizers``. The
tokenizer is the model's own ``tokenizer.json``, set to truncate at the model's length (256 word
pieces, not the 128 the file says) and to pad to the longest text of a batch.

A missing, damaged or outdated export (another model folder, another format, vectors that no
longer match the reference) is made again, with a warning that says why. Two processes never
export at once (a lock file), and an export becomes visible only when complete (a rename).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..ingest import file_sha256

log = logging.getLogger(__name__)

#: Bumped when the export's files or graph change; an export of another format is made again.
EXPORT_FORMAT = 2
#: The least cosine between an ONNX vector and torch's (sentence and word-piece vectors alike).
AGREEMENT = 1 - 1e-5
#: Fixed texts both runtimes embed: questions, a name, punctuation and non-Latin script, an
#: empty text, and one longer than the model reads (truncation); together they also pad.
PROBES = (
    "When was the Shanghai Cooperation Organisation founded?",
    "RATS",
    "",
    "Beslan, Russia: 300 dead, half of them children (September 2004).",
    "Ünïcödé naïve café — “quoted”, 2001–2005, 中文 and an emoji 🙂; E.O. 14285 § 3(b).",
    " ".join(["The member states agreed on joint counter-terrorism exercises, shared lists of "
              "wanted persons, and a regional structure in Tashkent to coordinate them."] * 12),
)
#: The probes every load runs (one short batch: the long probe alone would take most of a second).
LOAD_PROBES = PROBES[:-1]
#: Where each model input comes from in a ``tokenizers`` encoding.
_ENCODING_FIELDS = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}
#: Files of the model folder that do not change the model.
_NOT_MODEL = {"README.md", ".gitattributes"}


class ExportError(RuntimeError):
    """The model could not be exported, or its export does not give torch's vectors."""


@dataclass
class OnnxModel:
    """A loaded, checked export.

    Attributes:
        session: The onnxruntime session (CPU) for questions and batches run one at a time
            (:func:`new_session`).
        tokenizer: The model's ``tokenizers`` tokenizer, truncating and padding as the model reads.
        inputs: The session's input names, in the order of :data:`_ENCODING_FIELDS`' keys used.
        dim: Sentence vector dimension.
        max_tokens: The model's maximum input length in word pieces.
        folder: Where the export lives.
    """

    session: Any
    tokenizer: Any
    inputs: list[str]
    dim: int
    max_tokens: int
    folder: Path
    _batch_session: Any = field(default=None, repr=False)
    _opening: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def batch_session(self) -> Any:
        """A second session on the same checked file, for a build's batches, run several at once
        on one thread each (:func:`new_session`). Opened on first use (~0.2 s and ~90 MiB, once a
        process), so a process that only answers questions never holds it."""
        with self._opening:
            if self._batch_session is None:
                self._batch_session = new_session(self.folder / "model.onnx", batches=True)
            return self._batch_session

    def forward(self, texts: list[str], concurrent: bool = False
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One batch through the model: sentence vectors, word-piece vectors, ids and attention
        mask; ``concurrent`` when other batches run at the same time (on :attr:`batch_session`)."""
        return run(self.batch_session if concurrent else self.session, self.tokenizer, self.inputs, texts)


def export_folder(cache_dir: Path, source: Path) -> Path:
    """Where the export of the model folder ``source`` lives under ``cache_dir``."""
    key = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:12]
    return Path(cache_dir) / "onnx" / f"{source.name}-{key}"


def source_fingerprint(source: Path) -> dict[str, list[int]]:
    """The model folder's files with their sizes and modification times: an export made from
    other files (another version of the model, a reinstall) is made again."""
    found = {}
    for path in sorted(source.rglob("*")):
        if path.is_file() and path.name not in _NOT_MODEL:
            stat = path.stat()
            found[path.relative_to(source).as_posix()] = [stat.st_size, stat.st_mtime_ns]
    return found


def load_tokenizer(source: Path, max_tokens: int | None = None):  # type: ignore[no-untyped-def]
    """The model's ``tokenizers`` tokenizer from ``tokenizer.json``.

    With ``max_tokens`` it truncates there and pads to the longest text of a batch, as
    sentence-transformers feeds the model; without, it neither truncates nor pads (for counting).
    """
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    padding = tokenizer.padding or {}
    tokenizer.no_truncation()
    tokenizer.no_padding()
    if max_tokens is not None:
        tokenizer.enable_truncation(max_length=max_tokens)
        pad_token = padding.get("pad_token", "[PAD]")
        pad_id = padding.get("pad_id", tokenizer.token_to_id(pad_token) or 0)
        tokenizer.enable_padding(pad_id=pad_id, pad_type_id=padding.get("pad_type_id", 0), pad_token=pad_token)
    return tokenizer


def new_session(path: Path, batches: bool = False):  # type: ignore[no-untyped-def]
    """An onnxruntime CPU session for ``path``; thread-safe.

    For questions (the default) each call runs on onnxruntime's threads, one a core, which spin
    while a call runs and sleep as soon as none does: sleeping threads, woken for each of the
    graph's operators, made a lone question ~1.5 times slower, and threads left spinning after a
    call took the CPU that search, answers and other processes need. For a build's ``batches``
    each call runs on the caller's thread alone, and the build runs one call a core at once
    (:attr:`scoqa.index.embed.OnnxEmbedder.workers`): 7-11 % more texts a second, in less CPU, than
    two calls on onnxruntime's threads, whose spinning threads took each other's cores
    (docs/performance.md, "Two sessions").
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    if batches:
        options.intra_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    else:
        options.add_session_config_entry("session.intra_op.allow_spinning", "1")
        options.add_session_config_entry("session.force_spinning_stop", "1")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run(session: Any, tokenizer: Any, inputs: list[str], texts: list[str]
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Tokenize ``texts`` and run them through ``session``: (sentence vectors, word-piece vectors,
    ids, attention mask), the vectors as the model gives them (not normalised here)."""
    encodings = tokenizer.encode_batch(list(texts))
    feed = {name: np.array([getattr(e, _ENCODING_FIELDS[name]) for e in encodings], dtype=np.int64)
            for name in inputs}
    sentence, tokens = session.run(["sentence_embedding", "token_embeddings"], feed)
    return sentence, tokens, feed["input_ids"], feed["attention_mask"]


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float64)
    return rows / np.maximum(np.linalg.norm(rows, axis=-1, keepdims=True), 1e-12)


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    """The least cosine between corresponding rows of ``a`` and ``b`` (1.0 for no rows)."""
    if len(a) == 0:
        return 1.0
    return float(np.min(np.sum(_unit(a) * _unit(b), axis=-1)))


def _file_state(stat: os.stat_result) -> list[int]:
    """What changes whenever a file's bytes do: size, modification and change times, inode, device."""
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev]


def _check_sha256(model_file: Path, expected: object) -> bool:
    """Whether ``model_file`` has the SHA-256 ``expected``, hashing it only when it may have changed.

    After a match, ``verified.json`` beside it records the file's :func:`_file_state` as it was
    before hashing. A later check that finds the same state skips the hash: a write to the file
    changes its modification time and always its change time (``ctime``, which no user call sets
    back: restoring the modification time, as ``touch -d`` or ``cp -p`` do, changes it again), a
    replaced file has another inode. As git does for its index ("racy git"), a state is trusted
    only if the file's change time is older than the record itself, so that a write within the
    clock's granularity of the check is never missed. What only hashing sees is damage below the
    file system (the disk's own); that is what the size, the check texts' vectors and onnxruntime's
    loading are left to. A folder that cannot be written to is hashed on every load.
    """
    stamp = model_file.with_name("verified.json")
    before = model_file.stat()
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
        if (recorded.get("sha256") == expected and recorded.get("state") == _file_state(before)
                and before.st_ctime_ns < stamp.stat().st_mtime_ns):
            return True
    except (OSError, ValueError, AttributeError):
        pass  # no record yet, or an unreadable one: hash
    if file_sha256(model_file) != expected:
        return False
    tmp = stamp.with_name(f"{stamp.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(json.dumps({"sha256": expected, "state": _file_state(before)}) + "\n", encoding="utf-8")
        os.replace(tmp, stamp)
    except OSError:
        tmp.unlink(missing_ok=True)
    return True


def _probe_vectors(sentence: np.ndarray, tokens: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The probes' sentence vectors and the word-piece vectors of their attended positions."""
    return np.asarray(sentence, np.float32), np.asarray(tokens[mask.astype(bool)], np.float32)


# -- loading -------------------------------------------------------------------------------------
class _Unusable(Exception):
    """Why an export on disk cannot be used (a sentence)."""


def _open(folder: Path, source: Path) -> OnnxModel:
    """Open the export in ``folder`` and check it against its manifest and reference vectors.

    Raises:
        _Unusable: saying what is wrong with it.
    """
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _Unusable("there is none yet") from None
    except (OSError, ValueError) as exc:
        raise _Unusable(f"its manifest is unreadable ({exc})") from None
    if manifest.get("format") != EXPORT_FORMAT:
        raise _Unusable(f"it is of format {manifest.get('format')}, this scoqa makes format {EXPORT_FORMAT}")
    if manifest.get("source") != str(source) or manifest.get("fingerprint") != source_fingerprint(source):
        raise _Unusable(f"it was made from other model files than those in {source}")
    model_file = folder / "model.onnx"
    size = model_file.stat().st_size if model_file.is_file() else None
    if size != manifest.get("model_bytes"):
        raise _Unusable(f"model.onnx has {size} bytes, the manifest says {manifest.get('model_bytes')}")
    if not _check_sha256(model_file, manifest.get("model_sha256")):
        raise _Unusable("model.onnx is not the file that was exported (its SHA-256 differs)")
    try:
        session = new_session(model_file)
        reference = np.load(folder / "reference.npz")
        expected_sentence, expected_tokens = reference["sentence"], reference["tokens"]
    except Exception as exc:  # onnxruntime raises its own errors for a damaged graph
        raise _Unusable(f"it does not load ({type(exc).__name__}: {str(exc)[:200]})") from None
    tokenizer = load_tokenizer(source, int(manifest["max_tokens"]))
    inputs = list(manifest["inputs"])
    try:
        sentence, tokens, _, mask = run(session, tokenizer, inputs, list(LOAD_PROBES))
        got_sentence, got_tokens = _probe_vectors(sentence, tokens, mask)
        if got_sentence.shape != expected_sentence.shape or got_tokens.shape != expected_tokens.shape:
            raise ValueError("the reference vectors are of other shapes")
        worst = min(agreement(got_sentence, expected_sentence), agreement(got_tokens, expected_tokens))
    except Exception as exc:
        raise _Unusable(f"it fails on the check texts ({type(exc).__name__}: {str(exc)[:200]})") from None
    if not worst >= AGREEMENT:
        raise _Unusable(f"its vectors no longer match torch's (least cosine {worst:.6f}, needed {AGREEMENT})")
    return OnnxModel(session, tokenizer, inputs, int(manifest["dim"]), int(manifest["max_tokens"]), folder)


def load(source: Path, cache_dir: Path, label: str = "") -> OnnxModel:
    """The checked ONNX export of the model folder ``source``, exported first if it is missing,
    damaged or outdated (with a warning saying why; ``label`` names the model there).

    Raises:
        ExportError: if the model cannot be exported or its export does not give torch's vectors.
    """
    folder = export_folder(cache_dir, source)
    try:
        return _open(folder, source)
    except _Unusable as problem:
        reason = str(problem)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with (folder.parent / f"{folder.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be exporting it right now
        try:
            return _open(folder, source)
        except _Unusable as problem:
            reason = str(problem)
        if reason == "there is none yet":
            log.warning("exporting the embedding model %s to ONNX in %s (once, about half a minute)",
                        label or source.name, folder)
        else:
            log.warning("the ONNX export in %s cannot be used: %s; exporting it again", folder, reason)
        export(source, folder)
        try:
            return _open(folder, source)
        except _Unusable as problem:
            raise ExportError(f"the fresh ONNX export in {folder} cannot be used: {problem}") from None


# -- exporting (torch) ---------------------------------------------------------------------------
def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("torch", "transformers", "sentence-transformers", "onnx", "onnxscript", "onnxruntime",
                    "tokenizers"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "missing"
    return found


def _torch_model(source: Path):  # type: ignore[no-untyped-def]
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(source), device="cpu").eval()


def _torch_vectors(model, features) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """torch's sentence vectors and attended word-piece vectors for tokenized ``features``."""
    import torch

    with torch.inference_mode():
        out = model(features)
    return _probe_vectors(out["sentence_embedding"].float().numpy(), out["token_embeddings"].float().numpy(),
                          features["attention_mask"].numpy())


def _graph(model, inputs: list[str], path: Path) -> None:  # type: ignore[no-untyped-def]
    """Export the sentence-transformers ``model`` (all its modules) to ``path`` with torch's dynamo exporter."""
    import torch

    class Embedding(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            out = self.model(dict(zip(inputs, tensors)))
            return out["sentence_embedding"], out["token_embeddings"]

    features = model.preprocess(["an example text to trace the model with", "a shorter one"])
    batch, length = torch.export.Dim("batch"), torch.export.Dim("length")
    with torch.inference_mode(False), torch.no_grad():
        torch.onnx.export(
            Embedding().eval(), tuple(features[name] for name in inputs), str(path), dynamo=True,
            input_names=inputs, output_names=["sentence_embedding", "token_embeddings"],
            dynamic_shapes=(tuple({0: batch, 1: length} for _ in inputs),), external_data=False, verbose=False,
        )


def _fuse(path: Path) -> None:
    """Fuse attention and GELU for onnxruntime (onnxscript's rewriter for dynamo-exported
    graphs), in place; each residual sum and its layer norm stay two nodes
    (:func:`_split_skip_layer_norms`)."""
    import onnx
    from onnxscript import ir
    from onnxscript.rewriter.ort_fusions import optimize_for_ort

    model = ir.load(str(path))
    model, _ = optimize_for_ort(model)
    proto = ir.serde.serialize_model(model)
    _split_skip_layer_norms(proto.graph)
    onnx.save(proto, str(path))


def _split_skip_layer_norms(graph: Any) -> int:
    """Replace each ``SkipLayerNormalization`` node of an ONNX ``graph`` (a residual sum, plus a
    bias, then a layer norm, fused) by ``Add`` nodes and a ``LayerNormalization``, in place; return
    how many. onnxruntime's CPU kernel for the fused node was the slow part of it: measured on the
    report's build texts, the split graph embedded 8-11 % more texts a second and a question in
    ~14 % less time, with the same vectors (docs/performance.md, "Layer norms unfused")."""
    from onnx import helper

    used = {name for node in graph.node for name in node.input} | {out.name for out in graph.output}
    nodes, split = [], 0
    for node in graph.node:
        if node.op_type != "SkipLayerNormalization" or any(out in used for out in node.output[1:3]):
            nodes.append(node)
            continue
        x, skip, gamma, beta, *rest = node.input
        bias = rest[0] if rest else ""
        epsilon = next(helper.get_attribute_value(a) for a in node.attribute if a.name == "epsilon")
        summed = node.output[3] if len(node.output) > 3 and node.output[3] else f"{node.output[0]}/sum"
        residual = f"{summed}/residual" if bias else summed
        nodes.append(helper.make_node("Add", [x, skip], [residual]))
        if bias:
            nodes.append(helper.make_node("Add", [residual, bias], [summed]))
        nodes.append(helper.make_node("LayerNormalization", [summed, gamma, beta], [node.output[0]],
                                      axis=-1, epsilon=epsilon))
        split += 1
    del graph.node[:]
    graph.node.extend(nodes)
    return split


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Keep the exporter's warnings and progress notes (torch, onnxscript) off the user's screen."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "onnxscript", "onnx_ir")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def export(source: Path, folder: Path) -> None:
    """Export the model folder ``source`` into ``folder`` (replacing it), after checking that the
    export gives torch's vectors on :data:`PROBES`.

    Raises:
        ExportError: if the model cannot be exported, or its export disagrees with torch.
    """
    started = time.monotonic()
    try:
        import torch  # noqa: F401

        model = _torch_model(source)
    except Exception as exc:
        raise ExportError(f"could not load {source} with sentence-transformers to export it "
                          f"({type(exc).__name__}: {exc}); set SCOQA_RUNTIME=torch to run it there") from None
    import torch

    probe_features = model.preprocess(list(PROBES))
    tensors = {name for name, value in probe_features.items() if isinstance(value, torch.Tensor)}
    inputs = [name for name in _ENCODING_FIELDS if name in tensors]
    if "input_ids" not in inputs or "attention_mask" not in inputs or tensors - set(inputs):
        raise ExportError(f"{source.name} takes inputs {sorted(tensors)}: the ONNX runtime feeds only "
                          f"{', '.join(_ENCODING_FIELDS)}; set SCOQA_RUNTIME=torch")
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        expected_sentence, expected_tokens = _torch_vectors(model, probe_features)
        try:
            with _quiet():
                _graph(model, inputs, tmp / "model.onnx")
                _fuse(tmp / "model.onnx")
        except Exception as exc:
            raise ExportError(f"could not export {source.name} to ONNX ({type(exc).__name__}: {str(exc)[:300]}); "
                              "set SCOQA_RUNTIME=torch") from None
        max_tokens = int(model.max_seq_length)
        tokenizer = load_tokenizer(source, max_tokens)
        sentence, tokens, ids, mask = run(new_session(tmp / "model.onnx"), tokenizer, inputs, list(PROBES))
        expected_ids = probe_features["input_ids"].numpy()
        if ids.shape != expected_ids.shape or not np.array_equal(ids, expected_ids):
            raise ExportError(f"tokenizer.json of {source.name} splits the check texts otherwise than "
                              "sentence-transformers; set SCOQA_RUNTIME=torch")
        got_sentence, got_tokens = _probe_vectors(sentence, tokens, mask)
        sentence_agreement = agreement(got_sentence, expected_sentence)
        token_agreement = agreement(got_tokens, expected_tokens)
        if min(sentence_agreement, token_agreement) < AGREEMENT:
            raise ExportError(f"the ONNX export of {source.name} does not give torch's vectors (least cosine: "
                              f"sentences {sentence_agreement:.6f}, word pieces {token_agreement:.6f}, needed "
                              f"{AGREEMENT}); set SCOQA_RUNTIME=torch")
        reference_sentence, reference_tokens = _torch_vectors(model, model.preprocess(list(LOAD_PROBES)))
        np.savez(tmp / "reference.npz", sentence=reference_sentence, tokens=reference_tokens)
        manifest = {
            "format": EXPORT_FORMAT,
            "source": str(source),
            "fingerprint": source_fingerprint(source),
            "inputs": inputs,
            "dim": int(expected_sentence.shape[1]),
            "max_tokens": max_tokens,
            "model_bytes": (tmp / "model.onnx").stat().st_size,
            "model_sha256": file_sha256(tmp / "model.onnx"),
            "agreement": {"sentence": sentence_agreement, "word_pieces": token_agreement, "texts": len(PROBES)},
            "versions": _versions(),
            "seconds": round(time.monotonic() - started, 1),
            "made_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        old = folder.with_name(f"{folder.name}.old-{os.getpid()}")
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("exported %s to ONNX in %.0f s (least cosine against torch %.7f)", source.name,
             time.monotonic() - started, min(sentence_agreement, token_agreement))
