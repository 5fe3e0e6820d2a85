"""The files of an index folder: what it holds, its manifest, and writing, checking and loading them.

Layout of ``index/``::

    manifest.json   format version, scoqa version, model and dimension, chunking parameters,
                    sha256 per source file, build time, FAISS index type, build id, file sizes
    chunks.jsonl    one Chunk record per line, in vector order
    vectors.npy     float32 normalised embeddings (the embedding cache for updates)
    dense.faiss     the FAISS index over those vectors (inner product)
    bm25/           the bm25s lexical index over the chunks' indexed text
    units.npz       the passages' sentences and list entries, with their embeddings
    units.faiss     the FAISS index over those embeddings (exact or HNSW, as dense.faiss)
    tokens.npz      the passages' content word-piece vectors for late interaction, compressed:
                    one byte per dimension over the corpus's range, with the codec
                    (:class:`scoqa.index.tokens.TokenCodec`) that reads them

This module reads and writes files only: arrays, the FAISS index and the bm25s folder (by their
own save and load calls) and JSON records. What ranks with them is built from what it returns:
the BM25 retriever and the sentence units and word-piece vectors are computed by the build
(:mod:`scoqa.index.build`), the searcher's objects made from the loaded arrays
(:mod:`scoqa.search.searcher`). Where a folder is written and how it replaces the previous one is
:mod:`scoqa.index.swap`'s business.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import struct
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..config import import_bm25s
from ..ingest.chunk import Chunk
from .errors import REBUILD, IndexCorrupt, IndexMismatch, IndexNotFound
from .faiss_index import Index, SentenceIndex, make_faiss_index

#: 2: word-piece vectors stored compressed (``tokens.npz`` holds codes and their codec, not float16 rows).
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
CHUNKS = "chunks.jsonl"
VECTORS = "vectors.npy"
FAISS_FILE = "dense.faiss"
BM25_DIR = "bm25"
UNITS = "units.npz"
UNITS_FAISS = "units.faiss"
TOKENS = "tokens.npz"
#: The arrays of ``units.npz`` and of ``tokens.npz``, by name.
UNIT_ARRAYS = ("owner", "spans", "first", "vectors")
TOKEN_ARRAYS = ("codes", "first", "mean", "basis", "low", "step", "fitted", "code")
#: Written into every index folder so that git ignores the built files.
_GITIGNORE = "# built by `scoqa index build`; not versioned\n*\n!.gitignore\n"


# -- manifest ---------------------------------------------------------------------------------
def new_manifest(*, model: str, dim: int, chunking: dict[str, Any], sources: dict[str, str],
                 chunks: int, faiss_index: str, problems: list[str],
                 titles: dict[str, str] | None = None, passages: dict[str, int] | None = None) -> dict[str, Any]:
    """Describe a build (see the module docstring for the fields)."""
    return {
        "format_version": FORMAT_VERSION,
        "scoqa_version": __version__,
        "model": model,
        "dim": dim,
        "chunking": chunking,
        "sources": dict(sorted(sources.items())),
        "titles": dict(sorted((titles or {}).items())),
        "passages": dict(sorted((passages or {}).items())),
        "chunks": chunks,
        "faiss_index": faiss_index,
        "problems": problems,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_id": f"{time.time_ns():x}-{os.getpid()}",
    }


def read_manifest(folder: Path) -> dict[str, Any]:
    """Parse ``manifest.json`` of an index folder.

    Raises:
        IndexNotFound: if there is no index there.
        IndexCorrupt: if the manifest cannot be parsed.
    """
    path = folder / MANIFEST
    try:
        if not path.is_file():
            raise FileNotFoundError(path)
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):  # also when a swap renames the folder meanwhile
        raise IndexNotFound(f"no index at {str(folder)!r}", "run `scoqa index build`") from None
    try:
        manifest = json.loads(data.decode("utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as exc:
        raise IndexCorrupt(
            f"index manifest {str(path)!r} is unreadable ({exc})", REBUILD
        ) from None
    return manifest


def check_manifest(manifest: dict[str, Any], folder: Path, model: str | None = None, dim: int | None = None) -> None:
    """Refuse an index this version cannot use, saying what to run.

    Args:
        manifest: The parsed manifest.
        folder: The index folder (named in messages).
        model: If given, the model setting the index must have been built with.
        dim: If given, the embedding dimension the loaded model produces.

    Raises:
        IndexMismatch: for another format version, another embedding model or another dimension.
    """
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexMismatch(
            f"index at {str(folder)!r} has format version {version!r}, this scoqa {__version__} reads "
            f"version {FORMAT_VERSION}", REBUILD
        )
    if model is not None and manifest.get("model") != model:
        raise IndexMismatch(
            f"index at {str(folder)!r} was built with model {manifest.get('model')!r} "
            f"(dimension {manifest.get('dim')}), but the model setting is {model!r}",
            f"run `scoqa index build --force` to rebuild with {model!r}, or set SCOQA_MODEL={manifest.get('model')}",
        )
    if dim is not None and manifest.get("dim") != dim:
        raise IndexMismatch(
            f"index at {str(folder)!r} holds vectors of dimension {manifest.get('dim')!r}, but the model "
            f"{manifest.get('model')!r} now gives dimension {dim}", REBUILD
        )


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


# -- writing ----------------------------------------------------------------------------------
def write_index_files(folder: Path, manifest: dict[str, Any], chunks: list[Chunk], vectors: np.ndarray,
                      lexical: Any, units: dict[str, np.ndarray] | None = None,
                      tokens: dict[str, np.ndarray] | None = None) -> None:
    """Write every index file into ``folder`` (which must be new); the manifest goes last.

    Args:
        folder: Where to write.
        manifest: The build's description (:func:`new_manifest`).
        chunks: The passages, in the order of ``vectors``.
        vectors: Their normalised embeddings.
        lexical: The bm25s retriever over the chunks' indexed text (saved by its own ``save``).
        units: The arrays named in :data:`UNIT_ARRAYS`, if any.
        tokens: The arrays named in :data:`TOKEN_ARRAYS`, if any.
    """
    import faiss

    folder.mkdir(parents=True, exist_ok=False)
    (folder / ".gitignore").write_text(_GITIGNORE, encoding="utf-8")
    with (folder / CHUNKS).open("w", encoding="utf-8") as fh:
        for chunk in chunks:
            fh.write(json.dumps(chunk.to_dict(), ensure_ascii=False, sort_keys=True) + "\n")
    np.save(folder / VECTORS, vectors.astype(np.float32, copy=False))
    dense, kind = make_faiss_index(vectors)
    manifest = {**manifest, "faiss_index": kind}
    faiss.write_index(dense, str(folder / FAISS_FILE))
    lexical.save(str(folder / BM25_DIR))
    if units is not None:
        np.savez(folder / UNITS, **{name: units[name] for name in UNIT_ARRAYS})
        manifest["units"] = int(units["owner"].size)
        sentences, manifest["units_index"] = make_faiss_index(np.asarray(units["vectors"], dtype=np.float32))
        faiss.write_index(sentences, str(folder / UNITS_FAISS))
    if tokens is not None:
        np.savez(folder / TOKENS, **{name: tokens[name] for name in TOKEN_ARRAYS})
        manifest["tokens"] = int(tokens["codes"].shape[0])
    # Sizes let a reader detect a truncated file before a parser trips over it.
    manifest["files"] = file_sizes(folder)
    _write_json(folder / MANIFEST, manifest)
    fsync_tree(folder)


def file_sizes(folder: Path) -> dict[str, int]:
    """Byte size of every index file in ``folder`` except the manifest and ``.gitignore``."""
    return {
        path.relative_to(folder).as_posix(): path.stat().st_size
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name not in (MANIFEST, ".gitignore")
    }


def fsync_tree(folder: Path) -> None:
    """Flush a folder and everything in it to disk (best effort)."""
    for path in [*folder.rglob("*"), folder]:
        fsync(path)


def fsync(path: Path) -> None:
    """Flush a file or folder to disk (best effort: some filesystems refuse)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# -- checking and loading ---------------------------------------------------------------------
