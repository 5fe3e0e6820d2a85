"""The index folder of the default backend (``faiss``): save a build, load it, check it.

The folder's files and manifest are :mod:`scoqa.index.files`; the loaded index is
:class:`scoqa.index.faiss_index.Index`; the atomic swap that puts a new build in place, and the
retries that read one whole build while that happens, are :mod:`scoqa.index.swap`. This module
puts them together for :class:`scoqa.index.backend.FaissBackend`. Its calls raise the errors of
:mod:`scoqa.index.errors`, importable from here too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..ingest.chunk import Chunk
from . import files, swap
from .errors import IndexCorrupt, IndexLocked, IndexMismatch, IndexNotFound, IndexProblem
from .faiss_index import Index

__all__ = [
    "Index", "IndexCorrupt", "IndexLocked", "IndexMismatch", "IndexNotFound", "IndexProblem",
    "load_index", "read_checked_manifest", "save_index",
]


def save_index(target: Path, manifest: dict[str, Any], chunks: list[Chunk], vectors: np.ndarray,
               lexical: Any, units: dict[str, np.ndarray] | None = None,
               tokens: dict[str, np.ndarray] | None = None) -> None:
    """Write a complete index beside ``target`` and swap it in atomically (arguments as
    :func:`scoqa.index.files.write_index_files`)."""
    with swap.staging_folder(target) as staged:
        files.write_index_files(staged, manifest, chunks, vectors, lexical, units, tokens)
        swap.swap_in(staged, target)


def load_index(folder: Path, model: str | None = None, attempts: int = 5) -> Index:
    """Load the index in ``folder``, checking its manifest and the size of every file.

    A build may swap a new index in while this reads; the result is always one whole build
    (see :func:`scoqa.index.swap.read_one_build`).

    Args:
        folder: The index folder.
        model: If given, the model the index must have been built with.
        attempts: How often to retry when a concurrent swap is detected.

    Raises:
        IndexNotFound, IndexMismatch, IndexCorrupt: with a message saying what to run.
    """

    def load(source: Path, manifest: dict[str, Any]) -> Index:
        files.check_manifest(manifest, source, model)
        files.verify_files(source, manifest)
        return files.load_files(source, manifest)

    return swap.read_one_build(folder, load, attempts)


def read_checked_manifest(folder: Path, attempts: int = 5) -> dict[str, Any]:
    """The manifest of the index in ``folder``, once every file it lists has its recorded size.

    Cheap (no file is parsed) and safe while a build swaps a new index in. Like
    :func:`load_index`, it puts back the previous index if a swap was killed half-way.

    Raises:
        IndexNotFound: if there is no index there.
        IndexCorrupt: if the manifest is unreadable or a file is missing or truncated.
    """

    def check(source: Path, manifest: dict[str, Any]) -> dict[str, Any]:
        files.verify_files(source, manifest)
        return manifest

    return swap.read_one_build(folder, check, attempts)
