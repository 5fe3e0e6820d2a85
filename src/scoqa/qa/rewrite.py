"""Follow-ups made standalone by a language model, and checked before they are searched.

With an endpoint, a question that leans on the conversation (:func:`scoqa.qa.conversation.needs_context`:
a pronoun, "What about ...", too few words of its own) is rewritten by the model into one that
stands alone ("When was it held?" -> "When was the Peace Mission-2007 exercise held?"). The
rewrite is used only if it is a question, keeps every content word of the question, adds some
word to it, and adds no name, number or date that the conversation does not hold; otherwise the
rules of :mod:`scoqa.qa.conversation` resolve it, as they do without an endpoint (a rewrite that
adds nothing would be searched with less than the rules give it). A question that stands alone
is never sent.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from ..text import WORD, is_month, query_terms
from .conversation import message_text, needs_context, user_questions
from .llm import Endpoint, LLMError

log = logging.getLogger(__name__)

#: The reply is one question: anything longer than this is not one.
MAX_REWRITE_TOKENS = 64
#: Earlier turns shown to the model (the last ones: a follow-up leans on what was just said).
TURNS_SHOWN = 4
#: Characters of each earlier answer shown.
ANSWER_CHARS = 300

SYSTEM = (
    "Rewrite the user's last question so that it can be understood without the conversation: "
    "replace words like 'it', 'they', 'there' or 'that' with what they refer to in the conversation. "
    "Keep every word of the question. Reply with the rewritten question only."
)
_MARKER = re.compile(r"\s*\[\d+\]")
_PREFIX = re.compile(r"^\s*(?:rewritten(?: question)?|standalone(?: question)?|question)\s*:\s*", re.IGNORECASE)


def _conversation(history: Sequence[dict[str, Any]]) -> list[str]:
    """The last earlier turns as lines, markers removed and long answers cut."""
    lines = []
    for message in history:
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            continue
        text = _MARKER.sub("", message_text(message.get("content"))).strip()
        if text:
            who = "User" if message["role"] == "user" else "Assistant"
            lines.append(f"{who}: {text[:ANSWER_CHARS]}")
    return lines[-TURNS_SHOWN:]


def _names(text: str) -> set[str]:
    """The names (capitalised words past the first), numbers and months of ``text``, lower-cased."""
    found = set()
    for position, match in enumerate(WORD.finditer(text)):
        word = match.group().strip(".,’'-–?")
        if word and (word[:1].isdigit() or is_month(word) or (word[:1].isupper() and position > 0)):
            found.add(word.lower())
    return found


def acceptable(question: str, rewrite: str, history: Sequence[dict[str, Any]]) -> bool:
    """Whether ``rewrite`` may stand for ``question``: it is a question, keeps the question's
    words, adds at least one word (from the conversation) and no name, number or date that the
    conversation does not hold."""
    if not rewrite or len(rewrite) > 3 * len(question) + 200:
        return False
    # The model was asked for a question: "In September 2001, Tajikistan: adviser of the president
    # murdered" (an earlier answer's words around the new date) is an answer made up, not one.
    if not rewrite.rstrip().endswith("?"):
        return False
    # Every word of the question but its stop words ("it", "did") is kept, its verb too ("happen");
    # and something is added: "And what about Afghanistan?" for "What about Afghanistan?" is no
    # rewrite, and searched alone it finds less than the rules' expansion ("... become observer").
    asked, written = set(query_terms(question)), set(query_terms(rewrite))
    if not asked <= written or not written - asked:
        return False
    said = _names(" ".join(message_text(m.get("content")) for m in history if isinstance(m, dict)))
    said |= _names(question) | {w.lower() for w in WORD.findall(question)}
    return _names(rewrite) <= said


def rewrite_followup(endpoint: Endpoint, question: str, history: Sequence[dict[str, Any]] | None) -> str | None:
    """The model's standalone form of a follow-up, if it passes :func:`acceptable`; None when the
    question stands alone, there is no conversation, or the rewrite is refused or fails (then the
    rules resolve it)."""
    if not history or not user_questions(history) or not needs_context(question):
        return None
    lines = _conversation(history)
    prompt = "Conversation:\n" + "\n".join(lines) + f"\n\nLast question: {question}\nRewritten question:"
    try:
        reply = endpoint.complete([{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}],
                                  MAX_REWRITE_TOKENS)
    except LLMError as exc:
        log.warning("follow-up not rewritten: %s", exc)
        return None
    lines = [line for line in reply.strip().splitlines() if line.strip()]
    rewrite = _PREFIX.sub("", lines[0]).strip().strip('"“”') if lines else ""
    if acceptable(question, rewrite, history):
        return rewrite
    log.info("rewrite of %r refused: %r", question, rewrite)
    return None