def verify_files(folder: Path, manifest: dict[str, Any]) -> None:
    """Check that every file the manifest lists is there with the size it was written with.

    Cheap (one ``stat`` per file), so status checks and loads can afford it. Manifests written
    before sizes were recorded pass unchecked.

    Raises:
        IndexCorrupt: naming the first missing or truncated file and what to run.
    """
    for name, size in (manifest.get("files") or {}).items():
        path = folder / name
        try:
            actual = path.stat().st_size
        except OSError:
            raise IndexCorrupt(
                f"index file {str(path)!r} is missing", REBUILD
            ) from None
        if actual != size:
            raise IndexCorrupt(
                f"index file {str(path)!r} is damaged ({actual} bytes, written as {size}; truncated or "
                "overwritten?)", REBUILD
            )


def load_files(folder: Path, manifest: dict[str, Any]) -> Index:
    """Read every file of the index in ``folder`` (whose ``manifest`` has been checked).

    Raises:
        IndexCorrupt: if a file is missing, unreadable, or does not match the others.
    """
    import faiss

    bm25s = import_bm25s()

    try:
        with (folder / CHUNKS).open(encoding="utf-8") as fh:
            chunks = [Chunk.from_dict(json.loads(line)) for line in fh if line.strip()]
        # Mapped, not read: FAISS holds its own copy for searching; these rows are read only for
        # a search within some documents and by an update.
        vectors = np.load(folder / VECTORS, mmap_mode="r", allow_pickle=False)
        dense = faiss.read_index(str(folder / FAISS_FILE))
        lexical = bm25s.BM25.load(str(folder / BM25_DIR)) if chunks else bm25s.BM25()
        units = _load_units(folder / UNITS, len(chunks)) if (folder / UNITS).exists() else None
        tokens = _load_tokens(folder / TOKENS, len(chunks)) if (folder / TOKENS).exists() else None
        # An index written before the sentences' FAISS index was saved gets one made on first use.
        sentences = None
        if units is not None and (folder / UNITS_FAISS).exists():
            sentences = SentenceIndex(units, faiss.read_index(str(folder / UNITS_FAISS)))
            if sentences.index.ntotal != units["owner"].size:
                raise ValueError(f"{UNITS_FAISS} does not match {UNITS}")
    except FileNotFoundError as exc:
        raise IndexCorrupt(
            f"index at {str(folder)!r} is missing {exc.filename or 'a file'}", REBUILD
        ) from None
    except Exception as exc:  # json, numpy, faiss and bm25s each fail in their own way on bad files
        raise IndexCorrupt(
            f"index at {str(folder)!r} is damaged ({type(exc).__name__}: {exc})", REBUILD
        ) from None
    rows = vectors.shape[0] if vectors.ndim else 0
    if vectors.ndim != 2 or not (len(chunks) == rows == dense.ntotal == manifest.get("chunks")) or (
        chunks and vectors.shape[1] != manifest.get("dim")
    ):
        raise IndexCorrupt(
            f"index at {str(folder)!r} is inconsistent ({len(chunks)} chunks, {rows} vectors, "
            f"{dense.ntotal} in FAISS, manifest says {manifest.get('chunks')})", REBUILD
        )
    return Index(folder, manifest, chunks, vectors, dense, lexical, units, tokens, sentences)


