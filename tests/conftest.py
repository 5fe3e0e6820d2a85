"""Shared fixtures: the real report indexed once per session, and small helpers."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest

from scoqa.config import Settings, environment_without_settings
from scoqa.engine import get_engine
from scoqa.index.build import build_index
from scoqa.index.embed import get_token_counter

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
DATA = Path(__file__).resolve().parent / "data"


def load_jsonl(name: str) -> list[dict]:
    """Read one of the evaluation sets in tests/data."""
    with (DATA / name).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The session's cache folder (``SCOQA_CACHE``): the model is exported to ONNX once per
    session, there, and every test and child process reuses that export."""
    folder = tmp_path_factory.mktemp("scoqa-cache")
    before = os.environ.get("SCOQA_CACHE")
    os.environ["SCOQA_CACHE"] = str(folder)
    yield folder
    if before is None:
        del os.environ["SCOQA_CACHE"]
    else:
        os.environ["SCOQA_CACHE"] = before


@pytest.fixture(autouse=True)
def _clean_scoqa_env(monkeypatch: pytest.MonkeyPatch, model_cache: Path) -> None:
    """Tests never depend on the caller's SCOQA_* settings (the session's cache folder aside)."""
    for name in list(os.environ):
        if name.startswith("SCOQA_") and name != "SCOQA_CACHE":
            monkeypatch.delenv(name)
    monkeypatch.setenv("SCOQA_CACHE", str(model_cache))


@pytest.fixture(scope="session")
def report_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose index holds the real report, built once into a temporary folder."""
    settings = Settings(corpus_dir=CORPUS, index_dir=tmp_path_factory.mktemp("report") / "index")
    build_index(settings)
    return settings


@pytest.fixture(scope="session")
def engine(report_settings: Settings):  # type: ignore[no-untyped-def]
    """The shared engine over the real report."""
    return get_engine(report_settings)


@pytest.fixture(scope="session")
def count_tokens():  # type: ignore[no-untyped-def]
    """The default model's word-piece counter."""
    return get_token_counter()


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_app(settings: Settings, workdir: Path, extra_env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """``python app.py --port N`` serving ``settings``' corpus and index; yields its URL, stops it after."""
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    env = environment_without_settings()
    env.update(SCOQA_CORPUS=str(settings.corpus_dir), SCOQA_INDEX=str(settings.index_dir),
               GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
    env.update(extra_env or {})
    log = (workdir / "app.log").open("w", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port)],
                            cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(f"app.py exited with {proc.returncode}:\n{(workdir / 'app.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"app.py did not answer at {url} within 180 s:\n{(workdir / 'app.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()


@pytest.fixture(scope="session")
def app_url(report_settings: Settings, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """``python app.py --port N`` serving the real report's index; stopped at the end of the session."""
    with running_app(report_settings, tmp_path_factory.mktemp("app")) as url:
        yield url


@pytest.fixture(scope="session")
def app_module():  # type: ignore[no-untyped-def]
    """The chat app's module (``app.py`` at the repository root only launches it)."""
    from scoqa.interfaces import app

    return app


DEVCORPUS = DATA / "devcorpus"


@pytest.fixture(scope="session")
def devcorpus_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose index holds the five real documents of ``tests/data/devcorpus`` (two CRS
    PDFs, Markdown, HTML, Gutenberg text), built once per session into a temporary folder."""
    settings = Settings(corpus_dir=DEVCORPUS / "docs", index_dir=tmp_path_factory.mktemp("devcorpus") / "index")
    build_index(settings)
    return settings
