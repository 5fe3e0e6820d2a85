"""scoqa chat app: a thin Gradio 6 layer over :func:`scoqa.ask` and the index functions.

Run ``make run`` (or ``python app.py [--host 127.0.0.1] [--port 7860]``, or ``scoqa serve``) and
open the printed address. Settings come from the ``SCOQA_*`` environment variables (see the README); the host and
port also from ``SCOQA_HOST`` / ``SCOQA_PORT``. A public share link is only made with ``--share``.

The page: a chat whose answers carry ``[n]`` markers, each source a collapsible block with its
citation and the answering sentence highlighted; example questions; and an index panel: the
documents with their passages and a *Remove* button each, an upload area that adds files to the
corpus (checked first, see :mod:`scoqa.index.corpus`) and updates the index with a progress bar,
and a "Rebuild index" button. Besides the page, ``/ask`` is a JSON API for scripts and tests
(``gradio_client.Client(url).predict(question, history, api_name="/ask")``).
"""

from __future__ import annotations

import argparse
import html
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from ..api import ask, ask_stream
from ..config import LLMSettings, Settings, server_address
from ..engine import get_engine
from ..index import build, store
from ..index.backend import open_backend
from ..index.corpus import add_files, remove_document
from ..index.status import index_status
from ..qa.answer import Reply
from . import viewer
from .html import (
    clean_history,
    draft_message,
    error_message,
    outcome_lines_html,
    reply_messages,
    reply_to_dict,
    status_html,
    user_message,
)

log = logging.getLogger("scoqa.app")

EXAMPLES = [
    "When was the SCO founded?",
    "How many people died in Beslan?",
    "Where is the Regional Anti-Terrorist Structure based?",
    "Which exercise was held in Zhambyl?",
]
#: Longer input is refused: no question about a document needs it, and it bounds the work per request.
MAX_QUESTION_CHARS = 1000
#: Questions answered at once; more wait in the queue (the model and index are shared, CPU-bound).
CONCURRENCY = 4

#: Shown while a question waits in the queue or is being answered.
PENDING = {"role": "assistant", "content": '<span class="scoqa-pending">Searching the documents…</span>'}

CSS = """
.scoqa-header h1 { margin-bottom: 0.1rem; }
.scoqa-header p { margin-top: 0; color: var(--body-text-color-subdued); }
.scoqa-cite { color: var(--color-accent); font-weight: 600; }
mark.scoqa-quote { background: #fff1a8; color: inherit; font-size: inherit; padding: 0 2px; border-radius: 3px; }
.dark mark.scoqa-quote { background: #6b5a00; }
.scoqa-badge { display: inline-block; font-size: 0.8em; font-weight: 600; padding: 1px 8px;
  border-radius: 999px; margin-right: 4px; }
.scoqa-miss { background: #fde7c7; color: #8a4b00; }
.scoqa-ok { background: #d5f5dd; color: #17622e; }
.scoqa-error { background: #fbd5d5; color: #8a1c1c; }
.scoqa-unanswered { color: var(--body-text-color-subdued); font-style: italic; }
.scoqa-pending { color: var(--body-text-color-subdued); font-style: italic; }
.scoqa-searched { font-size: 0.85em; color: var(--body-text-color-subdued); }
.scoqa-generated { background: #dde8ff; color: #1d3f8a; }
.scoqa-extractive { background: #ececec; color: #444; }
#scoqa-index table { width: 100%; border-collapse: collapse; font-size: 0.9em; margin: 0; border: none !important; }
#scoqa-index th, #scoqa-index td { border: none !important; background: none !important;
  padding: 5px 8px 5px 0 !important; vertical-align: top; text-align: left; }
#scoqa-index tr { border: none !important; }
#scoqa-index tr + tr { border-top: 1px solid var(--border-color-primary) !important; }
#scoqa-index th { font-weight: 600; white-space: nowrap; color: var(--body-text-color) !important; }
#scoqa-index td { word-break: break-word; }
.scoqa-passage { font-size: 0.95rem; line-height: 1.55; }
.scoqa-lead-in { font-size: 0.85rem; font-style: italic; color: var(--body-text-color-subdued); }
.scoqa-index-state { margin-bottom: 6px; }
.scoqa-problems, .scoqa-hint { font-size: 0.85em; }
.scoqa-outcomes { font-size: 0.85em; margin: 0; padding-left: 1.1em; }
.scoqa-refused { color: #8a1c1c; }
.dark .scoqa-refused { color: #f3a5a5; }
.scoqa-doc-row { align-items: center; gap: 6px !important; }
.scoqa-doc-name { font-size: 0.9em; word-break: break-all; }
.scoqa-doc-count { font-size: 0.8em; color: var(--body-text-color-subdued); white-space: nowrap; }
"""


