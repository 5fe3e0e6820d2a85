"""``scoqa eval``: retrieval and answer quality of any question set on any corpus, with latency.

Two layouts of a question folder are read:

* the report's sets: ``gold_retrieval.jsonl`` (``question``, ``answers``: substrings of the
  passage that answers), ``answers.jsonl``, ``conversations.jsonl`` (``turns``, ``answers``) and
  ``unanswerable.jsonl`` (``question``);
* sets written for other documents (the devcorpus): ``qa.jsonl`` (``q``, ``gold``: substrings of
  the answering passage, ``answer``: strings a right reply holds, ``doc``: the file),
  ``conversations.jsonl`` (``turns``, ``gold``, ``answer``, ``doc``) and ``unanswerable.jsonl``
  (``q``).

Retrieval is scored with ranx: a passage is relevant when it holds one of the question's gold
strings (compared on letters and digits only, so that re-flowed lines and rejoined hyphens still
match); ``recall@k`` is ranx's ``hit_rate@k``. An answer is right when the reply is answered, at
most 400 characters, and holds one of the expected strings as whole words (case-insensitive).
With ``doc`` given, "right document first" is the share of questions whose first hit comes from
that file, and every figure is also given per document.
"""

from __future__ import annotations

import json
import logging
import re
import statistics
import time
import unicodedata
import warnings
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..config import LLMSettings
from ..engine import Engine
from ..qa.answer import Answerer, Reply
from ..text import query_terms

log = logging.getLogger(__name__)

DEFAULT_DATA = Path("tests") / "data"
METRICS = ("hit_rate@1", "hit_rate@3", "hit_rate@5", "mrr@10")
MAX_REPLY_CHARS = 400


@dataclass(frozen=True)
class Item:
    """One question of a set, whatever the file's layout.

    Attributes:
        id: Its identifier in the file (or its line number).
        turns: The question, after the earlier turns of its conversation if it is a follow-up.
        gold: Substrings of the passage that answers it (empty for an unanswerable question).
        answers: Strings a right reply contains (any one of them).
        doc: The file name of the document that answers it, or "".
    """

    id: str
    turns: tuple[str, ...]
    gold: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()
    doc: str = ""

    @property
    def question(self) -> str:
        """The (last) question."""
        return self.turns[-1]


@dataclass(frozen=True)
class QuestionSet:
    """The question files of one folder."""

    retrieval: list[Item]
    answers: list[Item]
    conversations: list[Item]
    unanswerable: list[Item]


