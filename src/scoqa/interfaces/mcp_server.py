"""scoqa as a tool for other assistants: ``scoqa mcp`` serves the corpus over the Model Context Protocol.

Built on the official ``mcp`` Python SDK (:class:`mcp.server.mcpserver.MCPServer`). Three tools:

* ``search(query, k, sources)``: the passages that best match, each with its citation;
* ``ask(question, history, sources)``: a short answer quoted from the documents with ``[n]``
  markers, its numbered sources (citation, passage, the quoted sentences) and whether the
  documents answer it at all;
* ``documents()``: the indexed documents with their passages, for the ``sources`` argument.

The transport is stdio by default (a desktop or IDE client starts ``scoqa mcp`` itself), or
Streamable HTTP on 127.0.0.1 with ``--transport http``. Over stdio the standard output carries
the protocol alone: every log line and progress bar goes to the standard error, and the model
and index are loaded before the first message so that no first call waits on them unannounced.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from typing_extensions import TypedDict

from .. import __version__
from ..api import ask as ask_documents
from ..config import Settings
from ..engine import get_engine
from ..index.backend import open_backend

#: The HTTP transport's default port (the chat app's is 7860).
DEFAULT_PORT = 7861
TRANSPORTS = ("stdio", "http")
INSTRUCTIONS = (
    "scoqa answers questions about a fixed set of local documents (reports, manuals, policies). "
    "Use `ask` for a short answer quoted from them with numbered citations, `search` for the "
    "passages themselves, and `documents` to see what is indexed. Quote the citations when you use "
    "an answer; when `answered` is false the documents do not cover the question."
)
READ_ONLY = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False)


class Cited(TypedDict):
    """A passage and where it comes from."""

    citation: str
    text: str
    source: str
    section: str
    page: int | None
    line_start: int
    line_end: int


class Passage(Cited):
    """A passage found by ``search``."""

    rank: int
    score: float


class Source(Cited):
    """One numbered source of an answer: marker ``[n]`` refers to it; ``quotes`` are the sentences
    the answer takes from it."""

    n: int
    quotes: list[str]


def _cited(hit: Any) -> Cited:
    return Cited(citation=hit.citation, text=hit.text, source=hit.source, section=hit.section, page=hit.page,
                 line_start=hit.line_start, line_end=hit.line_end)


class Answer(TypedDict):
    """What ``ask`` returns."""

    text: str
    answered: bool
    sources: list[Source]


class Document(TypedDict):
    """An indexed document."""

    source: str
    title: str
    passages: int


class Turn(TypedDict):
    """An earlier turn of the conversation."""

    role: str
    content: str


def _answer(reply: Any) -> Answer:
    """The answer and its sources, each with the sentences quoted from it as text."""
    sources = [Source(**_cited(hit), n=n, quotes=[hit.text[q.start:q.end] for q in reply.quotes if q.source == n - 1])
               for n, hit in enumerate(reply.sources, start=1)]
    return Answer(text=reply.text, answered=reply.answered, sources=sources)


def build_server(settings: Settings) -> MCPServer:
    """The MCP server over the index that ``settings`` describe (engine shared with the process)."""
    server = MCPServer(name="scoqa", title="scoqa — ask your documents", version=__version__,
                       instructions=INSTRUCTIONS)

    @server.tool(annotations=READ_ONLY)
    def search(query: str, k: int = 5, sources: list[str] | None = None) -> list[Passage]:
        """Find the passages of the documents that best match a question or keywords, best first.

        Args:
            query: A question or keywords.
            k: How many passages (1-20).
            sources: Only these documents (names as `documents` lists them, file names or folders).
        """
        if not 1 <= k <= 20:
            raise ToolError(f"k must be between 1 and 20, got {k}")
        try:
            hits = get_engine(settings).retrieve(query, k, sources=sources or None)
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        return [Passage(**_cited(hit), rank=rank, score=round(hit.score, 4)) for rank, hit in enumerate(hits, start=1)]

    @server.tool(annotations=READ_ONLY)
    def ask(question: str, history: list[Turn] | None = None, sources: list[str] | None = None) -> Answer:
        """Answer a question from the documents with sentences quoted from them.

        The answer carries [n] markers; sources[n-1] is the passage it quotes, with its citation
        (file, section, page or lines). answered is false when the documents do not cover the
        question: the sources are then only possibly related.

        Args:
            question: The question.
            history: Earlier turns ({"role": "user"|"assistant", "content": ...}), for follow-ups
                such as "When did it happen?".
            sources: Only these documents (names as `documents` lists them).
        """
        try:
            reply = ask_documents(question, [dict(t) for t in history or []], sources=sources or None,
                                  settings=settings)
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        return _answer(reply)

    @server.tool(annotations=READ_ONLY)
    def documents() -> list[Document]:
        """The indexed documents: their names (for the `sources` argument), titles and passages."""
        get_engine(settings).searcher()  # the index as the other tools see it, updated if stale
        manifest = open_backend(settings).read_manifest()
        titles = manifest.get("titles") or {}
        return [Document(source=name, title=titles.get(name, ""), passages=count)
                for name, count in sorted((manifest.get("passages") or {}).items())]

    return server


def serve(settings: Settings, transport: str = "stdio", host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
    """Load the model and index, then serve the tools until the client goes (stdio) or Ctrl+C (HTTP)."""
    if transport not in TRANSPORTS:
        raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, got {transport!r}")
    get_engine(settings).searcher()  # build or load now: errors surface before the client connects
    server = build_server(settings)
    if transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host=host, port=port)
