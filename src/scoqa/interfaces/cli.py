"""The ``scoqa`` command line: build, inspect and update the index; search, ask, chat; serve the app.

Heavy modules (torch, faiss, gradio) are imported inside the commands so that ``scoqa --help``
answers at once. Errors are printed as one sentence, never as a traceback
(set ``SCOQA_DEBUG=1`` to see one).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import textwrap
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..config import BACKENDS, RUNTIMES, LLMSettings, Settings, debug, index_dir_from_env

Handler = Callable[[argparse.Namespace, Settings], int]


def _print_json(data: object) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True))


def _wrap(text: str, indent: str = "   ") -> str:
    return textwrap.fill(text, width=100, initial_indent=indent, subsequent_indent=indent)


# -- index ---------------------------------------------------------------------------------------
def _print_problems(problems: list[str], note: str = "") -> None:
    """Source problems and notes go to stderr, one line each, so --json output stays clean."""
    if note:
        print(f"scoqa: {note}", file=sys.stderr)
    for problem in problems:
        print(problem, file=sys.stderr)


def cmd_index_build(args: argparse.Namespace, settings: Settings) -> int:
    from ..index import build

    run = build.build_index if args.force else build.update_index
    report = run(settings, show_progress=not args.json, lock_wait=args.wait)
    _print_problems(report.problems, report.note)
    if args.json:
        _print_json(asdict(report))
        return 0
    if not report.changed:
        print(f"index is up to date: {report.chunks} passages from {report.files} file(s) "
              f"(use --force to rebuild from scratch)")
    else:
        print(f"indexed {report.chunks} passages from {report.files} file(s) into {_where(settings)} "
              f"in {report.seconds:.1f}s ({report.embedded} embedded, {report.reused} reused, "
              f"{report.removed} removed)")
    return 0


def cmd_index_update(args: argparse.Namespace, settings: Settings) -> int:
    from ..index import build

    report = build.update_index(settings, show_progress=not args.json, lock_wait=args.wait)
    _print_problems(report.problems, report.note)
    if args.json:
        _print_json({"embedded": report.embedded, "reused": report.reused, "removed": report.removed,
                     "chunks": report.chunks, "files": report.files, "changed": report.changed,
                     "problems": report.problems, "seconds": round(report.seconds, 3)})
        return 0
    if not report.changed:
        print(f"index is up to date: {report.chunks} passages from {report.files} file(s)")
    else:
        print(f"updated {_where(settings)}: {report.embedded} passages embedded, {report.reused} reused, "
              f"{report.removed} removed; {report.chunks} passages from {report.files} file(s)")
    return 0


def cmd_index_status(args: argparse.Namespace, settings: Settings) -> int:
    from ..index.status import index_status

    status = index_status(settings)
    if args.json:
        _print_json({
            "stale": status.stale, "added": status.added, "changed": status.changed, "removed": status.removed,
            "chunks": status.chunks, "exists": status.exists, "files": status.files, "model": status.model,
            "built_at": status.built_at, "faiss_index": status.faiss_index, "problems": status.problems,
            "note": status.note, "documents": status.documents, "titles": status.titles,
        })
        return 0
    if not status.exists:
        print(f"no index at {_where(settings)} yet: run `scoqa index build`")
    else:
        print(f"index:   {_where(settings)} — {status.chunks} passages from {status.files} file(s), "
              f"model {status.model}, {status.faiss_index}, built {status.built_at}")
        print(f"corpus:  {settings.corpus_dir} — " + ("STALE, run `scoqa index update`" if status.stale else "up to date"))
    if status.note:
        print(f"note:    {status.note}")
    for label, names in (("added", status.added), ("changed", status.changed), ("removed", status.removed)):
        for name in names:
            print(f"  {label:8} {name}")
    if status.documents:
        print("documents:")
        for name, count in status.documents.items():
            title = status.titles.get(name, "")
            print(f"  {count:6d} passages  {name}" + (f" — {title}" if title else ""))
    for problem in status.problems:
        print(f"  {problem}")
    return 0


def cmd_index_watch(args: argparse.Namespace, settings: Settings) -> int:
    from ..index.watch import watch_updates

    print(f"watching {settings.corpus_dir} for changes; the index is {settings.index_dir} (Ctrl-C to stop)",
          flush=True)
    shown: list[str] = []
    try:
        for update in watch_updates(settings, debounce_ms=args.debounce):
            print(update.describe(), flush=True)
            problems = update.report.problems if update.report is not None else []
            if problems != shown:  # a problem is told once, not after every update
                _print_problems([p for p in problems if p not in shown])
                shown = problems
    except KeyboardInterrupt:
        pass
    print("stopped watching", flush=True)
    return 0


# -- search --------------------------------------------------------------------------------------
def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from ..engine import get_engine

    hits = get_engine(settings).retrieve(args.query, k=args.k, mode=args.mode, sources=args.source)
    if args.json:
        _print_json([asdict(h) for h in hits])
        return 0
    if not hits:
        print("no passages found")
    for rank, hit in enumerate(hits, start=1):
        print(f"{rank}. [{hit.score:.4f}] {hit.citation}")
        print(_wrap(hit.text))
        print()
    return 0


# -- answers -------------------------------------------------------------------------------------
def _print_reply(reply: Any) -> None:
    print(reply.text)
    if reply.notice:
        print(f"({reply.notice})")
    # An answer lists the passages it cites; a "not covered" reply lists what came closest.
    from .html import cited

    shown = reply.sources[: max(cited(reply), default=-1) + 1] if reply.answered else reply.sources
    if shown:
        print()
        print("Sources:" if reply.answered else "Possibly related:")
    for n, hit in enumerate(shown, start=1):
        print(f"[{n}] {hit.citation}")
        print(_wrap(hit.text, indent="    "))


def _answer(question: str, history: list[dict[str, str]] | None, settings: Settings, k: int,
            sources: list[str] | None, show_draft: bool) -> Any:
    """The reply to ``question``; a language model's draft streams to stderr as it is written
    (it is checked before the final answer is printed)."""
    from ..api import ask_stream

    shown = 0
    reply = None
    for event in ask_stream(question, history, k=k, sources=sources, settings=settings):
        if isinstance(event, str):
            if show_draft:
                if not shown:
                    print("draft (checked before it is final): ", end="", file=sys.stderr)
                print(event[shown:], end="", file=sys.stderr, flush=True)
                shown = len(event)
        else:
            reply = event
    if shown:
        print("\n", file=sys.stderr)
    return reply


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    reply = _answer(args.question, None, settings, args.k, args.source, show_draft=not args.json)
    if args.json:
        _print_json(asdict(reply))
    else:
        _print_reply(reply)
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    print("Ask about the documents; follow-up questions work. Empty line, 'quit' or Ctrl-D to leave.")
    if settings.llm.enabled:
        print(f"Answers are written by the language model at {settings.llm.base_url} and checked against the "
              "passages; the quoted answer is given when they do not hold.")
    history: list[dict[str, str]] = []
    while True:
        try:
            question = input("\nyou> ").strip()
        except EOFError:
            print()
            return 0
        if not question or question.lower() in {"quit", "exit", ":q"}:
            return 0
        print()
        reply = _answer(question, history, settings, 5, args.source, show_draft=True)
        _print_reply(reply)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": reply.text}]


# -- the app -------------------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from ..config import server_address
    from .app import serve

    host, port = server_address()
    serve(settings, host if args.host is None else args.host, port if args.port is None else args.port, args.share)
    return 0


def cmd_mcp(args: argparse.Namespace, settings: Settings) -> int:
    from .mcp_server import serve

    serve(settings, args.transport, args.host, args.port)
    return 0


# -- evaluation and benchmarks ---------------------------------------------------------------------
def eval_settings(args: argparse.Namespace, settings: Settings) -> tuple[Settings, bool]:
    """The settings ``scoqa eval`` runs on, and whether their index is eval's own: a corpus given
    without an index gets an index of its own (kept in the temporary folder and updated on the next
    run), so ``./index`` is never replaced."""
    if getattr(args, "corpus", None) is None or getattr(args, "index", None) is not None or index_dir_from_env():
        return settings.with_(auto_update=True), False
    import hashlib
    import tempfile

    key = hashlib.sha1(str(settings.corpus_dir.resolve()).encode()).hexdigest()[:12]
    index = Path(tempfile.gettempdir()) / "scoqa-eval" / f"{settings.corpus_dir.resolve().name}-{key}" / "index"
    return settings.with_(index_dir=index, auto_update=True), True


def refresh_own_index(settings: Settings) -> None:
    """Bring eval's own index of a corpus up to date: nobody else uses it, so one another scoqa
    version or another model wrote is rebuilt rather than refused."""
    from ..index import build
    from ..index.errors import IndexMismatch

    try:
        build.update_index(settings, show_progress=sys.stderr.isatty())
    except IndexMismatch as exc:
        print(f"scoqa: rebuilding eval's own index of {settings.corpus_dir}: {exc}", file=sys.stderr)
        build.build_index(settings, show_progress=sys.stderr.isatty())


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from ..engine import get_engine
    from ..tools.evaluate import format_report, run_eval

    settings, own_index = eval_settings(args, settings)
    if own_index:
        refresh_own_index(settings)
    if args.llm and not settings.llm.enabled:
        raise ValueError("--llm needs a language model: set SCOQA_LLM_URL or pass --llm-url URL")
    if args.llm and args.retrieval_only:
        raise ValueError("--llm compares answers: it cannot be used with --retrieval-only")
    report = run_eval(get_engine(settings), args.data, answers=not args.retrieval_only,
                      llm=settings.llm if args.llm else None)
    if args.json:
        _print_json(report)
    else:
        print(format_report(report))
    return 0


def _sizes(text: str) -> tuple[int, ...]:
    """Parse ``--scale``: comma-separated vector counts, ``none`` for no scale benchmark."""
    if text.strip().lower() in ("", "none", "0"):
        return ()
    try:
        sizes = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated numbers such as 10000,100000, got {text!r}") from None
    if any(n < 10 for n in sizes):
        raise argparse.ArgumentTypeError(f"every size must be >= 10 vectors, got {text!r}")
    return sizes


def _counts(text: str) -> tuple[int, ...]:
    """Parse ``--threads``: comma-separated numbers >= 1."""
    return tuple(_positive_int(part) for part in text.split(",") if part.strip())


def _scale_backends(text: str) -> tuple[str, ...]:
    """Parse ``--scale-backends``: comma-separated backend names, ``none`` for none."""
    from ..tools.bench_backends import SCALE_BACKENDS

    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if names in ((), ("none",)):
        return ()
    unknown = [name for name in names if name not in SCALE_BACKENDS]
    if unknown:
        raise argparse.ArgumentTypeError(f"must be some of {','.join(SCALE_BACKENDS)} (or none), got {text!r}")
    return tuple(dict.fromkeys(names))


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import replace
    from pathlib import Path

    from ..tools.bench import GOLD_QUESTIONS, run_bench
    from ..tools.bench_report import BenchOptions, format_result

    options = BenchOptions.tiny() if args.quick else BenchOptions()
    changes = {"questions": args.questions, "threads": args.threads, "scale": args.scale, "repeat": args.repeat,
               "runtimes": args.runtimes, "scale_backends": args.scale_backends}
    options = replace(options, **{k: v for k, v in changes.items() if v is not None})
    result = run_bench(settings, options, Path(args.questions_file or GOLD_QUESTIONS),
                       report=lambda line: print(f"bench: {line}", file=sys.stderr, flush=True))
    out = Path(args.json_out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(format_result(result))
    print(f"\nresults written to {out}")
    return 0


# -- parser --------------------------------------------------------------------------------------
def _common(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS keeps a value given before the sub-command from being reset by the sub-parser.
    parser.add_argument("--corpus", metavar="DIR", default=argparse.SUPPRESS,
                        help="folder of documents: .pdf, .html/.htm/.xhtml, .docx, .md/.markdown, .txt "
                             "(default: $SCOQA_CORPUS or ./corpus)")
    parser.add_argument("--index", metavar="DIR", default=argparse.SUPPRESS,
                        help="index folder (default: $SCOQA_INDEX or ./index)")
    parser.add_argument("--model", metavar="NAME", default=argparse.SUPPRESS,
                        help="sentence-transformers model name or path (default: all-MiniLM-L6-v2)")
    parser.add_argument("--backend", choices=BACKENDS, default=argparse.SUPPRESS,
                        help="where the index lives: faiss (the index folder), qdrant (SCOQA_QDRANT_URL "
                             "or SCOQA_QDRANT_PATH) or qdrant-edge (default: $SCOQA_BACKEND or faiss)")
    parser.add_argument("--runtime", choices=RUNTIMES, default=argparse.SUPPRESS,
                        help="what runs the model: onnx (onnxruntime) or torch (default: $SCOQA_RUNTIME or onnx)")


def _llm_options(parser: argparse.ArgumentParser, switch: bool = True) -> None:
    parser.add_argument("--llm-url", metavar="URL", default=None,
                        help="an OpenAI-compatible server that writes the answers from the passages, checked "
                             "against them, e.g. http://127.0.0.1:8080 (default: $SCOQA_LLM_URL; none: quoted answers)")
    parser.add_argument("--llm-model", metavar="NAME", default=None,
                        help="the model to ask (default: $SCOQA_LLM_MODEL, else the first the server lists)")
    parser.add_argument("--llm-timeout", metavar="SECONDS", type=float, default=None,
                        help="give the quoted answer when the model takes longer (default: $SCOQA_LLM_TIMEOUT or 30)")
    if switch:
        parser.add_argument("--no-llm", action="store_true", help="quoted answers only, whatever $SCOQA_LLM_URL says")


def _wait_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", type=float, default=None, metavar="SECONDS",
                        help="give up if another build holds the lock longer than this (default: wait)")


def _source_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", action="append", metavar="DOC", default=None,
                        help="only this document (a path relative to the corpus, a file name or a folder); "
                             "repeat for several (default: all; `scoqa index status` lists them)")


def _runtimes(text: str) -> tuple[str, ...]:
    """Parse ``--runtimes``: comma-separated runtime names."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    wrong = [n for n in names if n not in RUNTIMES]
    if not names or wrong:
        raise argparse.ArgumentTypeError(f"must be runtimes from {', '.join(RUNTIMES)}, got {text!r}")
    return names


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``scoqa`` command."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="scoqa", description="Ask questions about the documents in corpus/ and get cited passages.")
    parser.add_argument("--version", action="version", version=f"scoqa {__version__}")
    _common(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    index = commands.add_parser("index", help="build, inspect and update the index")
    _common(index)
    index_commands = index.add_subparsers(dest="index_command", metavar="ACTION", required=True)

    p = index_commands.add_parser("build", help="build the index (incrementally; --force for from scratch)")
    _common(p)
    p.add_argument("--force", action="store_true", help="re-read and re-embed everything")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    _wait_option(p)
    p.set_defaults(handler=cmd_index_build)

    p = index_commands.add_parser("update", help="re-embed only what changed in the corpus")
    _common(p)
    p.add_argument("--json", action="store_true", help="print {embedded, reused, removed} as JSON")
    _wait_option(p)
    p.set_defaults(handler=cmd_index_update)

    p = index_commands.add_parser("status", help="show the index and what changed in the corpus since")
    _common(p)
    p.add_argument("--json", action="store_true", help="print {stale, added, changed, removed, chunks} as JSON")
    p.set_defaults(handler=cmd_index_status)

    p = index_commands.add_parser("watch", help="update the index whenever corpus/ changes (Ctrl-C stops)")
    _common(p)
    # 1600 is watch.DEFAULT_DEBOUNCE_MS, not imported here so that `scoqa --help` stays instant.
    p.add_argument("--debounce", type=_positive_int, default=1600, metavar="MS",
                   help="milliseconds of quiet after a change before updating (default 1600)")
    p.set_defaults(handler=cmd_index_watch)

    p = commands.add_parser("search", help="print the passages that best match a question")
    _common(p)
    p.add_argument("query", help="the question")
    p.add_argument("-k", type=_positive_int, default=5, help="number of passages (default 5)")
    p.add_argument("--mode", choices=("hybrid", "fusion", "dense", "bm25"), default="hybrid",
                   help="ranking: hybrid (default), fusion (hybrid without the rerank), dense or bm25")
    p.add_argument("--json", action="store_true", help="print the hits as JSON")
    _source_option(p)
    p.set_defaults(handler=cmd_search)

    p = commands.add_parser("ask", help="answer a question with quoted, cited sentences")
    _common(p)
    p.add_argument("question", help="the question")
    p.add_argument("-k", type=_positive_int, default=5, help="passages to consider (default 5)")
    p.add_argument("--json", action="store_true", help="print the reply as JSON")
    _source_option(p)
    _llm_options(p)
    p.set_defaults(handler=cmd_ask)

    p = commands.add_parser("chat", help="a conversation in the terminal (follow-up questions work)")
    _common(p)
    _source_option(p)
    _llm_options(p)
    p.set_defaults(handler=cmd_chat)

    p = commands.add_parser("serve", help="start the chat app, as `python app.py` does (auto-update on)")
    _common(p)
    p.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1, env SCOQA_HOST)")
    p.add_argument("--port", type=int, default=None, help="port (default 7860, env SCOQA_PORT)")
    p.add_argument("--share", action="store_true", help="also make a public gradio.live link (off by default)")
    # The app brings a stale index up to date unless SCOQA_AUTO_UPDATE=0 says otherwise.
    p.set_defaults(handler=cmd_serve, auto_update_default=True)

    p = commands.add_parser("mcp", help="serve search and ask to other assistants over the Model Context Protocol")
    _common(p)
    p.add_argument("--transport", choices=("stdio", "http"), default="stdio",
                   help="stdio (default: the client starts `scoqa mcp`) or http (Streamable HTTP at /mcp)")
    p.add_argument("--host", default="127.0.0.1", help="address for --transport http (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7861, help="port for --transport http (default 7861)")
    # A long-running server, as the app: a stale index is brought up to date unless SCOQA_AUTO_UPDATE=0.
    p.set_defaults(handler=cmd_mcp, auto_update_default=True)

    p = commands.add_parser("eval", help="measure retrieval and answers on a question set (any corpus)")
    _common(p)
    p.add_argument("--data", type=Path, default=Path("tests") / "data", metavar="DIR",
                   help="folder with qa.jsonl (q, gold, answer, doc) or gold_retrieval.jsonl, and optionally "
                        "answers.jsonl, conversations.jsonl and unanswerable.jsonl (default: tests/data, the "
                        "report's sets); with --corpus DIR and no --index, the corpus gets its own index")
    p.add_argument("--retrieval-only", action="store_true", help="skip the answer sets")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--llm", action="store_true",
                   help="also answer the answer sets with the language model (--llm-url or $SCOQA_LLM_URL) and "
                        "print both modes side by side: accuracy, citation precision, fallbacks, latency")
    _llm_options(p, switch=False)
    p.set_defaults(handler=cmd_eval)

    p = commands.add_parser("bench", help="measure build, update, latency, memory and scale")
    _common(p)
    p.add_argument("--quick", action="store_true",
                   help="tiny setting: 5 questions, 1 build, 1-2 askers, scale 1000,2000 in FAISS and in both "
                        "index backends (about a minute and a half)")
    p.add_argument("--scale", type=_sizes, default=None, metavar="N,N,...",
                   help="synthetic index sizes (default 10000,100000,1000000; 'none' to skip)")
    p.add_argument("--scale-backends", type=_scale_backends, default=None, metavar="B,B",
                   help="also save synthetic passages with their word pieces into these index backends at "
                        "each scale size: faiss, qdrant-edge (default none; --quick: both)")
    p.add_argument("--questions", type=_positive_int, default=None, metavar="N",
                   help="time only the first N gold questions (default: all)")
    p.add_argument("--questions-file", default=None, metavar="PATH",
                   help="JSONL file with a 'question' per line (default: tests/data/gold_retrieval.jsonl)")
    p.add_argument("--threads", type=_counts, default=None, metavar="N,N,...",
                   help="numbers of concurrent askers (default 1,2,4)")
    p.add_argument("--repeat", type=_positive_int, default=None, metavar="N",
                   help="full builds to time; the fastest counts (default 2)")
    p.add_argument("--runtimes", type=_runtimes, default=None, metavar="R,R",
                   help="embedding runtimes to compare in the run (default onnx,torch); the settings' "
                        "runtime is always measured, first")
    p.add_argument("--json-out", default="bench-results.json", metavar="PATH",
                   help="where to write the results as JSON (default: ./bench-results.json)")
    p.set_defaults(handler=cmd_bench)
    return parser


