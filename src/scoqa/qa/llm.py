"""The language model behind an OpenAI-compatible endpoint (Ollama, llama-server, vLLM, a hosted API).

:class:`Endpoint` streams chat completions through the official ``openai`` client, imported
only when an endpoint is used: without one, nothing of it is loaded. Every failure — a server
that is down, one that hangs, an HTTP error, a reply that is not a chat completion, a model that
runs past the deadline — becomes one :class:`LLMError` whose message says what happened, so
that the caller can give the quoted answer instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import Any

from ..config import LLMSettings

log = logging.getLogger(__name__)

#: Seconds to wait for a connection: a server that is down says so at once; an unreachable host does not.
CONNECT_TIMEOUT = 5.0


class LLMError(RuntimeError):
    """The endpoint could not give a usable reply (down, slow, an error, or garbage)."""


class Endpoint:
    """One OpenAI-compatible endpoint and model, with a deadline per reply."""

    def __init__(self, settings: LLMSettings) -> None:
        if not settings.enabled:
            raise ValueError("no language model endpoint is set: set SCOQA_LLM_URL or pass --llm-url")
        self.settings = settings

    @cached_property
    def client(self) -> Any:
        """The ``openai`` client (imported here: only a configured endpoint loads it)."""
        import httpx
        import openai

        timeout = httpx.Timeout(self.settings.timeout, connect=min(CONNECT_TIMEOUT, self.settings.timeout))
        # No retries: a second wait for a server that did not answer the first time only delays
        # the quoted answer.
        return openai.OpenAI(base_url=self.settings.base_url, api_key=self.settings.api_key or "none",
                             timeout=timeout, max_retries=0)

    @cached_property
    def model(self) -> str:
        """The model asked: the configured one, else the first the server lists.

        Raises:
            LLMError: if the server cannot be reached or lists no model.
        """
        if self.settings.model:
            return self.settings.model
        models = self._call(lambda: list(self.client.models.list()))
        if not models:
            raise LLMError(f"{self.settings.base_url} lists no model: set SCOQA_LLM_MODEL (or --llm-model)")
        return str(models[0].id)

    @property
    def name(self) -> str:
        """The model's name as people read it (a file path is shortened to its file name)."""
        try:
            return self.model.replace("\\", "/").rsplit("/", 1)[-1]
        except LLMError:
            return self.settings.model or "the language model"

    def _call(self, request: Any) -> Any:
        """Run ``request`` and turn the client's exceptions into :class:`LLMError`."""
        import httpx
        import openai

        try:
            return request()
        except (openai.APITimeoutError, httpx.TimeoutException):
            raise LLMError(f"the language model did not answer within {self.settings.timeout:g} s") from None
        except (openai.APIConnectionError, httpx.TransportError) as exc:
            raise LLMError(f"cannot reach the language model at {self.settings.base_url} "
                           f"({_short(str(exc.__cause__ or exc) or type(exc).__name__)})") from None
        except openai.APIStatusError as exc:
            raise LLMError(f"the language model's server answered HTTP {exc.status_code}: {_short(exc.message)}") from None
        except (openai.OpenAIError, ValueError, TypeError, AttributeError, KeyError) as exc:
            # A body that is not a chat completion (the client fails to read it) counts as garbage.
            raise LLMError(f"the language model's reply could not be read ({type(exc).__name__}: {_short(str(exc))})") from None

    def stream(self, messages: Sequence[dict[str, str]], max_tokens: int, deadline: float | None = None
               ) -> Iterator[str]:
        """The reply to ``messages``, piece by piece as the model writes it.

        Args:
            messages: Role/content chat messages.
            max_tokens: The longest reply, in the model's tokens.
            deadline: A ``time.monotonic()`` time by which the reply must be complete (default: the
                settings' timeout from now).

        Raises:
            LLMError: if the endpoint fails, or the reply is not done by the deadline.
        """
        deadline = deadline if deadline is not None else time.monotonic() + self.settings.timeout
        chunks = self._call(lambda: self.client.chat.completions.create(
            model=self.model, messages=list(messages), max_tokens=max_tokens, temperature=0.0, stream=True))
        iterator = iter(chunks)
        try:
            while True:
                chunk = self._call(lambda: next(iterator, None))
                if chunk is None:
                    return
                if time.monotonic() > deadline:
                    raise LLMError(f"the language model did not finish within {self.settings.timeout:g} s")
                choices = getattr(chunk, "choices", None) or []
                piece = getattr(getattr(choices[0], "delta", None), "content", None) if choices else None
                if piece:
                    yield str(piece)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # stop the server's work on a reply we no longer read

    def complete(self, messages: Sequence[dict[str, str]], max_tokens: int) -> str:
        """The whole reply to ``messages`` (streamed, so the deadline holds while the model writes).

        Raises:
            LLMError: as :meth:`stream`.
        """
        return "".join(self.stream(messages, max_tokens))


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
