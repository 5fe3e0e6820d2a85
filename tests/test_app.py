"""The chat app without a browser: rendering, follow-up plumbing, options, and the app end to end
through gradio_client (one question, a follow-up with history, ten clients at once)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from scoqa.config import Settings
from scoqa.index.status import IndexStatus
from scoqa.interfaces.html import (
    as_text,
    clean_history,
    highlight,
    reply_messages,
    reply_to_dict,
    status_html,
)
from scoqa.qa.answer import Quote, Reply
from scoqa.search.searcher import Hit
from scoqa.tools.evaluate import holds_answer

XSS = "<img src=x onerror=alert(1)>"


def _hit(text: str, citation: str = "report.txt, “Attacks”, line 98") -> Hit:
    return Hit(text=text, score=1.0, citation=citation, source="report.txt", section="Attacks", page=None,
               line_start=98, line_end=98, chunk_id="c1")


def _reply(answered: bool = True) -> Reply:
    text = "Beslan, Russia: 300 dead, half of them children"
    source = _hit(f"September 2004. {text}. Other *markdown* and {XSS}.")
    start = source.text.index(text)
    return Reply(f"{text} [1]" if answered else "The report does not say.", [source], answered,
                 "How many died?", "How many died?", [Quote(0, start, start + len(text))])


# -- rendering ---------------------------------------------------------------------------------
def test_as_text_neutralises_html_and_markdown() -> None:
    out = as_text(f"{XSS} **bold** [1](javascript:x) $x$ & 'q'")
    assert "<" not in out and ">" not in out
    assert "&lt;img src=x onerror=alert\\(1\\)&gt;" in out
    assert "\\*\\*bold\\*\\*" in out and "\\[1\\]\\(javascript:x\\)" in out and "\\$x\\$" in out
    assert "&amp;" in out and "&#x27;q&#x27;" in out


def test_highlight_marks_spans_and_escapes_the_rest() -> None:
    text = "First <b>sentence</b>. Second one."
    out = highlight(text, [(text.index("Second"), len(text)), (500, 600)])
    assert out.endswith('<mark class="scoqa-quote">Second one\\.</mark>')
    assert "&lt;b&gt;sentence&lt;/b&gt;" in out and "<b>" not in out


def test_reply_messages_show_markers_sources_and_highlight() -> None:
    answer, source = reply_messages(_reply())
    assert '<sup class="scoqa-cite">[1]</sup>' in answer["content"] and "300 dead" in answer["content"]
    assert source["metadata"] == {"title": "[1] report\\.txt, “Attacks”, line 98", "status": "done"}
    assert '<mark class="scoqa-quote">Beslan, Russia: 300 dead, half of them children</mark>' in source["content"]
    assert XSS not in source["content"] and "&lt;img" in source["content"]
    assert "\\*markdown\\*" in source["content"]


def test_unanswered_reply_looks_different() -> None:
    answer, source = reply_messages(_reply(answered=False))
    assert "Not in the documents" in answer["content"] and "scoqa-miss" in answer["content"]
    assert "scoqa-cite" not in answer["content"]
    assert source["metadata"]["title"].startswith("Possibly related · ")


def test_list_entry_shows_its_date_and_lead_in() -> None:
    hit = Hit(text="Beslan, Russia: 300 dead", score=1.0, citation="c", source="r.txt", section="Attacks", page=None,
              line_start=1, line_end=1, chunk_id="c1", kind="item", lead_in="Attacks <listed> below:",
              date="September 2004")
    content = reply_messages(Reply("x [1]", [hit], True, "q", "q", [Quote(0, 0, 6)]))[1]["content"]
    assert '<strong class="scoqa-date">September 2004</strong>' in content
    assert "Attacks &lt;listed&gt; below:" in content and '<mark class="scoqa-quote">Beslan</mark>' in content


def test_uncited_sources_are_titled_related() -> None:
    reply = Reply("Answer [2]", [_hit("a"), _hit("b")], True, "q", "q", [])
    titles = [m["metadata"]["title"] for m in reply_messages(reply)[1:]]
    assert titles[0].startswith("Related · ") and titles[1].startswith("[2] ")


def test_marker_without_a_source_stays_text() -> None:
    reply = Reply("Text [1] and [7]", [_hit("Text")], True, "q", "q", [])
    content = reply_messages(reply)[0]["content"]
    assert content.count("scoqa-cite") == 1 and "\\[7\\]" in content


def test_clean_history_keeps_only_question_and_answer_turns() -> None:
    chat = [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1 [1]"},
        {"role": "assistant", "content": "passage", "metadata": {"title": "[1] cite"}},
        {"role": "system", "content": "x"},
        "junk",
        {"role": "user", "content": None},
    ]
    assert clean_history(chat) == [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1 [1]"}]


def test_reply_to_dict_is_json_ready() -> None:
    data = reply_to_dict(_reply())
    assert data["answered"] is True and data["sources"][0]["n"] == 1
    start, end = data["sources"][0]["quotes"][0]
    assert data["sources"][0]["text"][start:end] == "Beslan, Russia: 300 dead, half of them children"


def test_status_panel_shows_counts_and_changes_escaped() -> None:
    current = IndexStatus(True, False, chunks=102, files=1, model="all-MiniLM-L6-v2", built_at="2026-11-29T12:52:00+00:00")
    out = status_html(current)
    assert "Up to date" in out and ">102<" in out and "all-MiniLM-L6-v2" in out and "2026-11-29 12:52 UTC" in out
    stale = IndexStatus(True, True, changed=[f"{XSS}.txt"], chunks=3, files=1)
    out = status_html(stale)
    assert "Sources changed" in out and XSS not in out and "&lt;img src=x" in out
    assert "Not built" in status_html(IndexStatus(False, True, added=["a.txt"]))


# -- app plumbing ------------------------------------------------------------------------------
def test_options_default_to_localhost_without_share(app_module, monkeypatch: pytest.MonkeyPatch) -> None:
    args = app_module.parse_args([])
    assert (args.host, args.port, args.share) == ("127.0.0.1", 7860, False)
    monkeypatch.setenv("SCOQA_HOST", "127.0.0.2")
    monkeypatch.setenv("SCOQA_PORT", "7999")
    args = app_module.parse_args([])
    assert (args.host, args.port) == ("127.0.0.2", 7999)
    assert app_module.parse_args(["--port", "8001", "--share"]).share is True


def test_auto_update_is_on_unless_switched_off(app_module, monkeypatch: pytest.MonkeyPatch) -> None:
    assert app_module.app_settings().auto_update is True
    monkeypatch.setenv("SCOQA_AUTO_UPDATE", "0")
    assert app_module.app_settings().auto_update is False


def test_follow_up_gets_the_clean_history(app_module, monkeypatch: pytest.MonkeyPatch) -> None:
    """The chat passes ask() the earlier questions and answer texts, never the source blocks."""
    seen: list[list[dict]] = []

    def fake_ask(question, history=None, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(list(history or []))
        return _reply()

    monkeypatch.setattr(app_module, "ask", fake_ask)
    chat, history = app_module.answer_turn("How many died?", [{"role": "user", "content": "How many died?"}], [],
                                           Settings())
    assert len(chat) == 3 and chat[2]["metadata"]["title"].startswith("[1]")
    chat, history = app_module.answer_turn("When?", [*chat, {"role": "user", "content": "When?"}], history,
                                           Settings())
    assert seen[1] == [{"role": "user", "content": "How many died?"},
                       {"role": "assistant", "content": "Beslan, Russia: 300 dead, half of them children [1]"}]
    assert len(history) == 4 and len(chat) == 6


def test_a_failure_is_a_message_not_a_traceback(app_module, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_ask(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the index folder is unreadable")

    monkeypatch.setattr(app_module, "ask", broken_ask)
    chat, history = app_module.answer_turn("q", [], [], Settings())
    assert history == [] and "Could not answer: the index folder is unreadable" in chat[-1]["content"]
    assert "Traceback" not in chat[-1]["content"]


# -- end to end through gradio_client ----------------------------------------------------------
@pytest.fixture(scope="module")
def client(app_url: str):  # type: ignore[no-untyped-def]
    from gradio_client import Client

    return Client(app_url, verbose=False)


@pytest.mark.timeout(120)
def test_client_gets_a_cited_answer_and_a_follow_up(client) -> None:  # type: ignore[no-untyped-def]
    question = "How many people died in Beslan?"
    reply = client.predict(question, [], api_name="/ask")
    assert reply["answered"] is True and holds_answer(reply["text"], ["300 dead"]) and "[1]" in reply["text"]
    first = reply["sources"][0]
    assert "report.txt" in first["citation"] and "line" in first["citation"]
    start, end = first["quotes"][0]
    assert "300 dead" in first["text"][start:end]

    history = [{"role": "user", "content": question}, {"role": "assistant", "content": reply["text"]}]
    follow_up = client.predict("When did it happen?", history, api_name="/ask")
    assert follow_up["answered"] is True and "September 2004" in follow_up["text"]
    assert follow_up["sources"] and all(s["citation"] for s in follow_up["sources"])
    assert "[1]" in follow_up["text"]
    without_history = client.predict("When did it happen?", [], api_name="/ask")
    assert "September 2004" not in without_history["text"]  # the history is what made the difference


@pytest.mark.timeout(60)
def test_client_out_of_scope_question_is_not_answered(client) -> None:  # type: ignore[no-untyped-def]
    reply = client.predict("What is the capital of France?", [], api_name="/ask")
    assert reply["answered"] is False and "[1]" not in reply["text"]


@pytest.mark.timeout(60)
def test_client_empty_question_is_an_error_message(client) -> None:  # type: ignore[no-untyped-def]
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="Type a question"):
        client.predict("   ", [], api_name="/ask")


#: Each answer is verbatim in the report and specific to its entry: none is in another question's reply.
KNOWN = {
    "When was the SCO founded?": "founded in June 2001",
    "How many people died in Beslan?": "300 dead",
    "What happened in Andijan in May 2005?": "187 killed",
    "How many people were killed in the Urumqi riots?": "200 killed",
    "What kind of attack hit Kashgar in August 2008?": "car explosion",
    "How many died in the 2002 hostage hijacking in Moscow?": "hijacking, 90 dead",
    "How many were killed when bombers struck Moscow in March 2010?": "bombers strike, 41 dead",
    "When did Turkey join?": "Turkey joined in June 2012",
    "How many people died in the stadium explosion in Chechnya?": "stadium blast, 7 dead",
    "How many people were wounded in the July 2011 attack in Kashgar?": "40 wounded",
}


@pytest.mark.timeout(180)
def test_ten_clients_at_once_all_get_their_answers(app_url: str) -> None:
    from gradio_client import Client

    def one(question: str) -> dict:
        return Client(app_url, verbose=False).predict(question, [], api_name="/ask")

    with ThreadPoolExecutor(max_workers=len(KNOWN)) as pool:
        replies = dict(zip(KNOWN, pool.map(one, KNOWN)))
    for question, expected in KNOWN.items():
        assert replies[question]["question"] == question
        assert holds_answer(replies[question]["text"], [expected]), (question, replies[question]["text"])
        assert replies[question]["sources"]
        # Specific to its entry: no reply to another question holds it.
        assert not [q for q in KNOWN if q != question and holds_answer(replies[q]["text"], [expected])], expected


@pytest.mark.timeout(180)
def test_at_most_four_questions_are_answered_at_once(app_module, monkeypatch, report_settings) -> None:
    """The model and index are shared and CPU-bound: the queue answers CONCURRENCY (4) at a time."""
    import threading
    import time

    from gradio_client import Client

    from .conftest import free_port

    lock = threading.Lock()
    state = {"active": 0, "peak": 0}

    def slow_ask(question, history=None, **kwargs):  # type: ignore[no-untyped-def]
        with lock:
            state["active"] += 1
            state["peak"] = max(state["peak"], state["active"])
        time.sleep(1.0)
        with lock:
            state["active"] -= 1
        return _reply()

    monkeypatch.setattr(app_module, "ask", slow_ask)
    demo = app_module.build_app(report_settings)
    port = free_port()
    app_module.launch(demo, port=port, prevent_thread_lock=True, quiet=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        with ThreadPoolExecutor(max_workers=8) as pool:
            replies = list(pool.map(lambda n: Client(url, verbose=False).predict(f"question {n}", [], api_name="/ask"),
                                    range(8)))
    finally:
        demo.close()
    assert all(r["answered"] for r in replies)
    assert state["peak"] == app_module.CONCURRENCY == 4
