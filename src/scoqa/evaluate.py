"""``scoqa eval``: retrieval and answer quality on gold sets, with latency.

Retrieval is scored with ranx: a passage is relevant when it contains one of the question's
answer substrings; ``recall@k`` is the share of questions with a relevant passage in the top k
(ranx's ``hit_rate@k``) and ``MRR@10`` the mean reciprocal rank of the first one. The full
pipeline is compared with dense-only and BM25-only search on the same passages, next to the
time it takes only to embed the query (the floor of any dense retrieval).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .api import Engine
from .answer import Answerer, Reply

DEFAULT_DATA = Path("tests") / "data"
RETRIEVAL_SET = "gold_retrieval.jsonl"
ANSWER_SET = "answers.jsonl"
CONVERSATION_SET = "conversations.jsonl"
UNANSWERABLE_SET = "unanswerable.jsonl"
METRICS = ("hit_rate@1", "hit_rate@3", "hit_rate@5", "mrr@10")


@dataclass(frozen=True)
class RetrievalScores:
    """Retrieval quality and latency of one search mode."""

    mode: str
    recall_at_1: float
    recall_at_3: float
    recall_at_5: float
    mrr_at_10: float
    p50_ms: float
    misses_at_3: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AnswerScores:
    """Answer quality on the answer, conversation and unanswerable sets."""

    answer_accuracy: float
    answers: int
    followup_accuracy: float
    conversations: int
    abstention: float
    unanswerable: int
    answered_rate: float
    ask_p50_ms: float
    failures: list[str] = field(default_factory=list)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Read a JSON-lines evaluation set.

    Raises:
        FileNotFoundError: naming the file and the option to pass.
    """
    if not path.is_file():
        raise FileNotFoundError(f"evaluation set {str(path)!r} not found: pass --data DIR with {path.name} in it")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _p50_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2) if samples else 0.0


def evaluate_retrieval(engine: Engine, gold: list[dict[str, Any]], modes: tuple[str, ...] = ("hybrid", "fusion", "dense", "bm25"),
                       k: int = 10) -> tuple[list[RetrievalScores], float]:
    """Score each search mode on ``gold``; also return the query-embedding p50 in ms."""
    from ranx import Qrels, Run, evaluate

    searcher = engine.searcher()
    chunks = searcher.index.chunks
    qrels: dict[str, dict[str, int]] = {}
    for n, item in enumerate(gold):
        relevant = {c.id: 1 for c in chunks if any(a in c.text for a in item["answers"])}
        if not relevant:
            raise ValueError(f"no passage contains the answer of gold question {item['question']!r}: fix the set")
        qrels[f"q{n}"] = relevant
    embed_times = []
    for item in gold:
        started = time.perf_counter()
        searcher.embed_query(item["question"])
        embed_times.append(time.perf_counter() - started)
    results = []
    for mode in modes:
        run: dict[str, dict[str, float]] = {}
        times = []
        misses = []
        for n, item in enumerate(gold):
            started = time.perf_counter()
            hits = engine.retrieve(item["question"], k=k, mode=mode)
            times.append(time.perf_counter() - started)
            # ranx ranks by score; rank positions keep our order whatever the score scale.
            run[f"q{n}"] = {h.chunk_id: float(len(hits) - i) for i, h in enumerate(hits)} or {"none": 0.0}
            if not any(h.chunk_id in qrels[f"q{n}"] for h in hits[:3]):
                misses.append(item["question"])
        scores = evaluate(Qrels(qrels), Run(run), list(METRICS), make_comparable=True)
        results.append(RetrievalScores(mode, *(round(float(scores[m]), 3) for m in METRICS), _p50_ms(times), misses))
    return results, _p50_ms(embed_times)


def converse(ask: Callable[..., Reply], turns: list[str]) -> Reply:
    """Ask each turn with the conversation so far (role/content messages); the last reply."""
    history: list[dict[str, str]] = []
    for turn in turns[:-1]:
        earlier = ask(turn, history)
        history += [{"role": "user", "content": turn}, {"role": "assistant", "content": earlier.text}]
    return ask(turns[-1], history)


def _correct(reply: Reply, answers: list[str]) -> bool:
    return reply.answered and len(reply.text) <= 400 and any(a in reply.text for a in answers)


