"""Content word pieces: which pieces of a text count, and the vectors of a passage's pieces.

Late interaction (:mod:`scoqa.search.rerank`) matches each content word piece of a question with
the closest piece of a passage. Which pieces carry content is decided here; the embedder keeps
their vectors from the same forward pass as the sentence vector
(:meth:`scoqa.index.embed.Embedder.encode_with_tokens`), and the build stores each passage's
pieces with the index (:class:`TokenVectors`), compressed by a :class:`TokenCodec`: quantised
to one byte per dimension over the corpus's range, and optionally first projected on the
corpus's own principal axes (PCA, fitted at build time) and quantised to 4 bits. Measured on five
question sets and the test suite (docs/retrieval.md, "Compressed word pieces"), one byte per
dimension changes no ranking measured, in half the bytes of float16 and a quarter of the float32
the searcher used to hold; PCA to 192 axes at 4 bits (8 times smaller) keeps recall@1 within one
question on every set but flips a named-section rule the tests check.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..text import function_words
from .runs import offsets

#: Words that frame a question about a document rather than ask about its topic: every
#: question here is about "the report" and what it "says", so matching those words in a
#: passage ("reportedly") is noise. Dropped from the question only.
FRAMING_WORDS = frozenset({
    "report", "reports", "say", "says", "said", "mention", "mentions", "mentioned", "according",
    "describe", "describes", "described", "tell", "tells", "list", "listed", "author",
})
#: Dimensions the word-piece vectors keep (PCA; None keeps all) and how each is stored: the
#: choice measured in docs/retrieval.md ("Compressed word pieces"): every dimension, one byte
#: each, 384 bytes a piece (768 as float16). ``192`` and ``"uint4"`` are the measured next step
#: (96 bytes a piece).
TOKEN_DIMS: int | None = None
TOKEN_CODE = "uint8"
#: How a kept dimension may be stored: 4 bits (two to a byte), 8 bits, or float16.
CODES = ("uint4", "uint8", "float16")
_LEVELS = {"uint4": 15, "uint8": 255}
#: PCA is fitted only on at least this many vectors per kept dimension; a smaller corpus keeps
#: every dimension (still quantised), which costs little at that size.
FIT_PER_DIM = 10
#: At most this many vectors (a fixed random sample) go into the PCA fit: the axes settle long
#: before, and the covariance of a million passages' pieces would cost minutes.
FIT_SAMPLE = 100_000
#: Rows projected at a time, so that a large corpus needs no float copy of all its pieces.
_BLOCK = 65_536
#: Codes turned into floats and multiplied at a time by :meth:`TokenCodec.products`.
PRODUCT_ROWS = 128


def content_positions(pieces: list[str], query: bool = False) -> list[int]:
    """Positions of the word pieces that carry content: letters or digits, not a special token,
    not a function word (nor, in a question, a framing word)."""
    stop = function_words() | FRAMING_WORDS if query else function_words()
    keep = []
    for i, piece in enumerate(pieces):
        word = piece.removeprefix("##")
        if piece.startswith("[") and piece.endswith("]"):
            continue
        if word.isalnum() and word.lower() not in stop:
            keep.append(i)
    return keep


@dataclass(frozen=True)
class TokenCodec:
    """How word-piece vectors are stored: ``x ≈ mean + basis @ (low + step * code)``.

    Attributes:
        mean: (dim,) float32, subtracted before projecting.
        basis: (dim, k) float32 with orthonormal columns (the top ``k`` principal axes), or an
            empty (0, 0) array for no projection (``k == dim``, ``mean`` zero). For ``uint4``
            ``k`` is even: an odd one gets one more axis of zeros.
        low: (k,) float32, the value of code 0 in each kept dimension.
        step: (k,) float32, the value of one code step in each kept dimension.
        fitted: How many vectors the codec was fitted on (an update refits past twice that).
        code: How each kept dimension is stored, one of :data:`CODES`.
    """

    mean: np.ndarray
    basis: np.ndarray
    low: np.ndarray
    step: np.ndarray
    fitted: int
    code: str = TOKEN_CODE

    @property
    def dims(self) -> int:
        """Dimensions kept (``k``)."""
        return int(self.low.size)

    @property
    def width(self) -> int:
        """Columns of a stored row: one per dimension, or one byte per two for ``uint4``."""
        return self.dims // 2 if self.code == "uint4" else self.dims

    @classmethod
    def fit(cls, vectors: np.ndarray, dims: int | None = TOKEN_DIMS, code: str = TOKEN_CODE,
            seed: int = 0) -> TokenCodec:
        """Fit a codec to (a sample of) ``vectors``.

        Args:
            vectors: (n, dim) float rows, the corpus's word-piece vectors.
            dims: Principal axes to keep; None, ``dim`` or more (or too few vectors to fit
                them, see :data:`FIT_PER_DIM`) keeps every dimension unprojected.
            code: One of :data:`CODES`.
            seed: Of the sample the PCA is fitted on.

        Raises:
            ValueError: for an unknown ``code`` or a ``dims`` below 1.
        """
        vectors = np.asarray(vectors, dtype=np.float32)
        return cls.fit_parts([vectors], vectors.shape[1], dims, code, seed)

    @classmethod
    def fit_parts(cls, parts: Sequence[np.ndarray], dim: int, dims: int | None = TOKEN_DIMS,
                  code: str = TOKEN_CODE, seed: int = 0) -> TokenCodec:
        """:meth:`fit` to the rows of ``parts`` (each (n_i, ``dim``), as a build holds them, one
        passage's pieces each) taken together, without copying them into one array: the codec is
        the one :meth:`fit` makes of their concatenation."""
        if code not in CODES:
            raise ValueError(f"code must be one of {', '.join(CODES)}, got {code!r}")
        n = sum(len(p) for p in parts)
        if dims is not None and dims < 1:
            raise ValueError(f"dims must be at least 1, got {dims}")
        mean, basis = np.zeros(dim, np.float32), np.zeros((0, 0), np.float32)
        if dims is not None and dims < dim and n >= FIT_PER_DIM * dims:
            chosen = np.random.default_rng(seed).choice(n, FIT_SAMPLE, replace=False) if n > FIT_SAMPLE else None
            sample = _rows(parts, dim, chosen)
            mean = sample.mean(axis=0, dtype=np.float64).astype(np.float32)
            centred = sample - mean
            _, axes = np.linalg.eigh((centred.T @ centred).astype(np.float64))  # ascending variance
            basis = np.ascontiguousarray(axes[:, ::-1][:, :dims], dtype=np.float32)
        # Two 4-bit codes to a byte: an odd number of axes gets one more, always 0.
        if code == "uint4" and (basis.shape[1] if basis.size else dim) % 2:
            basis = np.hstack([basis if basis.size else np.eye(dim, dtype=np.float32), np.zeros((dim, 1), np.float32)])
        k = basis.shape[1] if basis.size else dim
        low, step = np.zeros(k, np.float32), np.ones(k, np.float32)
        if code != "float16" and n:
            codec = cls(mean, basis, low, step, int(n), code)
            ranges = [(p.min(axis=0), p.max(axis=0)) for p in map(codec._project, _blocks_of(parts, dim))]
            low = np.min([r[0] for r in ranges], axis=0)
            step = np.maximum(np.max([r[1] for r in ranges], axis=0) - low, 1e-6) / _LEVELS[code]
        return cls(mean, basis, low.astype(np.float32), step.astype(np.float32), int(n), code)

    def _project(self, vectors: np.ndarray) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32)
        return (vectors - self.mean) @ self.basis if self.basis.size else vectors

    def encode(self, vectors: np.ndarray) -> np.ndarray:
        """(n, dim) float rows -> (n, :attr:`width`) codes (values past the fitted range are clipped)."""
        if len(vectors) > _BLOCK:
            return np.concatenate([self.encode(block) for block in _blocks(vectors)])
        scaled = (self._project(vectors) - self.low) / self.step
        if self.code == "float16":
            return scaled.astype(np.float16)
        codes = np.clip(np.rint(scaled), 0, _LEVELS[self.code]).astype(np.uint8)
        return (codes[:, 0::2] << 4) | codes[:, 1::2] if self.code == "uint4" else codes

    def values(self, codes: np.ndarray) -> np.ndarray:
        """Stored codes -> their numbers as float32, one column per kept dimension."""
        if self.code != "uint4":
            return codes.astype(np.float32)
        values = np.empty((len(codes), 2 * codes.shape[1]), np.float32)
        values[:, 0::2] = codes >> 4
        values[:, 1::2] = codes & 15
        return values

    def products(self, codes: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """``values(codes) @ weights.T`` as float32, :data:`PRODUCT_ROWS` codes at a time: a
        block's floats stay in the core's cache, where all the rows' floats at once did not
        (30 reranked passages' 1,085 codes and 6 question pieces: 0.13 against 0.28 ms)."""
        products = np.empty((len(codes), len(weights)), dtype=np.float32)
        for start in range(0, len(codes), PRODUCT_ROWS):
            block = codes[start:start + PRODUCT_ROWS]
            np.matmul(self.values(block), weights.T, out=products[start:start + len(block)])
        return products

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Codes -> (n, dim) float32 rows, as near the encoded vectors as the codec keeps them."""
        values = self.low + self.step * self.values(codes)
        return (values @ self.basis.T + self.mean).astype(np.float32) if self.basis.size else values

    def query(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A question's (float32) piece vectors, ready to meet stored codes: ``weights`` (n, dims)
        and ``offset`` (n,) with ``weights @ values(code) + offset == vector · decode(code)``."""
        vectors = np.asarray(vectors, dtype=np.float32)
        projected = vectors @ self.basis if self.basis.size else vectors
        return projected * self.step, vectors @ self.mean + projected @ self.low

    def arrays(self) -> dict[str, np.ndarray]:
        """The codec as arrays (:meth:`from_arrays` reads them back)."""
        return {"mean": self.mean, "basis": self.basis, "low": self.low, "step": self.step,
                "fitted": np.asarray(self.fitted, dtype=np.int64), "code": np.asarray(self.code)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> TokenCodec:
        """The codec of :meth:`arrays`."""
        return cls(np.asarray(arrays["mean"], np.float32), np.asarray(arrays["basis"], np.float32),
                   np.asarray(arrays["low"], np.float32), np.asarray(arrays["step"], np.float32),
                   int(arrays["fitted"]), str(arrays["code"]))

    def record(self) -> dict[str, object]:
        """The codec as JSON values (for a store that keeps records, not arrays: Qdrant)."""
        return {"code": self.code, "fitted": self.fitted, "basis_shape": list(self.basis.shape),
                **{name: np.asarray(getattr(self, name), np.float32).ravel().tolist()
                   for name in ("mean", "basis", "low", "step")}}

    @classmethod
    def from_record(cls, record: dict[str, object]) -> TokenCodec:
        """The codec of :meth:`record` (float32 values come back exactly)."""
        arrays = {name: np.asarray(record[name], np.float32) for name in ("mean", "basis", "low", "step")}
        arrays["basis"] = arrays["basis"].reshape(record["basis_shape"])  # type: ignore[arg-type]
        return cls(**arrays, fitted=int(record["fitted"]), code=str(record["code"]))  # type: ignore[call-overload]


@dataclass(frozen=True)
class TokenVectors:
    """The content word-piece vectors of every passage of an index, compressed.

    Attributes:
        codes: One row of codes per piece (:attr:`TokenCodec.width` columns), passage after passage.
        first: ``first[i]:first[i + 1]`` are the rows of passage ``i``.
        mean, basis, low, step, fitted, code: The :class:`TokenCodec` the codes were made with.
    """

    codes: np.ndarray
    first: np.ndarray
    mean: np.ndarray
    basis: np.ndarray
    low: np.ndarray
    step: np.ndarray
    fitted: np.ndarray
    code: np.ndarray

    @cached_property
    def codec(self) -> TokenCodec:
        """The codec of :attr:`codes`."""
        return TokenCodec.from_arrays(self.arrays())

    def of(self, row: int) -> np.ndarray:
        """Codes of passage ``row``."""
        return self.codes[int(self.first[row]):int(self.first[row + 1])]

    def vectors_of(self, row: int) -> np.ndarray:
        """Passage ``row``'s piece vectors, decoded (float32)."""
        return self.codec.decode(self.of(row))

    @property
    def nbytes(self) -> int:
        """Bytes of the codes (what grows with the corpus)."""
        return int(self.codes.nbytes + self.first.nbytes)

    @classmethod
    def from_codes(cls, codes: np.ndarray, first: np.ndarray, codec: TokenCodec) -> TokenVectors:
        """Codes made by ``codec`` with their passage boundaries."""
        arrays = codec.arrays()
        return cls(codes=np.ascontiguousarray(codes), first=np.asarray(first, np.int64), **arrays)

    @classmethod
    def fit(cls, parts: list[np.ndarray], dim: int, dims: int | None = TOKEN_DIMS,
            code: str = TOKEN_CODE) -> TokenVectors:
        """Fit a codec to per-passage float matrices (:meth:`TokenCodec.fit`) and encode them."""
        first = offsets([len(p) for p in parts])
        # Block by block, never a float copy of every piece beside the parts themselves: a
        # build holds its passages' float pieces until here, and one copy more doubled its peak.
        codec = TokenCodec.fit_parts(parts, dim, dims, code)
        codes = np.empty((int(first[-1]), codec.width), codec.encode(np.zeros((0, dim), np.float32)).dtype)
        done = 0
        for block in _blocks_of(parts, dim):
            codes[done:done + len(block)] = codec.encode(block)
            done += len(block)
        return cls.from_codes(codes, first, codec)

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays to store (``TokenVectors(**arrays)`` makes it again)."""
        return {"codes": self.codes, "first": self.first, "mean": self.mean, "basis": self.basis,
                "low": self.low, "step": self.step, "fitted": self.fitted, "code": self.code}


def store_pieces(fresh: dict[int, np.ndarray], reused: dict[int, int], count: int,
                 old: TokenVectors | None, dim: int) -> TokenVectors:
    """The word pieces of a build's ``count`` passages, compressed.

    Args:
        fresh: Passage -> its float32 piece vectors, just embedded.
        reused: Passage -> its row in ``old``, whose codes it keeps.
        count: Passages in the build (each in ``fresh`` or ``reused``; one in neither has no pieces).
        old: The previous index's pieces, when an update reuses some.
        dim: The model's dimension.

    An update keeps ``old``'s codec, so reused passages keep their codes unchanged, as long as it
    was fitted on at least half the pieces the index will hold; past that (a corpus that started
    small and grew, or a first build) the codec is fitted again on every piece, the reused ones
    decoded. ``scoqa index build --force`` always fits afresh from the model's vectors.
    """
    sizes = [len(fresh[i]) if i in fresh else len(old.of(reused[i])) if old is not None and i in reused else 0
             for i in range(count)]
    empty = np.zeros((0, dim), np.float32)
    if old is not None and 2 * int(old.fitted) >= sum(sizes):
        codec = old.codec
        first = offsets(sizes)
        blank = np.zeros((0, codec.width), old.codes.dtype)
        codes = [codec.encode(fresh[i]) if i in fresh else old.of(reused[i]) if i in reused else blank
                 for i in range(count)]
        return TokenVectors.from_codes(np.concatenate(codes) if codes else blank, first, codec)
    parts = [fresh[i] if i in fresh else old.vectors_of(reused[i]) if old is not None and i in reused else empty
             for i in range(count)]
    return TokenVectors.fit(parts, dim)


def _blocks_of(parts: Sequence[np.ndarray], dim: int) -> Iterator[np.ndarray]:
    """The rows of ``parts`` in order, as float32 blocks of about :data:`_BLOCK` rows (a part is
    not split unless it is longer than a block)."""
    pending: list[np.ndarray] = []
    size = blocks = 0
    for part in parts:
        for piece in _blocks(np.asarray(part).reshape(-1, dim)):
            pending.append(piece)
            size += len(piece)
            if size >= _BLOCK:
                yield np.concatenate(pending).astype(np.float32, copy=False)
                pending, size, blocks = [], 0, blocks + 1
    if pending or not blocks:
        yield np.concatenate(pending or [np.zeros((0, dim))]).astype(np.float32, copy=False)


def _rows(parts: Sequence[np.ndarray], dim: int, chosen: np.ndarray | None) -> np.ndarray:
    """Rows ``chosen`` (indexes into the rows of all ``parts`` together, in that order), or all
    rows when None, as one float32 array."""
    if chosen is None:
        return np.concatenate([np.asarray(p, np.float32).reshape(-1, dim) for p in parts] or [np.zeros((0, dim))])
    first = offsets([len(p) for p in parts])
    which = np.searchsorted(first, chosen, side="right") - 1
    return np.array([parts[p][r] for p, r in zip(which, chosen - first[which])], dtype=np.float32).reshape(-1, dim)


def _blocks(rows: np.ndarray) -> list[np.ndarray]:
    """``rows`` in slices of :data:`_BLOCK` (views, not copies)."""
    return [rows[start:start + _BLOCK] for start in range(0, len(rows), _BLOCK)] or [rows]
