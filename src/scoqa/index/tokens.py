"""Content word pieces: which pieces of a text count, and the vectors of a passage's pieces.

Late interaction (:mod:`scoqa.search.rerank`) matches each content word piece of a question with
the closest piece of a passage. Which pieces carry content is decided here; the embedder keeps
their vectors from the same forward pass as the sentence vector
(:meth:`scoqa.index.embed.Embedder.encode_with_tokens`), and the build stores each passage's
pieces with the index (:class:`TokenVectors`, float16 on disk).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..text import function_words

#: Words that frame a question about a document rather than ask about its topic: every
#: question here is about "the report" and what it "says", so matching those words in a
#: passage ("reportedly") is noise. Dropped from the question only.
FRAMING_WORDS = frozenset({
    "report", "reports", "say", "says", "said", "mention", "mentions", "mentioned", "according",
    "describe", "describes", "described", "tell", "tells", "list", "listed", "author",
})


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
class TokenVectors:
    """The content word-piece vectors of every passage of an index.

    Attributes:
        vectors: Normalised float32 rows, passage after passage.
        first: ``first[i]:first[i + 1]`` are the rows of passage ``i``.
    """

    vectors: np.ndarray
    first: np.ndarray

    def of(self, row: int) -> np.ndarray:
        """Rows of passage ``row``."""
        return self.vectors[int(self.first[row]):int(self.first[row + 1])]

    @classmethod
    def join(cls, parts: list[np.ndarray], dim: int) -> TokenVectors:
        """Stack per-passage matrices (in passage order)."""
        first = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in parts], out=first[1:])
        vectors = np.concatenate(parts).astype(np.float32, copy=False) if parts and first[-1] else np.zeros((0, dim), np.float32)
        return cls(vectors=np.ascontiguousarray(vectors), first=first)

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays to store (``TokenVectors(**arrays)`` makes it again)."""
        return {"vectors": self.vectors, "first": self.first}
