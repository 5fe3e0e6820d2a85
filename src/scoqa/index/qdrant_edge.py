"""``SCOQA_BACKEND=qdrant-edge``: the qdrant backend on ``qdrant-edge-py``, Qdrant's own Rust engine
in-process (one Edge shard per collection, in ``SCOQA_QDRANT_PATH``, default
``<SCOQA_INDEX>/qdrant-edge``).

:class:`EdgeClient` offers the few qdrant-client calls :mod:`scoqa.index.qdrant` makes, on Edge
shards, so that the collection layout, the save and the searches are the same code for both.
"""

from __future__ import annotations

import atexit
import json
import shutil
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ..config import Settings
from .qdrant import _close_clients

_clients: dict[str, EdgeClient] = {}
_lock = threading.Lock()


def edge_client(settings: Settings) -> tuple[EdgeClient, str]:
    """One client per folder per process (a shard folder may be open once)."""
    path = (settings.qdrant_path or settings.index_dir / "qdrant-edge").resolve()
    with _lock:
        client = _clients.get(str(path))
        if client is None:
            if not _clients:  # shards flush and release their folders on close
                atexit.register(_close_clients, _clients, _lock)
            client = _clients[str(path)] = EdgeClient(path)
    return client, f"Qdrant Edge store {str(path)!r}"


def _edge():  # type: ignore[no-untyped-def]
    import qdrant_edge

    return qdrant_edge


class EdgeClient:
    """qdrant-client's calls used by the qdrant backend, on one Edge shard per collection."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._shards: dict[str, Any] = {}

    def _folder(self, name: str) -> Path:
        return self.root / name

    def _shard(self, name: str) -> Any:
        shard = self._shards.get(name)
        if shard is None:
            shard = self._shards[name] = _edge().EdgeShard.load(str(self._folder(name)))
        return shard

    def collection_exists(self, name: str) -> bool:
        return (self._folder(name) / "edge_config.json").is_file()

    def get_collections(self) -> Any:
        names = sorted(p.parent.name for p in self.root.glob("*/edge_config.json")) if self.root.is_dir() else []
        return SimpleNamespace(collections=[SimpleNamespace(name=n) for n in names])

    def get_collection(self, name: str) -> Any:
        config = json.loads((self._folder(name) / "edge_config.json").read_text(encoding="utf-8"))
        vectors = {key: SimpleNamespace(size=int(value["size"])) for key, value in config.get("vectors", {}).items()}
        return SimpleNamespace(config=SimpleNamespace(params=SimpleNamespace(vectors=vectors)))

    def create_collection(self, name: str, vectors_config: dict[str, Any], sparse_vectors_config: dict[str, Any],
                          **_cluster: Any) -> None:
        q = _edge()

        def params(p: Any) -> Any:
            kwargs: dict[str, Any] = {"size": p.size, "distance": q.Distance.Dot}
            if p.multivector_config is not None:
                kwargs["multivector_config"] = q.MultiVectorConfig(q.MultiVectorComparator.MaxSim)
            if p.datatype is not None:  # the word pieces' one-byte codes
                kwargs["datatype"] = {"uint8": q.VectorStorageDatatype.Uint8,
                                      "float16": q.VectorStorageDatatype.Float16}[p.datatype.value]
            if p.hnsw_config is not None and p.hnsw_config.m == 0:  # exact MAX_SIM, no graph
                kwargs["hnsw_config"] = q.HnswIndexConfig(m=0, ef_construct=100, full_scan_threshold=10_000)
            return q.EdgeVectorParams(**kwargs)

        config = q.EdgeConfig(vectors={k: params(v) for k, v in vectors_config.items()},
                              sparse_vectors={k: q.EdgeSparseVectorParams() for k in sparse_vectors_config})
        self._folder(name).mkdir(parents=True, exist_ok=True)
        self._shards[name] = q.EdgeShard.create(str(self._folder(name)), config)

    def create_payload_index(self, name: str, field_name: str, field_schema: Any) -> None:
        q = _edge()
        schema = {"keyword": q.PayloadSchemaType.Keyword}[str(getattr(field_schema, "value", field_schema))]
        shard = self._shard(name)
        shard.update(q.UpdateOperation.create_field_index(field_name, schema))
        shard.flush()

    def delete_collection(self, name: str) -> None:
        shard = self._shards.pop(name, None)
        if shard is not None:
            shard.close()
        shutil.rmtree(self._folder(name), ignore_errors=True)

    @staticmethod
    def _vector(value: Any) -> Any:
        if hasattr(value, "indices"):  # a qdrant-client SparseVector
            return _edge().SparseVector(list(value.indices), list(value.values))
        return value

    def _filter(self, query_filter: Any) -> Any:
        if query_filter is None:
            return None
        q = _edge()

        def condition(c: Any) -> Any:
            if getattr(c, "has_id", None) is not None:  # a qdrant-client HasIdCondition
                return q.HasIdCondition({str(i) for i in c.has_id})
            return q.FieldCondition(c.key, match=q.MatchValue(c.match.value))

        return q.Filter(must=[condition(c) for c in query_filter.must])

    def upsert(self, name: str, points: list[Any], wait: bool = True) -> None:
        q = _edge()
        shard = self._shard(name)
        shard.update(q.UpdateOperation.upsert_points([
            q.Point(str(p.id), {k: self._vector(v) for k, v in (p.vector or {}).items()}, p.payload) for p in points
        ]))
        shard.flush()

    def delete(self, name: str, points_selector: Any, wait: bool = True) -> None:
        shard = self._shard(name)
        shard.update(_edge().UpdateOperation.delete_points([str(i) for i in points_selector.points]))
        shard.flush()

    def retrieve(self, name: str, ids: list[str], with_payload: bool | list[str] = True,
                 with_vectors: bool | list[str] = False) -> list[Any]:
        return list(self._shard(name).retrieve([str(i) for i in ids], with_payload, with_vectors))

    def scroll(self, name: str, limit: int, offset: Any = None, with_payload: bool | list[str] = True,
               with_vectors: bool | list[str] = False) -> tuple[list[Any], Any]:
        records, next_offset = self._shard(name).scroll(_edge().ScrollRequest(
            offset=offset, limit=limit, with_payload=with_payload, with_vector=with_vectors))
        return list(records), next_offset

    def query_points(self, name: str, query: Any, using: str, limit: int, query_filter: Any = None,
                     with_payload: Any = True, prefetch: Any = None, search_params: Any = None) -> Any:
        """A nearest-neighbour query; ``prefetch`` (a qdrant-client ``Prefetch``) first picks the
        candidates it ranks (e.g. dense top 30 for a ``MAX_SIM`` rerank)."""
        q = _edge()
        stages = None
        if prefetch is not None:
            stages = [q.Prefetch(limit=prefetch.limit, query=q.Query.Nearest(self._vector(prefetch.query),
                                                                             using=prefetch.using),
                                 filter=self._filter(prefetch.filter))]
        points = self._shard(name).query(q.QueryRequest(
            limit=limit, query=q.Query.Nearest(self._vector(query), using=using), prefetches=stages,
            filter=self._filter(query_filter), with_payload=True,
            params=q.SearchParams(exact=True) if search_params is not None and search_params.exact else None))
        return SimpleNamespace(points=list(points))

    def optimize(self, name: str) -> bool:
        """Build the shard's indexes (HNSW) now: an Edge shard has no background optimizer."""
        return bool(self._shard(name).optimize())

    def close(self) -> None:
        for shard in self._shards.values():
            shard.close()
        self._shards.clear()
