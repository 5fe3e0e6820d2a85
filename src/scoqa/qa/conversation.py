"""Follow-up questions without a language model: resolve a question against earlier turns.

"When did it happen?" after "How many people died in Beslan?" searches for
"When did it happen? Beslan people died": the names and dates of the previous question, then its
other content words, are carried into retrieval when the new question leans on it
(a pronoun, "the 2009 one", "What about Kyrgyzstan?", "And the Convention Against Terrorism?",
too few words of its own, or two words and no name or date: "How many people were killed?"). When the
follow-up names a new entity or number, it replaces the previous one of the same kind rather than
adding to it. A question that stands on its own is searched as asked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..text import QUESTION_WORDS, WORD, content_terms, is_month

#: Words that point back to something said before.
_ANAPHORA = re.compile(
    r"\b(it|its|it's|they|them|their|theirs|this|that|these|those|there|he|him|his|she|her|"
    r"the same|the latter|the former|the (?:\d{4}|first|second|last|other) one|that one|this one)\b",
    re.IGNORECASE,
)
#: Openings of an elliptical follow-up: "What about ...", "And ...", "How about ...".
_ELLIPSIS = re.compile(r"^\s*(?:and|what about|how about|and what about|what of|also|then)\b", re.IGNORECASE)
#: Words that ask for something besides what was said before: "Which *other* product ...".
_CONTRAST = re.compile(r"\b(other|another|else|different)\b", re.IGNORECASE)
#: The citation marker after each quote of an answer: "... in 2001. [1]".
_MARKER = re.compile(r"\s*\[\d+\]")
#: A question with fewer own content words than this is treated as leaning on the previous turn.
_MIN_OWN_TERMS = 2


def message_text(content: Any) -> str:
    """The text of a chat message's content: a string, or Gradio 6 content blocks."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or content.get("content") or "") if content.get("type", "text") == "text" else ""
    if isinstance(content, Iterable):
        return " ".join(message_text(part) for part in content).strip()
    return str(content)


def user_questions(history: Sequence[dict[str, Any]] | None) -> list[str]:
    """The user's earlier questions, oldest first, from role/content messages."""
    questions = []
    for message in history or []:
        if not isinstance(message, dict):
            continue
        if message.get("role") == "user":
            text = message_text(message.get("content")).strip()
            if text:
                questions.append(text)
    return questions


def last_answer(history: Sequence[dict[str, Any]] | None) -> str:
    """The text of the assistant's last reply, when the conversation ends with one (else "")."""
    messages = [m for m in history or [] if isinstance(m, dict) and m.get("role") in ("user", "assistant")]
    if not messages or messages[-1].get("role") != "assistant":
        return ""
    return message_text(messages[-1].get("content")).strip()


def quoted(answer: str) -> list[str]:
    """The pieces of an answer that stand before its ``[n]`` markers: what it quoted, in order."""
    return [part.strip() for part in _MARKER.split(answer)[:-1] if part.strip()]


def _kind(word: str) -> str:
    """``"when"`` for dates and numbers, ``"name"`` for capitalised words, else ``""``."""
    if word[:1].isdigit() or is_month(word):
        return "when"
    return "name" if word[:1].isupper() else ""


def _own_kinds(question: str) -> set[str]:
    """Kinds of entity the question names itself (its first word is capitalised by grammar)."""
    kinds = set()
    for position, match in enumerate(WORD.finditer(question)):
        word = match.group().strip("?.,!;:")
        if word.lower() in QUESTION_WORDS:
            continue
        kind = _kind(word)
        if kind == "name" and position == 0:
            continue
        if kind:
            kinds.add(kind)
    return kinds


def needs_context(question: str) -> bool:
    """Whether a question leans on an earlier turn to make sense.

    Besides pronouns and "What about ...", a short question that names nothing ("How many people
    were killed?") asks about whatever was being discussed.
    """
    if _ANAPHORA.search(question) or _ELLIPSIS.search(question):
        return True
    own = len(content_terms(question))
    return own < _MIN_OWN_TERMS or (own <= _MIN_OWN_TERMS and not _own_kinds(question))


def resolve(question: str, previous: str, common: Callable[[str], bool] | None = None) -> str:
    """The search query for ``question`` given the (resolved) previous question.

    Args:
        question: The new question.
        previous: The previous question, itself already resolved.
        common: Whether a name is in so much of the corpus that it says nothing of the topic
            ("SCO" in a report on the SCO); such a name is carried like any other word.

    Returns:
        ``question`` unchanged if it stands alone, else the question followed by the previous
        question's salient terms (minus those its own entities replace).
    """
    if not previous or not needs_context(question):
        return question
    own = {w.lower() for w in content_terms(question)}
    own_kinds = _own_kinds(question)
    # "How many of *those* are in the Clarion-Clipperton Zone?" narrows what "those" points to,
    # so the earlier names stay; "Which *other* product ...?" asks past them.
    if _ANAPHORA.search(question) and not _CONTRAST.search(question):
        own_kinds.discard("name")
    carried: list[str] = []
    for word in content_terms(previous):
        # "What about Kyrgyzstan?" replaces the earlier place, it does not add to it; a new date
        # replaces the earlier date.
        if _kind(word) and _kind(word) in own_kinds:
            continue
        if word.lower() not in own and word not in carried and not _ANAPHORA.fullmatch(word):
            carried.append(word)  # "there", "it": what they point to is carried, not the pointer
    # Names and dates are what a follow-up refers back to, and they go first; the previous
    # question's other words come after them: in a document that is not a list of named events,
    # "Through what date were they extended?" after "Which company holds the U.S. exploration
    # licenses?" is about licenses, not about "U.S." (measured on the report's and the devcorpus's
    # conversations together: names alone lost half of the devcorpus follow-ups). A name the whole
    # corpus is about ("SCO") is no name here.
    named = [w for w in carried if _kind(w) and not (common and common(w))]
    carried = named + [w for w in carried if w not in named]
    return f"{question} {' '.join(carried)}".strip() if carried else question


def resolve_history(question: str, history: Sequence[dict[str, Any]] | None,
                    common: Callable[[str], bool] | None = None) -> str:
    """Resolve ``question`` against the whole conversation, each earlier turn resolved in turn."""
    resolved = ""
    for earlier in user_questions(history):
        resolved = resolve(earlier, resolved, common)
    return resolve(question, resolved, common)
