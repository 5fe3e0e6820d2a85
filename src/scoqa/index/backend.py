"""The seam between the pipeline and where an index lives.

Two small typed interfaces:

* :class:`SearchIndex` is what the searcher (and an update) reads from a loaded index: the
  manifest, the passage records in row order, their dense vectors, sentence units and word-piece
  vectors, a dense top-k (optionally restricted to some rows) and BM25 scores.
* :class:`Backend` is where indexes are saved, loaded, locked and described.

``SCOQA_BACKEND`` (``Settings.backend``) picks one with :func:`open_backend`:

* ``faiss`` (default): the index folder of :mod:`scoqa.index.store` (FAISS, bm25s, numpy files;
  :mod:`.faiss_index` in memory, :mod:`.files` on disk, :mod:`.swap` replacing it atomically).
* ``qdrant``: a Qdrant collection (:mod:`scoqa.index.qdrant`), in-process (local mode) or on a
  server or cluster.

Chunking, the build's plan (what to embed again), fusion, rerank and answers sit above this seam
and are the same code for both.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..config import Settings
from ..ingest.chunk import Chunk
from . import files, store, swap


@runtime_checkable
class SearchIndex(Protocol):
    """A loaded index, as the searcher and the build's update read it."""

    path: Any  # where it lives, for messages (a folder, or a collection's description)
    manifest: dict[str, Any]
    chunks: list[Chunk]
    vectors: np.ndarray
    units: dict[str, np.ndarray] | None
    tokens: dict[str, np.ndarray] | None

    @property
    def build_id(self) -> str: ...

    def dense_top(self, vector: np.ndarray, k: int,
                  allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` rows by inner product with ``vector``: (rows, scores), best first; only the
        ``allowed`` rows when given."""
        ...

    def sentence_top(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
        """Rows of the passages of the ``k`` sentence units closest to ``vector``, best first (a
        passage once per unit among them); only units of the ``allowed`` rows when given."""
        ...

    def late_tokens(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """The word-piece arrays (codes and codec, :data:`scoqa.index.files.TOKEN_ARRAYS`) of
        passages ``rows`` only, as passages ``0 .. len(rows) - 1``: what the rerank reads."""
        ...

    def bm25_scores(self, terms: list[str]) -> np.ndarray:
        """BM25 score of every passage (in row order) for indexed query ``terms``."""
        ...

    def vocabulary(self) -> dict[str, int]:
        """The BM25 terms, each with its id."""
        ...

    def document_frequencies(self) -> np.ndarray:
        """How many passages hold each BM25 term, by term id."""
        ...


class Backend(Protocol):
    """Where the index of one set of settings is saved and loaded."""

    #: Where the index lives, for messages.
    location: str

    def load(self, model: str | None = None) -> SearchIndex:
        """The whole index (checked against ``model`` when given).

        Raises:
            IndexNotFound, IndexMismatch, IndexCorrupt (:mod:`scoqa.index.errors`): saying what to run.
        """
        ...

    def read_manifest(self) -> dict[str, Any]:
        """The index's manifest, cheaply, once it is known to be whole (raises as :meth:`load`)."""
        ...

    def save(self, manifest: dict[str, Any], chunks: list[Chunk], vectors: np.ndarray, lexical: Any,
             units: dict[str, np.ndarray] | None, tokens: dict[str, np.ndarray] | None) -> None:
        """Make this the index, whole, in one step for readers (arguments as
        :func:`scoqa.index.files.write_index_files`)."""
        ...

    def lock(self, wait: float | None = None) -> contextlib.AbstractContextManager[None]:
        """One build at a time (raises :class:`scoqa.index.errors.IndexLocked` after ``wait`` seconds)."""
        ...

    def tidy(self) -> list[Path]:
        """Remove what interrupted builds left; call under :meth:`lock`."""
        ...

    def stamp(self) -> object:
        """Changes whenever another build is saved (None without an index)."""
        ...


class FaissBackend:
    """The index folder ``settings.index_dir`` (:mod:`scoqa.index.store`)."""

    def __init__(self, settings: Settings) -> None:
        self.folder = settings.index_dir
        self.location = str(settings.index_dir)

    def load(self, model: str | None = None) -> SearchIndex:
        return store.load_index(self.folder, model)

    def read_manifest(self) -> dict[str, Any]:
        return store.read_checked_manifest(self.folder)

    def save(self, manifest: dict[str, Any], chunks: list[Chunk], vectors: np.ndarray, lexical: Any,
             units: dict[str, np.ndarray] | None, tokens: dict[str, np.ndarray] | None) -> None:
        store.save_index(self.folder, manifest, chunks, vectors, lexical, units, tokens)

    @contextlib.contextmanager
    def lock(self, wait: float | None = None) -> Iterator[None]:
        with swap.build_lock(self.folder, wait):
            yield

    def tidy(self) -> list[Path]:
        return swap.remove_leftovers(self.folder)

    def stamp(self) -> object:
        try:
            st = (self.folder / files.MANIFEST).stat()
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns)


def _qdrant(settings: Settings) -> Backend:
    from .qdrant import QdrantBackend  # qdrant-client loads only for this backend

    return QdrantBackend(settings)


def _qdrant_edge(settings: Settings) -> Backend:
    from .qdrant import QdrantBackend
    from .qdrant_edge import edge_client  # qdrant-edge-py: Qdrant's engine in-process

    return QdrantBackend(settings, connect=edge_client, folder="qdrant-edge")


#: Each backend by its ``SCOQA_BACKEND`` name.
BACKENDS: dict[str, Callable[[Settings], Backend]] = {
    "faiss": FaissBackend, "qdrant": _qdrant, "qdrant-edge": _qdrant_edge,
}


def open_backend(settings: Settings) -> Backend:
    """The backend ``settings.backend`` names, for ``settings``."""
    return BACKENDS[settings.backend](settings)
