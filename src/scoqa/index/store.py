"""The index on disk: manifest, FAISS vectors, chunk records and the BM25 index; atomic save/load.

Layout of ``index/``::

    manifest.json   format version, scoqa version, model and dimension, chunking parameters,
                    sha256 per source file, build time, FAISS index type, build id
    chunks.jsonl    one Chunk record per line, in vector order
    vectors.npy     float32 normalised embeddings (the embedding cache for updates)
    dense.faiss     the FAISS index over those vectors (inner product)
    bm25/           the bm25s lexical index over the chunks' indexed text
    units.npz       the passages' sentences and list entries, with their embeddings
    tokens.npz      the passages' content word-piece vectors (float16), for late interaction

This module reads and writes files only: arrays, the FAISS index and the bm25s folder (by their
own save and load calls) and JSON records. What ranks with them is built from what it returns:
the BM25 retriever and the sentence units and word-piece vectors are computed by the build
(:mod:`scoqa.index.build`), the searcher's objects made from the loaded arrays
(:mod:`scoqa.search.searcher`).

A build is written into a temporary folder beside ``index/`` and swapped in with one rename
(``renameat2(RENAME_EXCHANGE)`` where the kernel has it), so a reader never sees half an index and
a build killed at any moment leaves the previous index in place.

Where the kernel or filesystem lacks ``RENAME_EXCHANGE`` the swap is two renames (``index/`` to
``.index.old-*``, then the new folder to ``index/``), done under a short swap lock
(``.index.swap.lock``). A build killed between the two leaves no ``index/`` but a complete
``.index.old-*``: the next load, status check or build puts that previous index back (under the
same lock, so never in the middle of a running swap), and a build's clean-up never deletes it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import glob
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .. import __version__
from ..ingest.chunk import Chunk

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CHUNKS = "chunks.jsonl"
VECTORS = "vectors.npy"
FAISS_FILE = "dense.faiss"
BM25_DIR = "bm25"
UNITS = "units.npz"
TOKENS = "tokens.npz"
#: Up to this many vectors search is exact (IndexFlatIP); above it, HNSW. Measured with
#: ``scoqa bench`` on 2 cores: a one-query exact search takes ~1 ms at 20k vectors but ~3 ms at
#: 50k and 25-50 ms at 100k, against ~10-60 ms to embed the query, so past 20k exact search would
#: stop being a small part of retrieve(); HNSW stays well under a millisecond (README, Performance).
EXACT_SEARCH_LIMIT = 20_000
#: HNSW links per vector: 32 is the usual choice for 384-d embeddings (~256 bytes per vector).
HNSW_M = 32
#: Candidates kept while building; 80 built 1M vectors in ~9 min on 2 shared cores.
HNSW_EF_CONSTRUCTION = 80
#: Candidates kept while searching. Measured at 1M clustered 384-d vectors (M=32, efC=80):
#: recall@10 0.912 / 0.978 / 0.991 at efSearch 64 / 128 / 256, p50 0.27 / 0.42 / 0.58 ms. 256 keeps
#: a margin above 0.95 for larger corpora and for the top 50 that hybrid retrieval asks for.
HNSW_EF_SEARCH = 256
#: The arrays of ``units.npz`` and of ``tokens.npz``, by name.
UNIT_ARRAYS = ("owner", "spans", "first", "vectors")
TOKEN_ARRAYS = ("first", "vectors")
#: Written into every index folder so that git ignores the built files.
_GITIGNORE = "# built by `scoqa index build`; not versioned\n*\n!.gitignore\n"


#: The fix for a damaged or incompatible index.
REBUILD = "run `scoqa index build --force`"


class IndexProblem(Exception):
    """Base class of index problems; the message always says what to run.

    Attributes:
        reason: What is wrong.
        fix: What to run about it (may be empty).
    """

    def __init__(self, reason: str, fix: str = "") -> None:
        super().__init__(f"{reason}: {fix}" if fix else reason)
        self.reason = reason
        self.fix = fix


class IndexNotFound(IndexProblem, FileNotFoundError):
    """No index has been built at that location yet."""


class IndexMismatch(IndexProblem, ValueError):
    """The index was built with another model, dimension or format."""


class IndexCorrupt(IndexProblem, ValueError):
    """An index file is missing, truncated or unreadable."""


@dataclass
class Index:
    """A loaded index.

    Attributes:
        path: Folder it was loaded from.
        manifest: The parsed ``manifest.json``.
        chunks: Passages, in the order of the vectors.
        vectors: Normalised embeddings, one row per chunk.
        dense: The FAISS index over ``vectors``.
        lexical: The bm25s retriever over the chunks' indexed text.
        units: The arrays of the passages' sentences and list entries with their embeddings
            (:data:`UNIT_ARRAYS`; ``scoqa.index.sentences.Units(**units)``), or None for an index
            written without them (the searcher then computes them).
        tokens: The arrays of the passages' content word-piece vectors, float32
            (:data:`TOKEN_ARRAYS`; ``scoqa.index.tokens.TokenVectors(**tokens)``), or None for an
            index written without them (the searcher then computes them).
    """

    path: Path
    manifest: dict[str, Any]
    chunks: list[Chunk]
    vectors: np.ndarray
    dense: Any
    lexical: Any
    units: dict[str, np.ndarray] | None = None
    tokens: dict[str, np.ndarray] | None = None
    loaded_at: float = field(default_factory=time.time)

    @property
    def build_id(self) -> str:
        """Identifier of the build, changed by every rebuild or update."""
        return str(self.manifest.get("build_id", ""))

    # -- what the searcher reads (scoqa.index.backend.SearchIndex) --
    def dense_top(self, vector: np.ndarray, k: int,
                  allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` rows by inner product: (rows, scores); only ``allowed`` rows when given."""
        n = len(self.chunks)
        if n == 0 or (allowed is not None and not allowed.size):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if allowed is not None:
            return exact_top(self.vectors, vector, k, allowed)
        scores, rows = self.dense.search(vector.reshape(1, -1).astype(np.float32), min(k, n))
        keep = rows[0] >= 0
        return rows[0][keep], scores[0][keep]

    def bm25_scores(self, terms: list[str]) -> np.ndarray:
        """BM25 score of every passage for indexed ``terms`` (bm25s)."""
        if not terms or not self.chunks:
            return np.zeros(len(self.chunks), dtype=np.float32)
        return np.asarray(self.lexical.get_scores(terms), dtype=np.float32)

    def vocabulary(self) -> dict[str, int]:
        """The BM25 terms with their ids."""
        return dict(getattr(self.lexical, "vocab_dict", {}) or {})

    def document_frequencies(self) -> np.ndarray:
        """Passages holding each BM25 term, by term id (bm25s keeps one column per term)."""
        scores = getattr(self.lexical, "scores", None)
        indptr = np.asarray(scores["indptr"]) if scores else np.zeros(1)
        return np.diff(indptr) if indptr.size > 1 else np.zeros(0)


