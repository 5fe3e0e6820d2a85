"""scoqa chat app: a thin Gradio layer over ``scoqa.retrieve``.

Run ``make run`` (or ``python app.py --host 127.0.0.1 --port 7860``) and open the printed address.
"""

from __future__ import annotations

import argparse
import html
import os

import gradio as gr

from scoqa.api import get_engine
from scoqa.config import Settings

EXAMPLES = [
    "When was the SCO founded?",
    "How many people died in Beslan?",
    "Where is the Regional Anti-Terrorist Structure based?",
    "Which exercise was held in Zhambyl?",
]


def answer(message: str, history: list[dict]) -> str:
    """Show the top passages for a question, each with its citation."""
    if not message or not message.strip():
        return "Please type a question about the report."
    try:
        hits = get_engine().retrieve(message, k=3)
    except Exception as exc:  # shown in the chat, never as a traceback
        return f"Sorry, something went wrong: {html.escape(str(exc))}"
    lines = []
    for n, hit in enumerate(hits, start=1):
        lines.append(f"**[{n}]** {html.escape(hit.text)}\n\n<sub>{html.escape(hit.citation)}</sub>")
    return "\n\n".join(lines) or "No passage found."


def build_app() -> gr.Blocks:
    """The Gradio app."""
    return gr.ChatInterface(
        answer,
        title="scoqa — SCO counter-terrorism report",
        description="Ask a question about the report; answers come with the passages they are from.",
        examples=EXAMPLES,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="scoqa chat app")
    parser.add_argument("--host", default=os.environ.get("SCOQA_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SCOQA_PORT", "7860")))
    args = parser.parse_args()
    get_engine(Settings.from_env()).searcher()  # build or load the index before serving
    build_app().queue(default_concurrency_limit=4).launch(server_name=args.host, server_port=args.port, share=False)


if __name__ == "__main__":
    main()
