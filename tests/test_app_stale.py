"""A running app notices a changed corpus by itself, at its default interval, and answers from it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from scoqa.index.build import build_index
from scoqa.tools.evaluate import holds_answer

from .conftest import running_app
from .index_helpers import make_settings, write


@pytest.mark.timeout(240)
def test_an_added_document_is_answered_without_a_restart(tmp_path: Path) -> None:
    from gradio_client import Client

    settings = make_settings(tmp_path)
    build_index(settings)
    question = "Which river did the expedition cross at Ferghana?"
    with running_app(settings, tmp_path) as url:
        client = Client(url, verbose=False)
        before = client.predict(question, [], None, api_name="/ask")
        assert not holds_answer(before["text"], ["Syr Darya"])
        write(settings.corpus_dir, "expedition.md",
              "# Expedition\n\nThe expedition crossed the Syr Darya river at Ferghana in the spring.\n")
        # The app looks at the corpus at most every 3 seconds (Engine.corpus_check_interval), then
        # updates the index (SCOQA_AUTO_UPDATE is on in the app): poll, never sleep a fixed time.
        deadline = time.monotonic() + 60
        while True:
            reply = client.predict(question, [], None, api_name="/ask")
            if holds_answer(reply["text"], ["Syr Darya"]):
                break
            assert time.monotonic() < deadline, reply
            time.sleep(0.5)
        assert reply["answered"] and reply["sources"][0]["source"] == "expedition.md"