# -- FAISS ---------------------------------------------------------------------------------------
def exact_top(vectors: np.ndarray, vector: np.ndarray, k: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` of ``rows`` by inner product, searched exactly (a few documents of a corpus)."""
    scores = vectors[rows] @ vector
    shifted = scores + 2.0  # cosines may be negative; keep every row, best first
    k = min(k, shifted.size)
    top = np.argpartition(-shifted, k - 1)[:k]
    top = top[np.argsort(-shifted[top], kind="stable")]
    return rows[top], scores[top]


def make_faiss_index(vectors: np.ndarray, exact_limit: int = EXACT_SEARCH_LIMIT) -> tuple[Any, str]:
    """Build the FAISS index for normalised vectors: exact up to ``exact_limit`` rows, HNSW above.

    Args:
        vectors: float32 rows, L2-normalised (inner product = cosine).
        exact_limit: Largest number of rows searched exactly.

    Returns:
        The index and its description for the manifest (``faiss_index``).
    """
    import faiss

    n, dim = vectors.shape if vectors.size else (0, vectors.shape[1] if vectors.ndim == 2 else 0)
    if n <= exact_limit:
        index = faiss.IndexFlatIP(dim)
        kind = "IndexFlatIP"
    else:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH  # saved with the index, so it holds after loading too
        kind = f"IndexHNSWFlat(M={HNSW_M},efConstruction={HNSW_EF_CONSTRUCTION},efSearch={HNSW_EF_SEARCH})"
    if n:
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index, kind


# -- BM25 ----------------------------------------------------------------------------------------
def _bm25s():  # type: ignore[no-untyped-def]
    """Import bm25s, which sets its logger to DEBUG on import; keep its chatter off the terminal."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


# -- saving --------------------------------------------------------------------------------------
def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


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
    if tokens is not None:
        # float16 halves the largest file; cosines move by ~1e-3, far below the score gaps.
        np.savez(folder / TOKENS, first=tokens["first"], vectors=tokens["vectors"].astype(np.float16))
        manifest["tokens"] = int(tokens["vectors"].shape[0])
    # Sizes let a reader detect a truncated file before a parser trips over it.
    manifest["files"] = file_sizes(folder)
    _write_json(folder / MANIFEST, manifest)
    _fsync_tree(folder)


def file_sizes(folder: Path) -> dict[str, int]:
    """Byte size of every index file in ``folder`` except the manifest and ``.gitignore``."""
    return {
        path.relative_to(folder).as_posix(): path.stat().st_size
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name not in (MANIFEST, ".gitignore")
    }


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


def _fsync_tree(folder: Path) -> None:
    for path in [*folder.rglob("*"), folder]:
        _fsync(path)


def _fsync(path: Path) -> None:
    """Flush a file or folder to disk (best effort: some filesystems refuse)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with renameat2(RENAME_EXCHANGE); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EXDEV, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_in(staged: Path, target: Path) -> None:
    """Make ``staged`` the index at ``target`` in one step and delete the previous one.

    The renames happen under the swap lock, so that no reader or build restores a previous index
    (:func:`restore_previous`) in the middle of them.
    """
    previous: Path | None = None
    with _swap_lock(target):
        # Each branch makes the rename durable (fsync of the parent) before the old index goes.
        if not target.exists():
            os.replace(staged, target)
            _fsync(target.parent)
        elif _exchange(staged, target):
            _fsync(target.parent)
            previous = staged  # it now holds the old index
        else:
            # Fallback for filesystems without RENAME_EXCHANGE: two renames. Killed between them,
            # the previous index waits in `previous` for restore_previous.
            previous = target.with_name(f"{_sibling_prefix(target)}old-{os.getpid()}-{time.time_ns():x}")
            os.replace(target, previous)
            os.replace(staged, target)
            _fsync(target.parent)
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)


def _sibling_prefix(target: Path) -> str:
    """Prefix of the hidden folders a build puts beside ``target`` (``.index.tmp-*``, ``.index.old-*``)."""
    return f".{target.name}."


#: How long a reader waits for a swap in progress before it reads the previous index where it lies.
SWAP_LOCK_WAIT = 10.0


@contextlib.contextmanager
def _swap_lock(target: Path, wait: float | None = None) -> Iterator[bool]:
    """Hold the swap lock of ``target`` (``.NAME.swap.lock`` beside it), an flock that
    :func:`swap_in` holds only for its renames.

    Args:
        target: The index folder.
        wait: None (a writer): wait as long as needed, and fail if the lock file cannot be made.
            Seconds (a reader): give up after that long, or at once if the folder is read-only.

    Yields:
        Whether the lock is held.
    """
    import fcntl

    path = target.with_name(f"{_sibling_prefix(target)}swap.lock")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        if wait is None:
            raise
        try:
            fd = os.open(path, os.O_RDONLY)  # a reader without write access can still wait on it
        except OSError:
            fd = -1
    if fd < 0:
        yield False
        return
    try:
        if wait is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
            locked = True
        else:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    locked = True
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        locked = False
                        break
                    time.sleep(0.01)
        yield locked
    finally:
        os.close(fd)  # closing releases the flock


def _old_folders(target: Path) -> list[Path]:
    """The ``.NAME.old-*`` folders beside ``target`` (previous indexes of fallback swaps)."""
    if not target.parent.is_dir():
        return []
    return [
        path for path in target.parent.glob(f"{glob.escape(_sibling_prefix(target))}old-*")
        if path.is_dir() and not path.is_symlink()
    ]


def _is_missing(target: Path) -> bool:
    """Whether there is no index folder at ``target`` at all (or only an empty folder)."""
    if not os.path.lexists(target):
        return True
    try:
        return target.is_dir() and not target.is_symlink() and not any(target.iterdir())
    except OSError:
        return False


def _complete_olds(target: Path) -> list[Path]:
    """The ``.NAME.old-*`` folders holding a whole index (a readable manifest whose files are all
    there with their recorded sizes), newest manifest first."""
    found: list[tuple[int, str, Path]] = []
    for path in _old_folders(target):
        try:
            manifest = read_manifest(path)
            verify_files(path, manifest)
            if not all((path / name).is_file() for name in (CHUNKS, VECTORS, FAISS_FILE)):
                continue
            found.append(((path / MANIFEST).stat().st_mtime_ns, path.name, path))
        except (IndexProblem, OSError):
            continue
    return [path for *_, path in sorted(found, reverse=True)]


def restore_previous(target: Path, wait: float = SWAP_LOCK_WAIT) -> Path | None:
    """Put the previous index back at ``target`` if a fallback swap was killed between its renames.

    Does nothing while ``target`` holds an index. Otherwise, under the swap lock (so never in the
    middle of a running swap), the newest complete ``.NAME.old-*`` folder is renamed to ``target``.

    Returns:
        The folder to read the index from: ``target`` if it holds one (now); the old folder itself
        where it cannot be moved (a read-only folder, or a swap lock held past ``wait``); None
        when there is no complete index to restore.
    """
    if not _is_missing(target):
        return target
    if not _old_folders(target):
        return None
    with _swap_lock(target, wait) as locked:
        if not _is_missing(target):  # a swap or another reader got there first
            return target
        olds = _complete_olds(target)
        if not olds:
            return None
        if locked:
            try:
                os.replace(olds[0], target)
            except OSError as exc:
                log.debug("could not restore %s to %s: %s", olds[0], target, exc)
            else:
                _fsync(target.parent)
                log.warning("restored the previous index from %s: a build was interrupted while swapping "
                            "its index in", olds[0].name)
                return target
        return olds[0]


def remove_leftovers(target: Path) -> list[Path]:
    """Delete what killed builds left beside ``target``: staging (``.NAME.tmp-*``) and swap folders.

    A build killed in the middle of a fallback swap leaves no index at ``target`` but the previous
    one in a ``.NAME.old-*`` folder: that one is put back first (:func:`restore_previous`), and an
    ``old-*`` folder is never deleted while it is the only complete index.

    Only call this while holding :func:`build_lock`: then no other build is using them.

    Returns:
        The folders removed.
    """
    removed: list[Path] = []
    if not target.parent.is_dir():
        return removed
    restore_previous(target)
    keep_olds = _is_missing(target) and bool(_complete_olds(target))  # could not be put back
    for kind in ("tmp-", "old-"):
        if kind == "old-" and keep_olds:
            continue
        for path in target.parent.glob(f"{glob.escape(_sibling_prefix(target))}{kind}*"):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed


@contextlib.contextmanager
def staging_folder(target: Path) -> Iterator[Path]:
    """A fresh folder name beside ``target`` for a build, removed if the build fails."""
    target.parent.mkdir(parents=True, exist_ok=True)
    parent = tempfile.mkdtemp(prefix=f"{_sibling_prefix(target)}tmp-", dir=target.parent)
    staged = Path(parent) / "index"
    try:
        yield staged
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def save_index(target: Path, manifest: dict[str, Any], chunks: list[Chunk], vectors: np.ndarray,
               lexical: Any, units: dict[str, np.ndarray] | None = None,
               tokens: dict[str, np.ndarray] | None = None) -> None:
    """Write a complete index beside ``target`` and swap it in atomically (arguments as
    :func:`write_index_files`)."""
    with staging_folder(target) as staged:
        write_index_files(staged, manifest, chunks, vectors, lexical, units, tokens)
        swap_in(staged, target)


# -- loading -------------------------------------------------------------------------------------
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


def _load_files(folder: Path, manifest: dict[str, Any]) -> Index:
    import faiss

    bm25s = _bm25s()

    try:
        with (folder / CHUNKS).open(encoding="utf-8") as fh:
            chunks = [Chunk.from_dict(json.loads(line)) for line in fh if line.strip()]
        vectors = np.load(folder / VECTORS, allow_pickle=False)
        dense = faiss.read_index(str(folder / FAISS_FILE))
        lexical = bm25s.BM25.load(str(folder / BM25_DIR)) if chunks else bm25s.BM25()
        units = _load_units(folder / UNITS, len(chunks)) if (folder / UNITS).exists() else None
        tokens = _load_tokens(folder / TOKENS, len(chunks)) if (folder / TOKENS).exists() else None
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
    return Index(folder, manifest, chunks, vectors, dense, lexical, units, tokens)


def _load_units(path: Path, chunks: int) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        units = {name: data[name] for name in UNIT_ARRAYS}
    if units["first"].size != chunks + 1 or units["vectors"].shape[0] != units["owner"].size != int(units["first"][-1]):
        raise ValueError(f"{path.name} does not match the passages")
    return units


def _load_tokens(path: Path, chunks: int) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        tokens = {"first": data["first"], "vectors": data["vectors"].astype(np.float32)}
    if tokens["first"].size != chunks + 1 or tokens["vectors"].shape[0] != int(tokens["first"][-1]):
        raise ValueError(f"{path.name} does not match the passages")
    return tokens


def load_index(folder: Path, model: str | None = None, attempts: int = 5) -> Index:
    """Load the index in ``folder``, checking its manifest and the size of every file.

    A build may swap a new index in while this reads; the result is always one whole build
    (see :func:`_read_one_build`).

    Args:
        folder: The index folder.
        model: If given, the model the index must have been built with.
        attempts: How often to retry when a concurrent swap is detected.

    Raises:
        IndexNotFound, IndexMismatch, IndexCorrupt: with a message saying what to run.
    """

    def load(source: Path, manifest: dict[str, Any]) -> Index:
        check_manifest(manifest, source, model)
        verify_files(source, manifest)
        return _load_files(source, manifest)

    return _read_one_build(folder, load, attempts)


def read_checked_manifest(folder: Path, attempts: int = 5) -> dict[str, Any]:
    """The manifest of the index in ``folder``, once every file it lists has its recorded size.

    Cheap (no file is parsed) and safe while a build swaps a new index in. Like
    :func:`load_index`, it puts back the previous index if a swap was killed half-way.

    Raises:
        IndexNotFound: if there is no index there.
        IndexCorrupt: if the manifest is unreadable or a file is missing or truncated.
    """

    def check(source: Path, manifest: dict[str, Any]) -> dict[str, Any]:
        verify_files(source, manifest)
        return manifest

    return _read_one_build(folder, check, attempts)


_T = TypeVar("_T")


def _read_one_build(folder: Path, read: Callable[[Path, dict[str, Any]], _T], attempts: int) -> _T:
    """Run ``read(source, manifest)`` on one whole build, retrying while a concurrent swap changes it.

    The build id is read before and after; a failure is only reported as damage if the build id
    did not change meanwhile (the files may have been swapped under the reader otherwise). Without
    an index at ``folder`` but with the previous one beside it (a fallback swap killed between its
    two renames), that one is put back and read (:func:`restore_previous`).
    """
    last_error: IndexProblem | FileNotFoundError | None = None
    for _ in range(attempts):
        build_id = None
        source = folder
        try:
            try:
                manifest = read_manifest(folder)
            except IndexNotFound:
                # Only the fallback swap (two renames) has a moment without an index: wait for a
                # swap under way, or put back the index a killed one left beside the folder.
                restored = restore_previous(folder)
                if restored is None:
                    raise
                source = restored
                manifest = read_manifest(source)
            build_id = manifest.get("build_id")
            result = read(source, manifest)
            if read_manifest(source).get("build_id") == build_id:
                return result
        except IndexNotFound as exc:
            swapping = bool(_old_folders(folder))
            if not (swapping or (folder / MANIFEST).is_file()):
                raise
            last_error = exc
        except (IndexCorrupt, FileNotFoundError) as exc:
            if build_id is None or _current_build_id(source) == build_id:
                raise
            last_error = exc
        time.sleep(0.05)
    if isinstance(last_error, IndexProblem):
        raise last_error
    raise IndexCorrupt(
        f"index at {str(folder)!r} kept changing while being read ({last_error})",
        "try again, or run `scoqa index build --force`",
    )


def _current_build_id(folder: Path) -> object:
    try:
        return read_manifest(folder).get("build_id")
    except IndexProblem:
        return None


# -- build lock ----------------------------------------------------------------------------------
class IndexLocked(IndexProblem, RuntimeError):
    """Another process is building this index."""


@contextlib.contextmanager
def build_lock(target: Path, wait: float | None = None) -> Iterator[None]:
    """Hold the build lock of ``target`` (a ``.NAME.lock`` file beside it, via filelock).

    Args:
        target: The index folder.
        wait: Seconds to wait for another build to finish; None waits as long as needed.

    Raises:
        IndexLocked: if the lock is still held after ``wait`` seconds.
    """
    from filelock import FileLock, Timeout

    target.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(target.with_name(f".{target.name}.lock"), timeout=-1 if wait is None else wait)
    # filelock truncates its file on every attempt, so the holder's pid sits beside it.
    holder_file = target.with_name(f".{target.name}.lock.pid")
    try:
        lock.acquire()
    except Timeout:
        try:
            holder = holder_file.read_text(encoding="utf-8").strip() or "another process"
        except OSError:
            holder = "another process"
        raise IndexLocked(
            f"another build of {str(target)!r} is running (pid {holder}); wait for it to "
            "finish, or run the command again later"
        ) from None
    try:
        holder_file.write_text(str(os.getpid()), encoding="utf-8")
        yield
    finally:
        lock.release()