@dataclass(frozen=True)
class RetrievalScores:
    """Retrieval quality and latency of one search mode (over a set, or one document of it)."""

    mode: str
    recall_at_1: float
    recall_at_3: float
    recall_at_5: float
    mrr_at_10: float
    p50_ms: float
    questions: int = 0
    right_document_first: float | None = None
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
    by_document: dict[str, dict[str, float]] = field(default_factory=dict)
    #: Answers holding every word of an expected string in any form and order (BM25 terms): a
    #: written answer says "Turkey joined the SCO in June 2012" where the quote says "Turkey joined in June 2012".
    answer_words_accuracy: float = 0.0


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Read a JSON-lines evaluation set.

    Raises:
        FileNotFoundError: naming the file and the option to pass.
        ValueError: naming the line that is not JSON.
    """
    if not path.is_file():
        raise FileNotFoundError(f"evaluation set {str(path)!r} not found: pass --data DIR with {path.name} in it")
    rows = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{number} is not a JSON object ({exc.msg})") from None
    return rows


def as_item(row: dict[str, Any], number: int = 0) -> Item:
    """Read one row of either layout (see the module docstring)."""
    turns = row.get("turns") or [row.get("q") or row.get("question") or ""]
    answers = row.get("answer", row.get("answers", ()))
    gold = row.get("gold", row.get("answers", ()))
    if isinstance(answers, str):
        answers = [answers]
    if isinstance(gold, str):
        gold = [gold]
    return Item(str(row.get("id", number)), tuple(turns), tuple(gold), tuple(answers), str(row.get("doc", "")))


def load_sets(data_dir: Path) -> QuestionSet:
    """The question files of ``data_dir`` in either layout; missing answer files give empty lists.

    Raises:
        FileNotFoundError: if the folder holds neither ``qa.jsonl`` nor ``gold_retrieval.jsonl``.
    """

    def items(name: str, required: bool = False) -> list[Item]:
        path = data_dir / name
        if not path.is_file() and not required:
            return []
        return [as_item(row, n) for n, row in enumerate(read_jsonl(path), start=1)]

    if (data_dir / "qa.jsonl").is_file():
        qa = items("qa.jsonl")
        return QuestionSet(qa, qa, items("conversations.jsonl"), items("unanswerable.jsonl"))
    if not (data_dir / "gold_retrieval.jsonl").is_file():
        raise FileNotFoundError(
            f"no question set in {str(data_dir)!r}: it needs qa.jsonl (or gold_retrieval.jsonl); pass --data DIR"
        )
    return QuestionSet(items("gold_retrieval.jsonl", True), items("answers.jsonl"), items("conversations.jsonl"),
                       items("unanswerable.jsonl"))


def comparable(text: str) -> str:
    """Text reduced to lower-case letters and digits separated by single spaces, for matching
    gold strings against cleaned passages ("deep- sea" and "deep-sea" meet as "deep sea")."""
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "").lower()
    return " ".join(re.findall(r"[^\W_]+", text))


def holds_answer(text: str, answers: Iterable[str]) -> bool:
    """Whether ``text`` holds one of ``answers`` as whole words, ignoring case ("31" is not in "2031")."""
    return any(
        re.search(rf"(?<![^\W_]){re.escape(a.strip())}(?![^\W_])", text, re.IGNORECASE) for a in answers if a.strip()
    )


def _doc_name(source: str) -> str:
    return PurePosixPath(source).name


def _p50_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2) if samples else 0.0


#: Stands for the answering passage of a question whose gold no passage holds (it counts as a miss).
UNFOUND = "(no passage holds the gold)"


@dataclass(frozen=True)
class _Passage:
    """A passage as the gold strings are matched against it (normalised once per evaluation)."""

    id: str
    doc: str
    text: str
    context: str


def relevant_passages(passages: list[_Passage], item: Item) -> dict[str, int]:
    """Ids of the passages that hold one of the item's gold strings (of its document, if named) in
    their text or in the heading they are indexed under; ``{UNFOUND: 1}`` if none does."""
    golds = [comparable(g) for g in item.gold if comparable(g)]
    found = {
        p.id: 1 for p in passages
        if (not item.doc or p.doc == item.doc) and any(g in p.text or g in p.context for g in golds)
    }
    return found or {UNFOUND: 1}


def evaluate_retrieval(engine: Engine, gold: list[Any], modes: tuple[str, ...] = ("hybrid", "fusion", "dense", "bm25"),
                       k: int = 10, by_document: bool = False) -> tuple[list[RetrievalScores], float]:
    """Score each search mode on ``gold`` (items or rows of either layout).

    Returns:
        The scores of each mode (with ``by_document``, followed by one row per document for each
        mode, named ``mode:doc``), and the query-embedding p50 in ms.
    """
    from ranx import Qrels, Run, evaluate

    items = [g if isinstance(g, Item) else as_item(g, n) for n, g in enumerate(gold)]
    searcher = engine.searcher()
    chunks = searcher.index.chunks
    passages = [_Passage(c.id, _doc_name(c.source), comparable(c.text), comparable(c.context)) for c in chunks]
    qrels = {f"q{n}": relevant_passages(passages, item) for n, item in enumerate(items)}
    embed_times = []
    for item in items:
        started = time.perf_counter()
        searcher.embed_query(item.question)
        embed_times.append(time.perf_counter() - started)
    unfound = [item.id for n, item in enumerate(items) if UNFOUND in qrels[f"q{n}"]]
    if unfound:
        log.warning("no passage holds the gold of %d question(s) (%s): the ingestion lost or split it",
                    len(unfound), ", ".join(unfound))
    results = []
    for mode in modes:
        run: dict[str, dict[str, float]] = {}
        times: list[float] = []
        first_doc: dict[str, bool] = {}
        for n, item in enumerate(items):
            started = time.perf_counter()
            hits = engine.retrieve(item.question, k=k, mode=mode)
            times.append(time.perf_counter() - started)
            # ranx ranks by score; rank positions keep our order whatever the score scale.
            run[f"q{n}"] = {h.chunk_id: float(len(hits) - i) for i, h in enumerate(hits)} or {"none": 0.0}
            first_doc[f"q{n}"] = bool(hits) and _doc_name(hits[0].source) == item.doc

        def score(name: str, keys: list[str]) -> RetrievalScores:
            with warnings.catch_warnings():
                # ranx's numba kernels warn about their own uint64 -> int64 casts: not the user's business.
                warnings.filterwarnings("ignore", message="unsafe cast")
                values = evaluate(Qrels({q: qrels[q] for q in keys}), Run({q: run[q] for q in keys}),
                                  list(METRICS), make_comparable=True)
            misses = [items[int(q[1:])].question for q in keys if not set(list(run[q])[:3]) & set(qrels[q])]
            docs = [first_doc[q] for q in keys if items[int(q[1:])].doc]
            return RetrievalScores(
                name, *(round(float(values[m]), 3) for m in METRICS), _p50_ms([times[int(q[1:])] for q in keys]),
                len(keys), round(sum(docs) / len(docs), 3) if docs else None, misses,
            )

        keys = list(qrels)
        results.append(score(mode, keys))
        if by_document:
            for doc in sorted({item.doc for item in items if item.doc}):
                results.append(score(f"{mode}:{doc}", [q for q in keys if items[int(q[1:])].doc == doc]))
    return results, _p50_ms(embed_times)


def converse(ask: Callable[..., Reply], turns: list[str] | tuple[str, ...]) -> Reply:
    """Ask each turn with the conversation so far (role/content messages); the last reply."""
    history: list[dict[str, str]] = []
    for turn in turns[:-1]:
        earlier = ask(turn, history)
        history += [{"role": "user", "content": turn}, {"role": "assistant", "content": earlier.text}]
    return ask(turns[-1], history)


def is_correct(reply: Reply, answers: Iterable[str]) -> bool:
    """Whether a reply answers, within the length limit, with one of the expected strings."""
    return reply.answered and len(reply.text) <= MAX_REPLY_CHARS and holds_answer(reply.text, answers)


def holds_words(reply: Reply, answers: Iterable[str]) -> bool:
    """:func:`is_correct` with the words of an expected string in any form and order (BM25 terms)."""
    said = set(query_terms(reply.text))
    return reply.answered and len(reply.text) <= MAX_REPLY_CHARS and any(
        set(query_terms(a)) <= said for a in answers if query_terms(a))


def evaluate_answers(ask: Callable[..., Reply], answers: list[Any], conversations: list[Any],
                     unanswerable: list[Any], answerable_extra: list[Any]) -> AnswerScores:
    """Score answers, follow-ups and abstention (items or rows of either layout)."""
    answers, conversations, unanswerable, answerable_extra = (
        [x if isinstance(x, Item) else as_item(x, n) for n, x in enumerate(rows)]
        for rows in (answers, conversations, unanswerable, answerable_extra)
    )
    failures = []
    times = []
    per_doc: dict[str, list[bool]] = {}
    answered_ids: set[str] = set()
    correct = worded = 0
    for item in answers:
        started = time.perf_counter()
        reply = ask(item.question)
        times.append(time.perf_counter() - started)
        right = is_correct(reply, item.answers)
        correct += right
        worded += holds_words(reply, item.answers)
        per_doc.setdefault(item.doc, []).append(right)
        if reply.answered:
            answered_ids.add(item.id)
        if not right:
            failures.append(f"answer: {item.question} -> {reply.text[:120]}")
    followups = 0
    for conv in conversations:
        reply = converse(ask, conv.turns)
        if is_correct(reply, conv.answers):
            followups += 1
        else:
            failures.append(f"follow-up: {' / '.join(conv.turns)} -> {reply.text[:120]}")
    abstained = 0
    for item in unanswerable:
        reply = ask(item.question)
        if reply.answered:
            failures.append(f"should abstain: {item.question} -> {reply.text[:120]}")
        else:
            abstained += 1
    extra = [item for item in answerable_extra if item not in answers]
    answered = len(answered_ids) + sum(ask(item.question).answered for item in extra)
    answerable = len(answers) + len(extra)
    return AnswerScores(
        answer_accuracy=round(correct / max(len(answers), 1), 3),
        answers=len(answers),
        followup_accuracy=round(followups / max(len(conversations), 1), 3),
        conversations=len(conversations),
        abstention=round(abstained / max(len(unanswerable), 1), 3),
        unanswerable=len(unanswerable),
        answered_rate=round(answered / max(answerable, 1), 3),
        ask_p50_ms=_p50_ms(times),
        failures=failures,
        by_document={doc: {"answers": round(sum(v) / len(v), 3), "questions": len(v)}
                     for doc, v in sorted(per_doc.items()) if doc},
        answer_words_accuracy=round(worded / max(len(answers), 1), 3),
    )


def evaluate_llm(answerer: Answerer, llm: LLMSettings, sets: QuestionSet) -> dict[str, Any]:
    """The answer sets answered with the language model: the same scores as the quoted answers,
    and how the model's answers fared in the check.

    Returns:
        ``answers`` (:class:`AnswerScores` of the generated mode), ``model``, ``asked`` (questions
        the model answered; never those scoqa declined), ``generated`` (answers that held and were
        given), ``fallbacks`` (quoted answers given although the model was asked) with ``reasons``,
        ``markers`` / ``supported`` (the ``[n]`` the model wrote, and those whose passage supports
        their claim: ``citation_precision``), ``corrected``, ``added`` and ``dropped`` (claims moved
        to their passage, cited by the check, sentences dropped), ``worse`` (questions of the answer
        set the quoted answer gets right and the generated mode does not, as written) and
        ``worse_words`` (of those, how many miss even the expected words in any form),
        ``model_p50_ms`` / ``model_p90_ms``.
    """
    from ..qa.generate import Outcome, Writer
    from ..qa.llm import Endpoint

    writer = Writer(Endpoint(llm), answerer)
    outcomes: list[Outcome] = []
    alone: dict[str, Reply] = {}  # the replies to questions asked without a conversation

    def ask(question: str, history: list[dict[str, str]] | None = None) -> Reply:
        outcome = writer.reply(question, history, 5)
        outcomes.append(outcome)
        if not history:
            alone[question] = outcome.reply
        return outcome.reply

    scores = evaluate_answers(ask, sets.answers, sets.conversations, sets.unanswerable, [])
    # The floor: questions of the answer set that the quoted answer gets right and the generated
    # mode does not (as written, and with the expected words in any form).
    worse, worse_words = [], 0
    for item in sets.answers:
        reply = alone.get(item.question)
        if reply is None or not is_correct(answerer.reply(item.question, None, 5), item.answers):
            continue
        if not is_correct(reply, item.answers):
            worse.append(f"{item.question} -> {reply.text[:120]}")
            worse_words += not holds_words(reply, item.answers)
    asked = [o for o in outcomes if o.asked]
    checked = [o.checked for o in asked if o.checked is not None]
    markers = sum(c.markers for c in checked)
    supported = sum(c.supported for c in checked)
    reasons: dict[str, int] = {}
    for o in asked:
        if o.fallback:
            key = re.sub(r"\s*\(.*", "", re.sub(r"\d+(?:\.\d+)? s\b", "N s", o.fallback))
            reasons[key] = reasons.get(key, 0) + 1
    seconds = sorted(o.seconds for o in asked)
    return {
        "answers": asdict(scores),
        "model": writer.endpoint.name,
        "url": llm.base_url,
        "replies": len(outcomes),
        "asked": len(asked),
        "generated": sum(o.reply.mode == "generated" for o in asked),
        "fallbacks": sum(bool(o.fallback) for o in asked),
        "reasons": reasons,
        "markers": markers,
        "supported": supported,
        "citation_precision": round(supported / markers, 3) if markers else None,
        "corrected": sum(c.corrected for c in checked),
        "added": sum(c.added for c in checked),
        "dropped": sum(len(c.dropped) for c in checked),
        "worse": worse,
        "worse_words": worse_words,
        "model_p50_ms": _p50_ms(seconds),
        "model_p90_ms": round(seconds[int(0.9 * (len(seconds) - 1))] * 1000, 2) if seconds else 0.0,
    }


def run_eval(engine: Engine, data_dir: Path = DEFAULT_DATA, answers: bool = True,
             llm: LLMSettings | None = None) -> dict[str, Any]:
    """Run the question sets found in ``data_dir`` on the engine's corpus; a JSON-ready report.
    With ``llm``, the answer sets are answered with that language model too (``report["llm"]``)."""
    sets = load_sets(data_dir)
    engine.searcher()  # load (or build) before timing
    retrieval, embed_p50 = evaluate_retrieval(engine, sets.retrieval, by_document=True)
    about = data_dir / "about.txt"
    report: dict[str, Any] = {
        "data": str(data_dir),
        "about": about.read_text(encoding="utf-8").strip() if about.is_file() else "",
        "questions": len(sets.retrieval),
        "query_embedding_p50_ms": embed_p50,
        "retrieval": [asdict(r) for r in retrieval],
    }
    if answers:
        answerer = engine.answerer()

        def ask(question: str, history: list[dict[str, str]] | None = None) -> Reply:
            return answerer.reply(question, history, 5)

        report["answers"] = asdict(evaluate_answers(ask, sets.answers, sets.conversations, sets.unanswerable,
                                                    sets.retrieval))
        if llm is not None:
            report["llm"] = evaluate_llm(answerer, llm, sets)
    return report


def format_llm(report: dict[str, Any]) -> list[str]:
    """Quoted and generated answers side by side (the lines of ``scoqa eval --llm``)."""
    quoted, llm = report["answers"], report["llm"]
    generated = llm["answers"]
    precision = llm["citation_precision"]
    single = [  # answer accuracy, its latency and the floor are measured on the set's single questions
        (f"{'answer accuracy':26} {quoted['answer_accuracy']:10.3f} {generated['answer_accuracy']:10.3f}"
         f"   of {quoted['answers']} questions"),
        (f"{'  the same, words any form':26} {quoted['answer_words_accuracy']:10.3f} "
         f"{generated['answer_words_accuracy']:10.3f}"),
        (f"{'worse than quoted':26} {'-':>10} {len(llm['worse']):>10}   of {quoted['answers']} questions, as written"
         f" ({llm['worse_words']} with the expected words in any form)"),
    ] if quoted["answers"] else []
    lines = [
        "", f"quoted and generated answers side by side (model {llm['model']} at {llm['url']})",
        f"{'':26} {'quoted':>10} {'generated':>10}",
        *single,
        (f"{'follow-up accuracy':26} {quoted['followup_accuracy']:10.3f} {generated['followup_accuracy']:10.3f}"
         f"   of {quoted['conversations']} conversations"),
        (f"{'abstention':26} {quoted['abstention']:10.3f} {generated['abstention']:10.3f}"
         f"   of {quoted['unanswerable']} unanswerable"),
        *([f"{'ask() p50 ms':26} {quoted['ask_p50_ms']:10.1f} {generated['ask_p50_ms']:10.1f}"] if single else []),
        (f"{'citation precision':26} {'-':>10} {precision if precision is not None else '-':>10}"
         f"   {llm['supported']} of {llm['markers']} [n] written hold"),
        (f"{'answers given by the model':26} {'-':>10} {llm['generated']:>10}   of {llm['asked']} it was asked"
         f" ({llm['replies'] - llm['asked']} declined by scoqa, not asked)"),
        f"{'fallbacks to quoted':26} {'-':>10} {llm['fallbacks']:>10}   "
        + "; ".join(f"{n}: {why}" for why, n in sorted(llm["reasons"].items(), key=lambda kv: -kv[1])),
        (f"{'claims corrected / cited':26} {'-':>10} {llm['corrected']:>4} / {llm['added']:<4}   "
         f"sentences dropped: {llm['dropped']}"),
        f"{'model time p50 / p90 ms':26} {'-':>10} {llm['model_p50_ms']:10.0f}   p90 {llm['model_p90_ms']:.0f}",
    ]
    if generated["failures"]:
        lines += ["", "generated-mode misses:"] + [f"  {f}" for f in generated["failures"]]
    if llm["worse"]:
        lines += ["", "worse than quoted:"] + [f"  {w}" for w in llm["worse"]]
    return lines


def format_report(report: dict[str, Any]) -> str:
    """The report as plain-text tables: one row per search mode, then one per document."""
    lines = [
        f"retrieval on {report['questions']} questions of {report.get('data', '')} "
        f"(query embedding alone: p50 {report['query_embedding_p50_ms']:.1f} ms)",
        *([f"this is a {report['about']}"] if report.get("about") else []),
        "",
        f"{'mode':8} {'recall@1':>9} {'recall@3':>9} {'recall@5':>9} {'MRR@10':>7} {'doc@1':>6} {'p50 ms':>7}",
    ]
    rows = report["retrieval"]

    def doc_first(r: dict[str, Any]) -> str:
        return f"{r['right_document_first']:6.3f}" if r.get("right_document_first") is not None else f"{'-':>6}"

    for r in rows:
        if ":" not in r["mode"]:
            lines.append(f"{r['mode']:8} {r['recall_at_1']:9.3f} {r['recall_at_3']:9.3f} {r['recall_at_5']:9.3f} "
                         f"{r['mrr_at_10']:7.3f} {doc_first(r)} {r['p50_ms']:7.1f}")
    per_doc = [r for r in rows if r["mode"].startswith("hybrid:")]
    answers = report.get("answers", {})
    if per_doc:
        lines += ["", f"{'document':40} {'questions':>9} {'recall@1':>9} {'recall@3':>9} {'doc@1':>6} {'answers':>8}"]
        for r in per_doc:
            doc = r["mode"].split(":", 1)[1]
            answered = answers.get("by_document", {}).get(doc, {}).get("answers")
            lines.append(f"{doc[:40]:40} {r['questions']:9d} {r['recall_at_1']:9.3f} {r['recall_at_3']:9.3f} "
                         f"{doc_first(r)} {answered if answered is not None else '-':>8}")
    if answers:
        a = answers
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
    if report.get("llm"):
        lines += format_llm(report)
    return "\n".join(lines)
