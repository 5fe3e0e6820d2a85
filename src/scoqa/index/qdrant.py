"""The ``qdrant`` backend: the index as one Qdrant collection (``SCOQA_BACKEND=qdrant``).

Where: ``SCOQA_QDRANT_URL`` (+ ``SCOQA_QDRANT_API_KEY``) for a server or cluster, otherwise
Qdrant's in-process local mode in ``SCOQA_QDRANT_PATH`` (default ``<SCOQA_INDEX>/qdrant``); the
collection is ``SCOQA_QDRANT_COLLECTION`` (default ``scoqa``).

One point per passage, keyed by its id (source, lines and content hash, as a UUID5):

* payload: the passage record (:meth:`Chunk.to_dict`), its row, its sentence units' spans, and the
  build that wrote it;
* ``dense``: the passage embedding (dot product = cosine, the vectors are normalised);
* ``bm25``: a sparse vector holding the passage's bm25s score for each term (bm25s computes them
  with scoqa's tokenizer, :func:`scoqa.text.query_terms`); a query is the sparse vector of its
  term counts, so the dot product Qdrant returns is bm25s' score exactly, and the ranking is the
  faiss backend's. (Qdrant's ``IDF`` modifier would keep the points unchanged by an update but
  needs the document-length normalisation done outside; not measured yet.)
* ``late`` and ``units``: multivectors with the ``MAX_SIM`` comparator, HNSW off. ``late`` holds
  the word pieces' codes exactly as ``tokens.npz`` does (one byte per dimension:
  :class:`scoqa.index.tokens.TokenCodec`), with the ``uint8`` datatype; ``units`` the
  sentence-unit vectors. The rerank retrieves the codes of the passages it reranks and scores
  them in the process, as the faiss backend does (a server-side ``MAX_SIM`` is not used: Qdrant
  casts the query to the codes' bytes too, which loses the codec's signed query weights).

The manifest (model, dimension, chunking, per-source hashes, build id), the BM25 vocabulary and
the word pieces' codec live in one more point without vectors, so every process on the collection
sees the same one.

A save upserts every passage of the new build (vectors that did not change are not embedded
again: the build takes them from the loaded index) and then deletes the points of passages gone,
then writes the manifest last. Queries only see points of the manifest's build, so a searcher
never mixes two builds' rows; it reloads when the manifest's build id changes.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings
from ..ingest.chunk import Chunk
from . import files, swap
from .errors import REBUILD, IndexCorrupt, IndexLocked, IndexNotFound, IndexProblem
from .faiss_index import SentenceIndex, require
from .runs import offsets
from .tokens import TokenCodec, TokenVectors

#: Points per upsert / scroll request.
BATCH = 256
_NAMESPACE = uuid.UUID("6f1d3c52-5b1e-4d7e-9a43-0c2d8f6a9e11")
MANIFEST_ID = str(uuid.uuid5(_NAMESPACE, "scoqa:manifest"))
DENSE, SPARSE, LATE, UNITS = "dense", "bm25", "late", "units"
#: Seconds a request to a server may take before the backend says it cannot reach it.
TIMEOUT = 10

_clients: dict[tuple[str, str], Any] = {}
_clients_lock = threading.Lock()


def point_id(chunk_id: str) -> str:
    """The point id of a passage (Qdrant ids are integers or UUIDs)."""
    return str(uuid.uuid5(_NAMESPACE, chunk_id))


class IndexUnavailable(IndexProblem, ConnectionError):
    """The Qdrant server cannot be reached."""


def _client(settings: Settings) -> tuple[Any, str]:
    """One client per server or local folder per process (local mode locks its folder)."""
    from qdrant_client import QdrantClient

    if settings.qdrant_url:
        key = ("url", settings.qdrant_url)
        where = f"Qdrant at {settings.qdrant_url}"
    else:
        path = (settings.qdrant_path or settings.index_dir / "qdrant").resolve()
        key = ("path", str(path))
        where = f"Qdrant local store {str(path)!r}"
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            if settings.qdrant_url:
                client = QdrantClient(url=settings.qdrant_url, api_key=settings.qdrant_api_key or None,
                                      timeout=TIMEOUT, check_compatibility=False)
            else:
                Path(key[1]).mkdir(parents=True, exist_ok=True)
                try:
                    client = QdrantClient(path=key[1])
                except RuntimeError as exc:  # the folder is locked by another process
                    raise IndexLocked(f"{where} is in use by another process ({exc})",
                                            "set SCOQA_QDRANT_URL to share one index between processes") from None
            if not _clients:  # closed before the interpreter tears down the modules close() needs
                atexit.register(_close_clients)
            _clients[key] = client
    return client, where


def _close_clients(clients: dict[Any, Any] = _clients, lock: threading.Lock = _clients_lock) -> None:
    """Close every client of ``clients`` (at exit: local mode and Edge write their folders on close)."""
    with lock:
        for client in clients.values():
            with contextlib.suppress(Exception):
                client.close()
        clients.clear()


def _multi(point: Any, name: str, size: int) -> np.ndarray:
    """A point's multivector ``name`` as a (rows, size) float32 array (no rows when it has none)."""
    rows = (point.vector or {}).get(name) or []
    return np.asarray(rows, dtype=np.float32).reshape(-1, size)


