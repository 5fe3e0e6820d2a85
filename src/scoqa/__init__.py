"""scoqa: ask questions about the documents in ``corpus/`` and get cited passages.

The public API is small::

    from scoqa import retrieve
    hits = retrieve("When was the SCO founded?", k=5)
    hits[0].text, hits[0].score, hits[0].citation

    from scoqa import ask
    reply = ask("How many people died in Beslan?")
    reply.text, reply.sources, reply.answered
"""

from __future__ import annotations

__version__ = "0.1.0"

from .api import ask, build_index, index_status, retrieve, update_index  # noqa: E402
from .config import Settings  # noqa: E402
from .qa.answer import Quote, Reply  # noqa: E402
from .search.searcher import Hit  # noqa: E402

__all__ = [
    "Hit", "Quote", "Reply", "Settings", "__version__", "ask", "build_index", "index_status", "retrieve",
    "update_index",
]