def _load_units(path: Path, chunks: int) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        units = {name: data[name] for name in UNIT_ARRAYS}
    if units["first"].size != chunks + 1 or units["vectors"].shape[0] != units["owner"].size != int(units["first"][-1]):
        raise ValueError(f"{path.name} does not match the passages")
    return units


def _load_tokens(path: Path, chunks: int) -> dict[str, np.ndarray]:
    # The codes stay as stored (a byte a dimension): the rerank turns only the passages it scores
    # into floats. They are most of the index and a question reads 30 passages' worth, so they
    # are mapped from the file rather than read into the process.
    with np.load(path, allow_pickle=False) as data:
        tokens = {name: data[name] for name in TOKEN_ARRAYS if name != "codes"}
    tokens["codes"] = mapped_member(path, "codes")
    codes, low = tokens["codes"], tokens["low"]
    if (tokens["first"].size != chunks + 1 or codes.ndim != 2 or codes.shape[0] != int(tokens["first"][-1])
            or low.size != tokens["step"].size or codes.shape[1] not in (low.size, low.size // 2)):
        raise ValueError(f"{path.name} does not match the passages")
    return tokens



def mapped_member(path: Path, name: str) -> np.ndarray:
    """Array ``name`` of the ``.npz`` file at ``path``, memory-mapped read-only when ``np.savez``
    stored it uncompressed (as :func:`write_index_files` does), read into memory otherwise.

    A mapped array's pages belong to the file: the kernel reads them when a question touches
    them and can drop them again, so they do not count against the process's heap.
    """
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(f"{name}.npy")
    if info.compress_type != zipfile.ZIP_STORED:
        with np.load(path, allow_pickle=False) as data:
            return data[name]
    with path.open("rb") as fh:
        fh.seek(info.header_offset)
        local = fh.read(30)  # the zip member's local header, then its name and extra field
        if local[:4] != b"PK\x03\x04":
            raise ValueError(f"{path.name} has no member {name!r} where its directory says")
        name_length, extra_length = struct.unpack("<HH", local[26:30])
        fh.seek(info.header_offset + 30 + name_length + extra_length)
        version = np.lib.format.read_magic(fh)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(fh)
        offset = fh.tell()
    if not math.prod(shape):  # nothing to map (an empty corpus)
        return np.zeros(shape, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C")