def _join(parts: list[np.ndarray], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-passage arrays joined: (first, rows), ``first[i]:first[i + 1]`` the rows of part ``i``."""
    first = offsets([len(p) for p in parts])
    rows = np.concatenate(parts) if parts else np.zeros((0, size), np.float32)
    return first, rows.astype(np.float32)


def _codes(points: list[Any], codec: TokenCodec) -> TokenVectors:
    """The word-piece codes of ``points``' ``late`` multivectors, passage after passage."""
    first, codes = _join([_multi(p, LATE, codec.width) for p in points], codec.width)
    # Qdrant hands uint8 vectors back as floats: rounded, they are the stored bytes exactly.
    codes = codes.astype(np.float16) if codec.code == "float16" else np.rint(codes).astype(np.uint8)
    return TokenVectors.from_codes(codes, first, codec)


class QdrantIndex:
    """A loaded index whose dense and BM25 searches run in the Qdrant collection
    (:class:`scoqa.index.backend.SearchIndex`).

    The process holds the passage records and the sentence units (the answers read them); the
    word pieces a rerank scores are read from the collection for the passages it reranks, and
    a search within some documents runs in the collection too. All dense vectors and codes are
    read only when an update asks for them (:attr:`vectors`, :attr:`tokens`), to reuse them.
    """

    def __init__(self, path: str, backend: QdrantBackend, manifest: dict[str, Any], chunks: list[Chunk],
                 ids: list[str], units: dict[str, np.ndarray] | None, codec: TokenCodec | None,
                 vocabulary: dict[str, int], frequencies: np.ndarray) -> None:
        self.path = path
        self._backend = backend
        self.client = backend.client
        self.collection = backend.collection
        self.manifest = manifest
        self.chunks = chunks
        self.units = units
        self._ids = ids
        self._codec = codec
        self._vocabulary = vocabulary
        self._frequencies = frequencies
        self._vectors: np.ndarray | None = None
        self._tokens: dict[str, np.ndarray] | None = None
        self._sentences: SentenceIndex | None = None
        self.loaded_at = time.time()

    @property
    def build_id(self) -> str:
        return str(self.manifest.get("build_id", ""))

    @property
    def vectors(self) -> np.ndarray:
        """Every passage's dense vector, read from the collection on first use (by an update)."""
        if self._vectors is None:
            dim = int(self.manifest.get("dim") or 0)
            points = self._all(DENSE)
            self._vectors = np.array([p.vector[DENSE] for p in points], dtype=np.float32).reshape(-1, dim)
        return self._vectors

    @property
    def tokens(self) -> dict[str, np.ndarray] | None:
        """Every passage's word-piece codes, read from the collection on first use (by an update)."""
        if self._tokens is None and self._codec is not None:
            self._tokens = _codes(self._all(LATE), self._codec).arrays()
        return self._tokens

    def _all(self, vector: str) -> list[Any]:
        """Every point of this build with ``vector``, in row order.

        Raises:
            IndexCorrupt: when the collection no longer holds the whole build (another process
                replaced it since this one loaded it).
        """
        points = self._backend.points_of(self.build_id, [vector])
        if len(points) != len(self.chunks):
            raise IndexCorrupt(f"{self.path} changed while it was read", "run the command again")
        return points

    def _this_build(self, *more: Any) -> Any:
        from qdrant_client import models

        build = models.FieldCondition(key="build", match=models.MatchValue(value=self.build_id))
        return models.Filter(must=[build, *more])

    def _rows(self, points: list[Any]) -> np.ndarray:
        return np.array([p.payload["row"] for p in points], dtype=np.int64)

    def dense_top(self, vector: np.ndarray, k: int,
                  allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        from qdrant_client import models

        n = len(self.chunks)
        if n == 0 or (allowed is not None and not allowed.size):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        only: list[Any] = []
        params = None
        if allowed is not None:  # a few documents: searched exactly, as the faiss backend does
            only = [models.HasIdCondition(has_id=[self._ids[int(r)] for r in allowed])]
            params = None if self._backend.searches_exactly else models.SearchParams(exact=True)
        points = self.client.query_points(
            self.collection, query=np.asarray(vector, dtype=np.float32).tolist(), using=DENSE,
            limit=min(k, n), query_filter=self._this_build(*only), with_payload=["row"], search_params=params,
        ).points
        return self._rows(points), np.array([p.score for p in points], dtype=np.float32)

    def sentence_top(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
        # The units are searched in the process, in a FAISS index made from the collection's unit
        # vectors on first use: the same ranking as the faiss backend's (a server-side MAX_SIM
        # over the ``units`` multivector is not used yet).
        if self._sentences is None:
            self._sentences = SentenceIndex(require(self.units, "units"))
        return self._sentences.passages(vector, k, allowed)

    def late_tokens(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        if self._codec is None:
            require(None, "tokens")
        ids = [self._ids[int(r)] for r in rows]
        found = {str(p.id): p for p in self.client.retrieve(self.collection, ids, with_payload=False,
                                                             with_vectors=[LATE])}
        return _codes([found[i] for i in ids], self._codec).arrays()

    def bm25_scores(self, terms: list[str]) -> np.ndarray:
        from qdrant_client import models

        scores = np.zeros(len(self.chunks), dtype=np.float32)
        ids, counts = np.unique([self._vocabulary[t] for t in terms if t in self._vocabulary], return_counts=True)
        if not ids.size or not self.chunks:
            return scores
        points = self.client.query_points(
            self.collection, query=models.SparseVector(indices=ids.tolist(), values=counts.astype(float).tolist()),
            using=SPARSE, limit=len(self.chunks), query_filter=self._this_build(), with_payload=["row"],
        ).points
        scores[self._rows(points)] = [p.score for p in points]
        return scores

    def vocabulary(self) -> dict[str, int]:
        return dict(self._vocabulary)

    def document_frequencies(self) -> np.ndarray:
        return self._frequencies


class QdrantBackend:
    """A Qdrant collection (:class:`scoqa.index.backend.Backend`)."""

    def __init__(self, settings: Settings, connect: Any = None, folder: str = "qdrant") -> None:
        """Args:
            settings: Where the collection is (``SCOQA_QDRANT_*``).
            connect: Makes the client, as :func:`_client` (qdrant-client) does; another engine
                offers the same calls (:mod:`scoqa.index.qdrant_edge`).
            folder: Name of the in-process store's folder in the index folder, by default.
        """
        self.settings = settings
        self.collection = settings.qdrant_collection
        self._connect = connect or _client
        #: qdrant-client's local mode searches every point anyway (and warns when asked to).
        self.searches_exactly = connect is None and not settings.qdrant_url
        self._client: Any = None
        self.folder = settings.qdrant_path or settings.index_dir / folder
        where = settings.qdrant_url or str(self.folder)
        self.location = f"collection {self.collection!r} in Qdrant {where}"

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client, _ = self._connect(self.settings)
        return self._client

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one client call, turning a server that cannot be reached into one clear line."""
        from qdrant_client.http.exceptions import ResponseHandlingException

        try:
            return fn(*args, **kwargs)
        except (ResponseHandlingException, ConnectionError, OSError) as exc:
            reason = getattr(exc, "source", None) or exc
            raise IndexUnavailable(
                f"cannot reach Qdrant at {self.settings.qdrant_url or 'its local store'} to {what} "
                f"({type(reason).__name__})",
                "check SCOQA_QDRANT_URL (and SCOQA_QDRANT_API_KEY), or unset it to use a local store",
            ) from None

    def _exists(self) -> bool:
        return bool(self._call("find the collection", self.client.collection_exists, self.collection))

    def _manifest_point(self) -> dict[str, Any]:
        if not self._exists():
            names = [c.name for c in self._call("list collections", self.client.get_collections).collections]
            others = f"; the collections there are: {', '.join(sorted(names))}" if names else ""
            raise IndexNotFound(
                f"no index in {self.location}{others}",
                "run `scoqa index build`, or set SCOQA_QDRANT_COLLECTION to the collection that holds it",
            )
        found = self._call("read the manifest", self.client.retrieve, self.collection, [MANIFEST_ID],
                           with_payload=True, with_vectors=False)
        if not found:
            raise IndexNotFound(f"no index in {self.location} (a build did not finish)",
                                      "run `scoqa index build`")
        return dict(found[0].payload or {})

    def read_manifest(self) -> dict[str, Any]:
        manifest = self._manifest_point().get("manifest")
        if not isinstance(manifest, dict):
            raise IndexCorrupt(f"the manifest in {self.location} is unreadable", REBUILD)
        return manifest

    def stamp(self) -> object:
        try:
            return self.read_manifest().get("build_id")
        except IndexProblem:
            return None

    def _scroll(self, vectors: bool | list[str] = True, payload: bool | list[str] = True) -> list[Any]:
        points: list[Any] = []
        offset = None
        while True:
            batch, offset = self._call("read the index", self.client.scroll, self.collection, limit=BATCH,
                                       offset=offset, with_payload=payload, with_vectors=vectors)
            points.extend(p for p in batch if str(p.id) != MANIFEST_ID)
            if offset is None:
                return points

    def points_of(self, build: str, vectors: list[str], payload: bool = False) -> list[Any]:
        """The points of ``build`` in row order, with the named vectors (and the whole payload,
        else only what finds the build and the row)."""
        points = [p for p in self._scroll(vectors, True if payload else ["build", "row"])
                  if (p.payload or {}).get("build") == build]
        return sorted(points, key=lambda p: p.payload["row"])

    def load(self, model: str | None = None) -> QdrantIndex:
        for _ in range(5):  # a build may be saving meanwhile: read until one whole build is seen
            meta = self._manifest_point()
            manifest = meta.get("manifest") or {}
            files.check_manifest(manifest, self.location, model)
            # Records and sentence units only: the rest is read when it is needed (QdrantIndex).
            build = manifest.get("build_id")
            points = self.points_of(build, [UNITS], payload=True)
            if len(points) == manifest.get("chunks") and self.read_manifest().get("build_id") == build:
                return self._assemble(manifest, meta, points)
            time.sleep(0.2)
        raise IndexCorrupt(
            f"{self.location} holds {len(points)} passages of its build, its manifest says {manifest.get('chunks')}",
            REBUILD,
        )

    def _assemble(self, manifest: dict[str, Any], meta: dict[str, Any], points: list[Any]) -> QdrantIndex:
        dim = int(manifest.get("dim") or 0)
        chunks = [Chunk.from_dict(p.payload["chunk"]) for p in points]
        unit_first, unit_vectors = _join([_multi(p, UNITS, dim) for p in points], dim)
        spans = [np.asarray(p.payload.get("unit_spans") or [], dtype=np.int64).reshape(-1, 2) for p in points]
        units = {
            "owner": np.repeat(np.arange(len(points), dtype=np.int64), np.diff(unit_first)),
            "spans": np.concatenate(spans) if spans else np.zeros((0, 2), np.int64),
            "first": unit_first,
            "vectors": unit_vectors,
        }
        codec = None
        if manifest.get("tokens") is not None and isinstance(meta.get("token_codec"), dict):
            codec = TokenCodec.from_record(meta["token_codec"])
        vocabulary = {str(term): int(i) for term, i in (meta.get("vocabulary") or {}).items()}
        frequencies = np.asarray(meta.get("frequencies") or [], dtype=np.int64)
        return QdrantIndex(self.location, self, manifest, chunks, [str(p.id) for p in points],
                           units if manifest.get("units") is not None else None,
                           codec, vocabulary, frequencies)

    def _create(self, dim: int, late: tuple[int, str]) -> None:
        """Make the collection: ``late`` is the size and dtype of the stored word-piece codes."""
        from qdrant_client import models

        def multivector(size: int = dim, code: str = "float32") -> Any:
            return models.VectorParams(
                size=size, distance=models.Distance.DOT, hnsw_config=models.HnswConfigDiff(m=0),
                multivector_config=models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM),
                datatype=models.Datatype(code) if code != "float32" else None,
            )

        self._call("create the collection", self.client.create_collection, self.collection,
                   vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.DOT),
                                   LATE: multivector(*late), UNITS: multivector()},
                   sparse_vectors_config={SPARSE: models.SparseVectorParams()},
                   # a server shards and replicates the collection; local mode has one shard
                   shard_number=(self.settings.qdrant_shards or None) if self.settings.qdrant_url else None,
                   replication_factor=(self.settings.qdrant_replicas or None) if self.settings.qdrant_url else None)
        # qdrant-client's local mode has no payload indexes; without one on a server or Edge, every
        # query's build filter reads each candidate's payload (docs/performance.md).
        if self.settings.qdrant_url or hasattr(self.client, "optimize"):
            self._call("index the build field", self.client.create_payload_index, self.collection, "build",
                       models.PayloadSchemaType.KEYWORD)

    def save(self, manifest: dict[str, Any], chunks: list[Chunk], vectors: np.ndarray, lexical: Any,
             units: dict[str, np.ndarray] | None, tokens: dict[str, np.ndarray] | None) -> None:
        from qdrant_client import models
        from scipy import sparse

        dim = int(manifest["dim"])
        late = (tokens["codes"].shape[1], tokens["codes"].dtype.name) if tokens is not None else (dim, "float32")
        if self._exists():
            info = self._call("read the collection", self.client.get_collection, self.collection)
            params = info.config.params.vectors if isinstance(info.config.params.vectors, dict) else {}
            dense, pieces = params.get(DENSE), params.get(LATE)
            # Another model (a forced build), or word-piece codes of another size (a codec fitted
            # again as the corpus grew): start afresh, every point is written below anyway.
            if dense is None or dense.size != dim or pieces is None or pieces.size != late[0]:
                self._call("drop the collection", self.client.delete_collection, self.collection)
        if not self._exists():
            self._create(dim, late)
        build = manifest["build_id"]
        raw = lexical.scores
        vocabulary = {str(term): int(i) for term, i in lexical.vocab_dict.items()}
        # One column per term id that has postings (bm25s may know a term no passage holds).
        matrix = sparse.csc_matrix((raw["data"], raw["indices"], raw["indptr"]),
                                   shape=(int(raw["num_docs"]), len(raw["indptr"]) - 1)).tocsr()
        frequencies = np.diff(np.asarray(raw["indptr"]))

        def point(row: int, chunk: Chunk) -> Any:
            terms = matrix[row]
            vector: dict[str, Any] = {
                DENSE: vectors[row].astype(np.float32).tolist(),
                SPARSE: models.SparseVector(indices=terms.indices.tolist(), values=terms.data.tolist()),
            }
            payload: dict[str, Any] = {"chunk": chunk.to_dict(), "row": row, "build": build}
            if tokens is not None:
                part = tokens["codes"][tokens["first"][row]:tokens["first"][row + 1]]
                if len(part):  # the codes as tokens.npz stores them, so both backends rank alike
                    vector[LATE] = part.tolist()
            if units is not None:
                start, stop = int(units["first"][row]), int(units["first"][row + 1])
                if stop > start:
                    vector[UNITS] = units["vectors"][start:stop].astype(np.float32).tolist()
                payload["unit_spans"] = np.asarray(units["spans"][start:stop]).tolist()
            return models.PointStruct(id=point_id(chunk.id), vector=vector, payload=payload)

        for start in range(0, len(chunks), BATCH):
            batch = [point(row, chunks[row]) for row in range(start, min(start + BATCH, len(chunks)))]
            self._call("write passages", self.client.upsert, self.collection, batch, wait=True)
        keep = {point_id(c.id) for c in chunks} | {MANIFEST_ID}
        gone = [p.id for p in self._scroll_ids() if str(p.id) not in keep]
        if gone:
            self._call("delete passages", self.client.delete, self.collection,
                       models.PointIdsList(points=gone), wait=True)
        # A server builds its HNSW graphs in the background; Qdrant Edge only when asked, and until
        # then scans every point of its unindexed segments (a dense top 10 at 10k passages: 24 ms,
        # 2.8 ms optimized; docs/performance.md). Before the manifest, so a new build is fast at once.
        optimize = getattr(self.client, "optimize", None)
        if optimize is not None:
            self._call("index the vectors", optimize, self.collection)
        manifest = {**manifest, "faiss_index": f"Qdrant collection {self.collection!r}", "backend": "qdrant"}
        if units is not None:
            manifest["units"] = int(units["owner"].size)
        meta: dict[str, Any] = {"manifest": manifest, "vocabulary": vocabulary, "frequencies": frequencies.tolist()}
        if tokens is not None:
            manifest["tokens"] = int(tokens["codes"].shape[0])
            meta["token_codec"] = TokenVectors(**tokens).codec.record()
        self._call("write the manifest", self.client.upsert, self.collection,
                   [models.PointStruct(id=MANIFEST_ID, vector={}, payload=meta)], wait=True)

    def _scroll_ids(self) -> list[Any]:
        points: list[Any] = []
        offset = None
        while True:
            batch, offset = self._call("list passages", self.client.scroll, self.collection, limit=BATCH * 4,
                                       offset=offset, with_payload=False, with_vectors=False)
            points.extend(batch)
            if offset is None:
                return points

    @contextlib.contextmanager
    def lock(self, wait: float | None = None) -> Iterator[None]:
        # One build at a time on this machine (a server has no lock of its own for this).
        with swap.build_lock(self.folder, wait):
            yield

    def tidy(self) -> list[Path]:
        return []
