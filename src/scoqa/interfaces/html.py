"""Rendering for the chat app: replies, sources and index status as safe chat/HTML content.

Everything that comes from a user or from the corpus goes through :func:`as_text` before it
reaches the page: HTML special characters become entities and Markdown punctuation is
backslash-escaped, so a question like ``<img src=x onerror=alert(1)>`` or a source containing
markup is shown literally and never executed — whatever the front end's own sanitizer does.
The only markup on the page is the markup written here.

No Gradio import: these functions are pure and unit-tested on their own.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from ..index.status import IndexStatus
from ..ingest import has_drawn_pages
from ..qa.answer import Reply
from ..search.searcher import Hit

#: Characters that Markdown (CommonMark/GFM) may interpret; any ASCII punctuation may be escaped.
_MARKDOWN_PUNCTUATION = frozenset("\\`*_{}[]()#+-.!|~$")
_HTML_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&#x27;"}
_MARKER = re.compile(r"\[(\d+)\]")

#: Where the app shows the page or section a passage comes from (:mod:`scoqa.interfaces.viewer`).
VIEW_PATH = "/scoqa/open"
#: The label of an answer the documents do not support.
NOT_IN_REPORT = "Not in the documents"


def as_text(value: object) -> str:
    """Escape ``value`` so that the chat's Markdown renderer shows it exactly as written.

    Args:
        value: Any text (a question, a passage, a citation); ``None`` gives ``""``.

    Returns:
        The text with HTML special characters as entities and Markdown punctuation escaped.
    """
    if value is None:
        return ""
    out = []
    for ch in str(value):
        if ch in _HTML_ENTITIES:
            out.append(_HTML_ENTITIES[ch])
        elif ch in _MARKDOWN_PUNCTUATION:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def highlight(text: str, spans: Iterable[tuple[int, int]], escape: Callable[[str], str] = as_text) -> str:
    """Escape ``text`` and wrap the character ``spans`` (start, end) in ``<mark>``.

    Overlapping or out-of-range spans are clipped and merged, so a bad offset never breaks
    the passage. ``escape`` is :func:`as_text` for the chat (HTML and Markdown), ``html.escape``
    for a plain HTML page.
    """
    merged: list[list[int]] = []
    for start, end in sorted((max(0, s), min(len(text), e)) for s, e in spans):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    parts, position = [], 0
    for start, end in merged:
        parts.append(escape(text[position:start]))
        parts.append(f'<mark class="scoqa-quote">{escape(text[start:end])}</mark>')
        position = end
    parts.append(escape(text[position:]))
    return "".join(parts)


def _with_markers(text: str, sources: int) -> str:
    """Escape an answer and show its ``[n]`` markers (those with a source) as citation badges."""
    parts, position = [], 0
    for match in _MARKER.finditer(text):
        n = int(match.group(1))
        if not 1 <= n <= sources:
            continue
        parts.append(as_text(text[position:match.start()]))
        parts.append(f'<sup class="scoqa-cite">[{n}]</sup>')
        position = match.end()
    parts.append(as_text(text[position:]))
    return "".join(parts)


def cited(reply: Reply) -> set[int]:
    """The 0-based indices of the sources that the answer's ``[n]`` markers refer to."""
    return {int(m.group(1)) - 1 for m in _MARKER.finditer(reply.text) if 1 <= int(m.group(1)) <= len(reply.sources)}


def source_title(reply: Reply, index: int) -> str:
    """The title of the collapsible block of ``reply.sources[index]``.

    ``[n] citation`` for a source the answer cites, ``Related · citation`` for one it only found,
    ``Possibly related · citation`` when the report does not answer the question.
    """
    citation = as_text(reply.sources[index].citation)
    if not reply.answered:
        return f"Possibly related · {citation}"
    if index in cited(reply):
        return f"[{index + 1}] {citation}"
    return f"Related · {citation}"


def open_url(chunk_id: str, spans: Iterable[tuple[int, int]]) -> str:
    """The address, relative to the app's page, that opens a passage with ``spans`` of it highlighted."""
    query = {"chunk": chunk_id}
    if spans := list(spans):
        query["q"] = ",".join(f"{start}-{end}" for start, end in spans)
    return f"{VIEW_PATH.lstrip('/')}?{urlencode(query, quote_via=quote)}#cited"


def passage_html(hit: Hit, spans: Iterable[tuple[int, int]]) -> str:
    """A source passage with its ``spans`` highlighted, and a link that opens its page (PDF) or
    section; a list entry also shows its list's lead-in and its date, which the entry's own words
    leave out."""
    spans = list(spans)
    context = ""
    if hit.lead_in:
        context += f'<span class="scoqa-lead-in">{as_text(hit.lead_in)}</span>\n\n'
    date = f'<strong class="scoqa-date">{as_text(hit.date)}</strong> · ' if hit.date else ""
    where = f"page {hit.page}" if hit.page is not None and has_drawn_pages(hit.source) else "section"
    link = (f'\n\n<a class="scoqa-open" href="{html.escape(open_url(hit.chunk_id, spans))}" target="_blank" '
            f'rel="noopener noreferrer">Open {where} ↗</a>')
    return f'{context}<span class="scoqa-passage">{date}{highlight(hit.text, spans)}</span>{link}'


