"""The scoqa command line, run as a user would: in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

from scoqa.config import Settings, environment_without_settings

from .conftest import ROOT


def scoqa(*args: str, settings: Settings | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = environment_without_settings()
    if settings is not None:
        environ |= {"SCOQA_CORPUS": str(settings.corpus_dir), "SCOQA_INDEX": str(settings.index_dir)}
    environ |= env or {}
    return subprocess.run([sys.executable, "-m", "scoqa.interfaces.cli", *args], capture_output=True, text=True,
                          env=environ, cwd=ROOT, timeout=600)


def test_search_shows_the_founding_passage_first_with_its_citation(report_settings) -> None:
    result = scoqa("search", "When was the SCO founded?", "-k", "3", settings=report_settings)
    assert result.returncode == 0, result.stderr
    first = result.stdout.split("\n\n")[0]
    assert first.startswith("1. [") and "sco-counter-terrorism-cooperation-report.txt" in first
    assert "June 2001" in first
    assert "3. [" in result.stdout


def test_search_json(report_settings) -> None:
    result = scoqa("search", "Where is RATS located?", "--json", "-k", "2", settings=report_settings)
    hits = json.loads(result.stdout)
    assert len(hits) == 2 and {"text", "score", "citation", "source", "line_start"} <= set(hits[0])


def test_index_status_and_build_are_up_to_date(report_settings) -> None:
    status = json.loads(scoqa("index", "status", "--json", settings=report_settings).stdout)
    assert status["stale"] is False and status["chunks"] > 50
    assert status["added"] == status["changed"] == status["removed"] == []
    built = scoqa("index", "build", settings=report_settings)
    assert built.returncode == 0 and "up to date" in built.stdout


def test_folder_options_override_the_environment(report_settings, tmp_path) -> None:
    result = scoqa("--corpus", str(report_settings.corpus_dir), "--index", str(report_settings.index_dir),
                   "index", "status", env={"SCOQA_INDEX": str(tmp_path / "elsewhere")})
    assert result.returncode == 0 and "up to date" in result.stdout


def test_errors_are_one_sentence_not_a_traceback(report_settings, tmp_path) -> None:
    empty = scoqa("search", "   ", settings=report_settings)
    assert empty.returncode == 2 and "query is empty" in empty.stderr
    missing = scoqa("--corpus", str(tmp_path / "nope"), "index", "status")
    assert missing.returncode == 2 and "corpus folder" in missing.stderr and "does not exist" in missing.stderr
    bad_k = scoqa("search", "x", "-k", "0", settings=report_settings)
    assert bad_k.returncode == 2 and "must be >= 1" in bad_k.stderr
    for result in (empty, missing, bad_k):
        assert "Traceback" not in result.stderr


def test_ask_prints_the_answer_and_its_numbered_sources(report_settings) -> None:
    result = scoqa("ask", "How many people died in Beslan?", settings=report_settings)
    assert result.returncode == 0, result.stderr
    answer, sources = result.stdout.split("\n\nSources:\n")
    assert answer == "In September 2004, Beslan, Russia: 300 dead, half of them children [1]"
    assert sources.startswith("[1] sco-counter-terrorism-cooperation-report.txt")


def test_ask_says_when_the_report_does_not_cover_it(report_settings) -> None:
    result = scoqa("ask", "What is the capital of France?", settings=report_settings)
    assert result.returncode == 0 and "does not seem to cover" in result.stdout
    assert "Possibly related:" in result.stdout


def test_chat_keeps_the_conversation(report_settings) -> None:
    environ = environment_without_settings()
    environ |= {"SCOQA_CORPUS": str(report_settings.corpus_dir), "SCOQA_INDEX": str(report_settings.index_dir)}
    result = subprocess.run([sys.executable, "-m", "scoqa.interfaces.cli", "chat"], input="Which exercise was held in Zhambyl?\n"
                            "When did it take place?\nquit\n", capture_output=True, text=True, env=environ,
                            cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.split("you> ")[1:3]
    assert "Peace Mission-2010" in first
    assert "September 9–25, 2010" in second


def test_eval_prints_the_comparison_table(report_settings, tmp_path) -> None:
    gold = [{"question": "When was the SCO founded?", "answers": ["June 2001"]},
            {"question": "How many people died in Beslan?", "answers": ["300 dead"]}]
    (tmp_path / "gold_retrieval.jsonl").write_text("\n".join(json.dumps(g) for g in gold), encoding="utf-8")
    result = scoqa("eval", "--data", str(tmp_path), "--retrieval-only", "--json", settings=report_settings)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [r["mode"] for r in report["retrieval"]] == ["hybrid", "fusion", "dense", "bm25"]
    assert report["retrieval"][0]["recall_at_1"] == 1.0 and report["query_embedding_p50_ms"] > 0
    table = scoqa("eval", "--data", str(tmp_path), "--retrieval-only", settings=report_settings)
    assert "recall@1" in table.stdout and "MRR@10" in table.stdout and "hybrid" in table.stdout
    missing = scoqa("eval", "--data", str(tmp_path / "none"), settings=report_settings)
    assert missing.returncode == 2 and "pass --data DIR" in missing.stderr


def test_serve_starts_the_app_over_the_command_line_settings(report_settings, tmp_path) -> None:
    import urllib.request

    from .conftest import free_port

    port = free_port()
    environ = environment_without_settings() | {"GRADIO_ANALYTICS_ENABLED": "False"}
    process = subprocess.Popen(
        [sys.executable, "-m", "scoqa.interfaces.cli", "--corpus", str(report_settings.corpus_dir), "--index",
         str(report_settings.index_dir), "serve", "--port", str(port)],
        cwd=tmp_path, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # printed once the app is up
        assert first.startswith(f"scoqa chat: http://127.0.0.1:{port}"), first + process.stdout.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
            assert response.status == 200 and "scoqa" in response.read().decode()
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_serve_updates_a_stale_index_as_the_app_does_unless_told_not_to(monkeypatch) -> None:
    from scoqa.interfaces.cli import _settings, build_parser

    assert _settings(build_parser().parse_args(["serve"])).auto_update is True
    assert _settings(build_parser().parse_args(["search", "x"])).auto_update is False
    monkeypatch.setenv("SCOQA_AUTO_UPDATE", "0")
    assert _settings(build_parser().parse_args(["serve"])).auto_update is False
