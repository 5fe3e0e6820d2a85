"""``scoqa mcp`` driven by the official MCP SDK's own client, the server in a subprocess."""

from __future__ import annotations

import subprocess
import sys
import time

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from scoqa.config import Settings, environment_without_settings
from scoqa.index.build import build_index

from .conftest import ROOT, free_port
from .index_helpers import make_settings

QUESTION = "Where is the Regional Anti-Terrorist Structure located?"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The three tiny documents, indexed, and a file that cannot be read beside them."""
    settings = make_settings(tmp_path_factory.mktemp("mcp"))
    (settings.corpus_dir / "broken.pdf").write_bytes(b"%PDF-1.4 cut short")
    build_index(settings)
    return settings


def command(settings: Settings, *extra: str) -> list[str]:
    return ["-m", "scoqa.interfaces.cli", "--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir),
            "mcp", *extra]


async def exercise(client: Client) -> None:
    """What every transport must do: list the tools, search, answer with citations, refuse politely."""
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == {"search", "ask", "documents"}
    assert "question" in tools["ask"].input_schema["properties"] and tools["ask"].annotations.read_only_hint

    listed = await client.call_tool("documents", {})
    assert [d["source"] for d in listed.structured_content["result"]] == ["alpha.md", "beta.md", "gamma.txt"]

    answer = await client.call_tool("ask", {"question": QUESTION})
    assert not answer.is_error
    reply = answer.structured_content
    assert reply["answered"] and "Tashkent" in reply["text"] and "[1]" in reply["text"]
    first = reply["sources"][0]
    assert first["n"] == 1 and first["source"] == "alpha.md" and first["citation"].startswith("alpha.md")
    assert any("Tashkent" in quote for quote in first["quotes"])
    assert "Tashkent" in answer.content[0].text  # the same, as text, for clients that read only that

    follow_up = await client.call_tool("ask", {"question": "When did it take place?", "history": [
        {"role": "user", "content": "Which exercise was held in Chelyabinsk?"},
        {"role": "assistant", "content": "Peace Mission 2007 [1]"}]})
    assert follow_up.structured_content["sources"][0]["source"] == "beta.md"

    found = await client.call_tool("search", {"query": "Beslan school siege", "k": 2})
    passages = found.structured_content["result"]
    assert passages[0]["source"] == "gamma.txt" and passages[0]["rank"] == 1 and len(passages) == 2

    scoped = await client.call_tool("search", {"query": QUESTION, "k": 1, "sources": ["beta.md"]})
    assert scoped.structured_content["result"][0]["source"] == "beta.md"

    empty = await client.call_tool("ask", {"question": "  "})
    assert empty.is_error and "empty" in empty.content[0].text
    unknown = await client.call_tool("search", {"query": "x", "sources": ["nope.pdf"]})
    assert unknown.is_error and "nope.pdf" in unknown.content[0].text


@pytest.mark.timeout(300)
def test_stdio_client_lists_the_tools_and_gets_a_cited_answer(corpus: Settings, tmp_path) -> None:
    errors = (tmp_path / "stderr.log").open("w+", encoding="utf-8")
    server = StdioServerParameters(command=sys.executable, args=command(corpus), cwd=str(tmp_path),
                                   env=environment_without_settings())

    async def run() -> None:  # the server's stderr kept apart: the skipped-file line goes there, never to stdout
        async with Client(stdio_client(server, errlog=errors), read_timeout_seconds=240) as client:
            await exercise(client)

    anyio.run(run)
    errors.seek(0)
    log = errors.read()
    assert "1 file skipped — `scoqa index status` lists them" in log
    assert "broken.pdf" not in log


def port_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.timeout(300)
def test_streamable_http_serves_the_same_tools(corpus: Settings, tmp_path) -> None:
    port = free_port()
    log = (tmp_path / "server.log").open("w", encoding="utf-8")
    process = subprocess.Popen([sys.executable, *command(corpus, "--transport", "http", "--port", str(port))],
                               cwd=ROOT, env=environment_without_settings(), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while not port_open(port):  # the model and index load before the server listens
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.5)

        async def run() -> None:
            async with Client(f"http://127.0.0.1:{port}/mcp", read_timeout_seconds=240) as client:
                await exercise(client)

        anyio.run(run)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