def reply_messages(reply: Reply) -> list[dict[str, Any]]:
    """The chat messages for one reply: the answer, then one collapsed block per source.

    The answer keeps its ``[n]`` markers; block ``n`` is titled ``[n] citation`` and shows the
    passage with the answering sentence highlighted. A reply the report does not support is
    labelled "Not in the report" and its sources are titled "Possibly related".
    """
    if reply.answered:
        content = f'<span class="scoqa-answer">{_with_markers(reply.text, len(reply.sources))}</span>'
    else:
        note = " Here are passages that may be related." if reply.sources else ""
        content = (
            f'<span class="scoqa-badge scoqa-miss">⚠ {NOT_IN_REPORT}</span> '
            f'<span class="scoqa-unanswered">{as_text(reply.text)}{note}</span>'
        )
    if reply.notice:  # a language model was asked: say which mode answered
        label = "Generated · checked" if reply.mode == "generated" else "Quoted"
        content += (f'\n\n<span class="scoqa-badge scoqa-mode scoqa-{as_text(reply.mode)}">{label}</span> '
                    f'<span class="scoqa-searched">{as_text(reply.notice)}</span>')
    if reply.search_query and reply.search_query.strip() != reply.question.strip():
        content += f'\n\n<span class="scoqa-searched">Searched for: “{as_text(reply.search_query)}”</span>'
    messages: list[dict[str, Any]] = [{"role": "assistant", "content": content}]
    for i, hit in enumerate(reply.sources):
        spans = [(q.start, q.end) for q in reply.quotes if q.source == i]
        messages.append({
            "role": "assistant",
            "content": passage_html(hit, spans),
            "metadata": {"title": source_title(reply, i), "status": "done"},
        })
    return messages


def draft_message(text: str) -> dict[str, Any]:
    """The language model's answer as it streams in, shown as a pending note: it is checked (and
    may be corrected or replaced by the quoted answer) before the reply is final."""
    return {"role": "assistant", "content": as_text(text) or "…",
            "metadata": {"title": "Draft by the language model — checked against the sources before it is final",
                         "status": "pending"}}


def user_message(question: str) -> dict[str, Any]:
    """The chat message showing a question exactly as typed."""
    return {"role": "user", "content": as_text(question)}


def error_message(text: str) -> dict[str, Any]:
    """An assistant message that reports a problem in words (never a traceback)."""
    return {"role": "assistant", "content": f'<span class="scoqa-badge scoqa-error">Problem</span> {as_text(text)}'}


def clean_history(history: Sequence[Any] | None) -> list[dict[str, str]]:
    """Keep only well-formed user/assistant text turns: what :func:`scoqa.ask` expects."""
    turns = []
    for message in history or []:
        if not isinstance(message, dict) or message.get("metadata"):
            continue
        role, content = message.get("role"), message.get("content")
        if role in ("user", "assistant") and isinstance(content, str) and content.strip():
            turns.append({"role": role, "content": content})
    return turns


def reply_to_dict(reply: Reply) -> dict[str, Any]:
    """A JSON-ready form of a reply (the app's ``/ask`` API)."""
    return {
        "text": reply.text,
        "answered": reply.answered,
        "confidence": reply.confidence,
        "question": reply.question,
        "search_query": reply.search_query,
        "mode": reply.mode,
        "notice": reply.notice,
        "sources": [
            {
                "n": i + 1,
                "citation": hit.citation,
                "text": hit.text,
                "source": hit.source,
                "section": hit.section,
                "page": hit.page,
                "line_start": hit.line_start,
                "line_end": hit.line_end,
                "quotes": [[q.start, q.end] for q in reply.quotes if q.source == i],
            }
            for i, hit in enumerate(reply.sources)
        ],
    }


def _when(iso: str) -> str:
    """An ISO 8601 build time as ``2026-11-29 12:50 UTC`` (or as given if it does not parse)."""
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso or "unknown"
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def status_html(status: IndexStatus | None, error: str = "") -> str:
    """The index panel: files, passages, model, build time and whether the sources changed."""
    if status is None:
        return f'<div class="scoqa-index"><p class="scoqa-error">{html.escape(error)}</p></div>'
    if not status.exists:
        state = '<span class="scoqa-badge scoqa-miss">Not built</span>'
        rows = [("Sources", f"{len(status.added)} file(s) waiting")]
    else:
        if status.stale:
            state = '<span class="scoqa-badge scoqa-miss">Sources changed since the build</span>'
        else:
            state = '<span class="scoqa-badge scoqa-ok">Up to date</span>'
        rows = [
            ("Files", str(status.files)),
            ("Passages", str(status.chunks)),
            ("Model", status.model),
            ("Built", _when(status.built_at)),
        ]
        if status.stale:
            for what, names in (("Added", status.added), ("Changed", status.changed), ("Removed", status.removed)):
                if names:
                    rows.append((what, ", ".join(names)))
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    problems = "".join(f"<li>{html.escape(p)}</li>" for p in status.problems)
    if problems:
        problems = f'<p class="scoqa-problems-title">Files that could not be read</p><ul class="scoqa-problems">{problems}</ul>'
    hint = '<p class="scoqa-hint">Press “Rebuild index” to take them in.</p>' if status.stale else ""
    return (f'<div class="scoqa-index"><div class="scoqa-index-state">{state}</div><table>{body}</table>'
            f"{hint}{problems}</div>")


def outcome_lines_html(lines: Sequence[tuple[bool, str]]) -> str:
    """What happened to each uploaded file (or to a removed document): one line each, the problems
    marked; ``lines`` holds ``(ok, text)`` pairs."""
    if not lines:
        return ""
    items = "".join(f'<li class="{"scoqa-done" if ok else "scoqa-refused"}">{"" if ok else "⚠ "}{html.escape(text)}</li>'
                    for ok, text in lines)
    return f'<ul class="scoqa-outcomes">{items}</ul>'