def _where(settings: Settings) -> str:
    """Where the index of ``settings`` lives (its folder, or its Qdrant collection)."""
    from ..index.backend import open_backend

    return open_backend(settings).location


def _settings(args: argparse.Namespace) -> Settings:
    llm = LLMSettings() if getattr(args, "no_llm", False) else LLMSettings.from_env(
        url=getattr(args, "llm_url", None), model=getattr(args, "llm_model", None),
        timeout=getattr(args, "llm_timeout", None))
    return Settings.from_env(
        llm=llm,
        auto_update_default=getattr(args, "auto_update_default", False),
        corpus_dir=getattr(args, "corpus", None),
        index_dir=getattr(args, "index", None),
        model=getattr(args, "model", None),
        backend=getattr(args, "backend", None),
        runtime=getattr(args, "runtime", None),
    )


def _user_errors() -> tuple[type[BaseException], ...]:
    from ..index.embed import ModelError
    from ..index.store import IndexProblem
    from ..ingest import SourceError

    return (ValueError, FileNotFoundError, IndexProblem, ModelError, SourceError, PermissionError)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``scoqa`` command; returns the exit status."""
    logging.basicConfig(level=logging.WARNING, format="scoqa: %(message)s")
    # Warnings (a stale index) read as one line, like every other message of the command.
    warnings.showwarning = lambda message, *_args, **_kw: print(f"scoqa: warning: {message}", file=sys.stderr)
    for noisy in ("sentence_transformers", "transformers", "bm25s", "httpx"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = _settings(args)
        handler: Handler = args.handler
        return handler(args, settings)
    except KeyboardInterrupt:
        print("scoqa: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug():
            raise
        known = isinstance(exc, _user_errors())
        detail: Any = exc if known else f"unexpected {type(exc).__name__}: {exc} (set SCOQA_DEBUG=1 for details)"
        print(f"scoqa: error: {detail}", file=sys.stderr)
        return 2 if known else 1


if __name__ == "__main__":
    sys.exit(main())