def evaluate_answers(ask: Callable[..., Reply], answers: list[dict[str, Any]], conversations: list[dict[str, Any]],
                     unanswerable: list[dict[str, Any]], answerable_extra: list[dict[str, Any]]) -> AnswerScores:
    """Score answers, follow-ups and abstention."""
    failures = []
    times = []
    correct = 0
    for item in answers:
        started = time.perf_counter()
        reply = ask(item["question"])
        times.append(time.perf_counter() - started)
        if _correct(reply, item["answers"]):
            correct += 1
        else:
            failures.append(f"answer: {item['question']} -> {reply.text[:100]}")
    followups = 0
    for conv in conversations:
        reply = converse(ask, conv["turns"])
        if _correct(reply, conv["answers"]):
            followups += 1
        else:
            failures.append(f"follow-up: {' / '.join(conv['turns'])} -> {reply.text[:100]}")
    abstained = 0
    for item in unanswerable:
        reply = ask(item["question"])
        if reply.answered:
            failures.append(f"should abstain: {item['question']} -> {reply.text[:100]}")
        else:
            abstained += 1
    answerable = [item["question"] for item in answers + answerable_extra]
    answered = sum(ask(q).answered for q in answerable)
    return AnswerScores(
        answer_accuracy=round(correct / max(len(answers), 1), 3),
        answers=len(answers),
        followup_accuracy=round(followups / max(len(conversations), 1), 3),
        conversations=len(conversations),
        abstention=round(abstained / max(len(unanswerable), 1), 3),
        unanswerable=len(unanswerable),
        answered_rate=round(answered / max(len(answerable), 1), 3),
        ask_p50_ms=_p50_ms(times),
        failures=failures,
    )


def run_eval(engine: Engine, data_dir: Path = DEFAULT_DATA, answers: bool = True) -> dict[str, Any]:
    """Run the evaluation sets found in ``data_dir``; return a JSON-ready report."""
    gold = read_jsonl(data_dir / RETRIEVAL_SET)
    engine.searcher()  # load (or build) before timing
    retrieval, embed_p50 = evaluate_retrieval(engine, gold)
    report: dict[str, Any] = {
        "questions": len(gold),
        "query_embedding_p50_ms": embed_p50,
        "retrieval": [asdict(r) for r in retrieval],
    }
    if answers:
        answerer = Answerer(engine.searcher())

        def ask(question: str, history: list[dict[str, str]] | None = None) -> Reply:
            return answerer.reply(question, history, 5)

        scores = evaluate_answers(
            ask,
            read_jsonl(data_dir / ANSWER_SET),
            read_jsonl(data_dir / CONVERSATION_SET),
            read_jsonl(data_dir / UNANSWERABLE_SET),
            gold,
        )
        report["answers"] = asdict(scores)
    return report


def format_report(report: dict[str, Any]) -> str:
    """The report as a plain-text table."""
    lines = [
        f"retrieval on {report['questions']} questions "
        f"(query embedding alone: p50 {report['query_embedding_p50_ms']:.1f} ms)",
        "",
        f"{'mode':8} {'recall@1':>9} {'recall@3':>9} {'recall@5':>9} {'MRR@10':>7} {'p50 ms':>7}",
    ]
    for r in report["retrieval"]:
        lines.append(f"{r['mode']:8} {r['recall_at_1']:9.3f} {r['recall_at_3']:9.3f} {r['recall_at_5']:9.3f} "
                     f"{r['mrr_at_10']:7.3f} {r['p50_ms']:7.1f}")
    if "answers" in report:
        a = report["answers"]
        lines += [
            "",
            f"answers      {a['answer_accuracy']:.3f} of {a['answers']} questions contain the expected answer (≤ 400 chars)",
            f"follow-ups   {a['followup_accuracy']:.3f} of {a['conversations']} conversations answered correctly",
            f"abstention   {a['abstention']:.3f} of {a['unanswerable']} unanswerable questions declined",
            f"answered     {a['answered_rate']:.3f} of answerable questions kept answered",
            f"ask() p50    {a['ask_p50_ms']:.1f} ms",
        ]
        if a["failures"]:
            lines += ["", "misses:"] + [f"  {f}" for f in a["failures"]]
    return "\n".join(lines)