def documents_of(settings: Settings) -> list[list[Any]]:
    """The indexed documents as ``[source, passages, title]`` rows, from the manifest alone (cheap)."""
    try:
        manifest = open_backend(settings).read_manifest()
    except Exception:  # no index yet, or a damaged one: the status panel says what is wrong
        return []
    titles = manifest.get("titles") or {}
    return [[name, int(count), titles.get(name, "")] for name, count in sorted((manifest.get("passages") or {}).items())]


def app_settings() -> Settings:
    """Settings from the environment, with auto-update on unless ``SCOQA_AUTO_UPDATE`` says otherwise."""
    return Settings.from_env(auto_update_default=True)


def warn(text: str) -> None:
    """A warning notice with ``text`` shown as text (Gradio renders notice messages as HTML)."""
    gr.Warning(html.escape(text))


def _checked_question(message: object) -> str:
    """The stripped question, or a ``gr.Error`` that says what is wrong with it."""
    question = message.strip() if isinstance(message, str) else ""
    if not question:
        raise gr.Error("Type a question about the documents first.", title="Empty question")
    if len(question) > MAX_QUESTION_CHARS:
        raise gr.Error(f"Questions are limited to {MAX_QUESTION_CHARS} characters; this one has {len(question)}.")
    return question


def answer_turn(
    question: str, chat: list[dict[str, Any]], history: list[dict[str, str]], settings: Settings,
    sources: list[str] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Answer ``question`` in the light of the conversation so far.

    Args:
        question: The question (already shown in ``chat``).
        chat: The messages on the page (escaped, with source blocks).
        history: The clean conversation: the questions and answer texts only, as ``ask`` expects.
        settings: The app's settings.
        sources: The documents chosen in the page (None or empty: all of them).

    Returns:
        The chat with the reply and its source blocks appended (or a problem, in words), and the
        history with this turn appended (unchanged if there was no answer).
    """
    if not question:
        return chat, history
    try:
        reply = ask(question, clean_history(history), sources=sources or None, settings=settings)
    except Exception as exc:
        return _with_problem(question, chat, history, exc)
    return _with_reply(question, chat, history, reply)


def _with_reply(question: str, chat: list[dict[str, Any]], history: list[dict[str, str]], reply: Reply
                ) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The chat with ``reply`` and its source blocks appended, and the history with this turn."""
    turns = [{"role": "user", "content": question}, {"role": "assistant", "content": reply.text}]
    return [*chat, *reply_messages(reply)], [*history, *turns]


def _with_problem(question: str, chat: list[dict[str, Any]], history: list[dict[str, str]], exc: Exception
                  ) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The chat with what went wrong, in words (call it while handling ``exc``): a bad question or
    setting as it was said, anything else as "Could not answer", its traceback in the log only."""
    if isinstance(exc, ValueError):
        text = str(exc)
    else:
        log.exception("answering %r failed", question)
        text = f"Could not answer: {exc}"
    warn(text)
    return [*chat, error_message(text)], history


def answer_turn_stream(
    question: str, chat: list[dict[str, Any]], history: list[dict[str, str]], settings: Settings,
    sources: list[str] | None = None,
) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, str]]]]:
    """:func:`answer_turn`, with a language model's draft shown as it is written (then the checked
    reply in its place). Without a language model, the reply alone."""
    if not settings.llm.enabled:
        yield answer_turn(question, chat, history, settings, sources)
        return
    try:
        for event in ask_stream(question, clean_history(history), sources=sources or None, settings=settings):
            if isinstance(event, str):
                yield [*chat, draft_message(event)], history
            else:
                yield _with_reply(question, chat, history, event)
    except Exception as exc:
        yield _with_problem(question, chat, history, exc)


def build_app(settings: Settings) -> gr.Blocks:
    """The Gradio app over the index described by ``settings`` (model and index shared by all users)."""

    def respond(message: str, chat: list[dict], history: list[dict], chosen: list[str] | None = None,
                generate: bool = True):
        """Show the question at once, then the reply and its sources (one event: no double submits);
        with the language model on, its draft as it is written, then the checked reply."""
        try:
            question = _checked_question(message)
        except gr.Error as exc:
            warn(str(exc.message))
            yield gr.skip(), chat, history
            return
        chat = [*chat, user_message(question)]
        yield "", [*chat, PENDING], history
        chosen_settings = settings if generate else settings.with_(llm=LLMSettings())
        for update in answer_turn_stream(question, chat, history, chosen_settings, chosen):
            yield ("", *update)

    def respond_example(chat: list[dict], history: list[dict], chosen: list[str] | None, generate: bool,
                        evt: gr.SelectData):
        """Ask a clicked example question."""
        yield from respond(str((evt.value or {}).get("text", "")), chat, history, chosen, generate)

    def document_choices(chosen: list[str] | None = None) -> gr.Dropdown:
        """The indexed documents for the selector, keeping the choices that still exist."""
        names = [row[0] for row in documents_of(settings)]
        return gr.Dropdown(choices=names, value=[c for c in (chosen or []) if c in names])

    def current_status() -> str:
        try:
            return status_html(index_status(settings))
        except Exception as exc:  # e.g. the corpus folder is missing
            log.exception("index status failed")
            return status_html(None, f"Cannot read the index status: {exc}")

    def refresh_index(run: Callable[..., build.BuildReport], progress: gr.Progress,
                      lock_wait: float | None) -> build.BuildReport | str:
        """Run a build or an update with a progress bar, then load its index for every session.

        Returns:
            The build's report, or what went wrong in one sentence.
        """
        def report(done: int, total: int, desc: str) -> None:
            progress((done, total), desc=desc, unit="passages")

        try:
            result = run(settings, progress=report, lock_wait=lock_wait)
            progress(1.0, desc="Loading the new index")
            get_engine(settings).searcher(show_progress=False)
        except store.IndexLocked:
            return "Another rebuild of this index is running; try again when it has finished."
        except Exception as exc:
            log.exception("index update failed")
            return f"The index update failed: {exc}"
        return result

    def rebuild(progress: gr.Progress = gr.Progress()) -> str:  # noqa: B008 (Gradio's idiom)
        """Rebuild the index from scratch with a progress bar; the chat then uses the new index."""
        progress(0, desc="Reading and chunking the sources")
        result = refresh_index(build.build_index, progress, lock_wait=0)
        if isinstance(result, str):
            warn(result)
        else:
            for problem in result.problems:
                warn(problem)
            gr.Info(f"Index rebuilt: {result.chunks} passages from {result.files} file(s) in {result.seconds:.0f} s.")
        return current_status()

    def add_documents(files: list[str] | None, replace: bool,
                      progress: gr.Progress = gr.Progress()):  # noqa: B008
        """Check the uploaded files, put the good ones into the corpus and update the index."""
        paths = [Path(str(f)) for f in files or []]
        if not paths:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        progress(0, desc="Checking the files")
        outcomes = add_files(settings, [(p.name, p) for p in paths], replace=bool(replace))
        lines = [(o.ok, str(o)) for o in outcomes]
        if any(o.status in ("added", "replaced") for o in outcomes):
            progress(0, desc="Reading the new documents")
            result = refresh_index(build.update_index, progress, lock_wait=None)
            if isinstance(result, str):
                lines.append((False, result))
            else:
                counts = {row[0]: row[1] for row in documents_of(settings)}
                lines = [(ok, f"{line} — {counts[o.source]} passages" if o.source in counts and ok else line)
                         for (ok, line), o in zip(lines, outcomes)]
        return outcome_lines_html(lines), None, current_status(), documents_of(settings)

    def remove(source: str, progress: gr.Progress) -> tuple[str, str, list[list[Any]]]:
        """Move a document to the corpus's trash and drop its passages from the index."""
        try:
            where = remove_document(settings, source)
        except ValueError as exc:
            return outcome_lines_html([(False, str(exc))]), current_status(), documents_of(settings)
        lines = [(True, f"{source} removed (moved to {where.relative_to(settings.corpus_dir).as_posix()})")]
        result = refresh_index(build.update_index, progress, lock_wait=None)
        if isinstance(result, str):
            lines.append((False, result))
        return outcome_lines_html(lines), current_status(), documents_of(settings)

    def remover(source: str) -> Callable[..., tuple[str, str, list[list[Any]]]]:
        def on_remove(progress: gr.Progress = gr.Progress()):  # noqa: B008
            return remove(source, progress)
        return on_remove

    def api_ask(question: str, history: list[dict[str, Any]] | None = None,
                sources: list[str] | None = None) -> dict[str, Any]:
        """Answer a question about the documents.

        Args:
            question: The question.
            history: Earlier turns as [{"role": "user"|"assistant", "content": str}, ...].
            sources: Only these documents (paths relative to the corpus or file names); None for all.

        Returns:
            {"text", "answered", "confidence", "question", "search_query", "sources": [{"n", "citation", "text",
            "source", "section", "page", "line_start", "line_end", "quotes"}]}.
        """
        question = _checked_question(question)
        try:
            return reply_to_dict(ask(question, clean_history(history), sources=sources or None, settings=settings))
        except ValueError as exc:
            raise gr.Error(str(exc)) from None

    with gr.Blocks(title="scoqa — ask your documents", analytics_enabled=False) as demo:
        private = dict(api_visibility="private")
        history = gr.State([])  # the clean conversation (question / answer text) that ask() reads
        gr.HTML(
            "<h1>scoqa</h1><p>Ask about the documents in the corpus folder. Answers quote them; open a "
            "source to read the passage.</p>",
            elem_classes="scoqa-header",
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Conversation",
                    elem_id="scoqa-chat",
                    height=620,
                    examples=[{"text": q} for q in EXAMPLES],
                    placeholder="### Ask a question about the documents\nType it below, or pick an example:",
                    latex_delimiters=[],
                    feedback_options=None,
                    buttons=[],  # a copy button would copy the markup of the message, not its text
                    sanitize_html=True,
                )
                with gr.Row():
                    box = gr.Textbox(
                        show_label=False,
                        placeholder="Ask about the documents…",
                        max_length=MAX_QUESTION_CHARS,
                        elem_id="scoqa-question",
                        container=False,
                        scale=6,
                        autofocus=True,
                    )
                    ask_btn = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="scoqa-ask")
                    clear_btn = gr.Button("Clear", scale=1, min_width=80, elem_id="scoqa-clear")
            with gr.Column(scale=1, min_width=260, variant="panel"):
                gr.Markdown("### Index")
                chosen = gr.Dropdown(label="Ask only these documents", choices=[], value=[], multiselect=True,
                                     elem_id="scoqa-documents", info="Empty: all documents.")
                status = gr.HTML(elem_id="scoqa-index")
                documents = gr.State([])  # [source, passages, title] rows of the document list
                upload = gr.File(label="Add documents: PDF, Word, HTML, Markdown, text", file_count="multiple",
                                 type="filepath", elem_id="scoqa-upload", height=120)
                replace = gr.Checkbox(label="Replace files of the same name", value=False, elem_id="scoqa-replace")
                outcome = gr.HTML(elem_id="scoqa-outcome")
                with gr.Accordion("Documents", open=True, elem_id="scoqa-document-list"):
                    @gr.render(inputs=documents)
                    def document_list(rows: list[list[Any]]) -> None:
                        if not rows:
                            gr.Markdown("No documents indexed yet.")
                        for source, count, title in rows:
                            with gr.Row(elem_classes="scoqa-doc-row", equal_height=True):
                                gr.HTML(f'<span class="scoqa-doc-name" title="{html.escape(title)}">'
                                        f'{html.escape(source)}</span> <span class="scoqa-doc-count">'
                                        f'{count} passages</span>', scale=3)
                                remove_btn = gr.Button("Remove", size="sm", scale=0, min_width=70,
                                                       elem_classes="scoqa-remove", key=f"remove:{source}")
                            remove_btn.click(remover(source), None, [outcome, status, documents],
                                             concurrency_limit=1, concurrency_id="index", **private).then(
                                document_choices, chosen, chosen, **private)
                generate = gr.Checkbox(
                    label="Write answers with the language model", value=settings.llm.enabled,
                    interactive=settings.llm.enabled, elem_id="scoqa-generate",
                    info=(f"{settings.llm.base_url}: every [n] is checked against its passage; the quoted "
                          "answer is given when it does not hold." if settings.llm.enabled else
                          "Off: set SCOQA_LLM_URL to an OpenAI-compatible server (docs/llm.md)."),
                )
                rebuild_btn = gr.Button("Rebuild index", elem_id="scoqa-rebuild")
                check_btn = gr.Button("Check for changes", size="sm", elem_id="scoqa-check")
                gr.Markdown(
                    "Answers are sentences quoted from the documents, found by BM25 and "
                    "all-MiniLM-L6-v2 embeddings. Everything runs on this machine.",
                    elem_classes="scoqa-about",
                )

        # One dependency for Enter and the button, so a second submit while answering is ignored.
        asking = gr.on([box.submit, ask_btn.click], respond, [box, chatbot, history, chosen, generate],
                       [box, chatbot, history], show_progress="minimal", show_progress_on=chatbot, **private)
        picking = chatbot.example_select(respond_example, [chatbot, history, chosen, generate], [box, chatbot, history],
                                         show_progress="minimal", show_progress_on=chatbot, **private)
        # Both the Clear button and the chat's own bin icon start a new conversation.
        clear_btn.click(lambda: ([], [], ""), None, [chatbot, history, box], cancels=[asking, picking],
                        queue=False, **private)
        chatbot.clear(lambda: [], None, history, cancels=[asking, picking], queue=False, **private)
        # Rebuilds, uploads and removals take turns: one index, one writer.
        rebuild_btn.click(rebuild, None, status, concurrency_limit=1, concurrency_id="index", **private).then(
            lambda: documents_of(settings), None, documents, **private).then(document_choices, chosen, chosen, **private)
        upload.upload(add_documents, [upload, replace], [outcome, upload, status, documents], concurrency_limit=1,
                      concurrency_id="index", **private).then(document_choices, chosen, chosen, **private)
        check_btn.click(current_status, None, status, **private).then(
            lambda: documents_of(settings), None, documents, **private).then(document_choices, chosen, chosen, **private)
        demo.load(current_status, None, status, **private).then(
            lambda: documents_of(settings), None, documents, **private).then(document_choices, None, chosen, **private)
        gr.api(api_ask, api_name="ask")
    demo.scoqa_settings = settings  # type: ignore[attr-defined]  # launch() serves with its upload limit
    return demo


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, share: bool = False, **kwargs: Any):
    """Queue and serve ``demo`` (kwargs go to ``Blocks.launch``, e.g. ``prevent_thread_lock``)."""
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=64)
    settings: Settings | None = getattr(demo, "scoqa_settings", None)
    if settings is not None:
        # Gradio itself refuses larger uploads, before they are written out.
        kwargs.setdefault("max_file_size", settings.max_upload_mb * 1024 * 1024)
        # The cited pages are served beside the app, by FastAPI routes of its own application.
        kwargs.setdefault("app_kwargs", {}).setdefault("routes", []).extend(viewer.routes(settings))
    return demo.launch(
        server_name=host, server_port=port, share=share, theme=gr.themes.Default(), css=CSS,
        show_error=False, footer_links=["api"], run_history=False, **kwargs,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command-line options (host, port, share), with defaults from SCOQA_HOST / SCOQA_PORT."""
    host, port = server_address()
    parser = argparse.ArgumentParser(description="scoqa chat app")
    parser.add_argument("--host", default=host, help="address to listen on (default 127.0.0.1, env SCOQA_HOST)")
    parser.add_argument("--port", type=int, default=port, help="port (default 7860, env SCOQA_PORT)")
    parser.add_argument("--share", action="store_true", help="also make a public gradio.live link (off by default)")
    return parser.parse_args(argv)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860, share: bool = False) -> None:
    """Load the model and index once, and serve the app over ``settings`` until Ctrl+C.

    Raises:
        SystemExit: saying what is wrong, if the index cannot be loaded or the port not served.
    """
    try:
        get_engine(settings).searcher()  # build or load the index (and the model) before serving
    except (ValueError, OSError, store.IndexProblem) as exc:
        raise SystemExit(f"scoqa app: {exc}") from None
    demo = build_app(settings)
    # Gradio's own banner suggests editing launch() for a share link; say how it works here instead.
    try:
        _, local_url, share_url = launch(demo, host, port, share, prevent_thread_lock=True, quiet=True)
    except OSError as exc:  # e.g. the port is taken
        raise SystemExit(f"scoqa app: cannot serve on {host}:{port}: {exc} (try --port)") from None
    print(f"scoqa chat: {local_url}" + (f"  (public link: {share_url})" if share_url else ""), flush=True)
    print("Press Ctrl+C to stop.", flush=True)
    demo.block_thread()


def main(argv: list[str] | None = None) -> None:
    """Parse the options and serve the app with the settings of the environment (``python app.py``)."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = app_settings()
    except ValueError as exc:
        raise SystemExit(f"scoqa app: {exc}") from None
    serve(settings, args.host, args.port, args.share)


if __name__ == "__main__":
    main()
