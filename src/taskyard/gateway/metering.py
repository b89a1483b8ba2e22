"""Reads what a model call is billed for from the answer as it streams through the proxy.

Every provider reports usage in its answer: Anthropic in ``message_start`` and
``message_delta`` (or the message, unstreamed), OpenAI's Responses API in
``response.completed`` (or the response), chat completions in ``usage``, Gemini in
each chunk's ``usageMetadata``. :class:`CallMeter` is fed the answer's bytes as
they pass (server-sent events line by line, a JSON body whole) and keeps the
latest figures, so an answer cut short by a killed agent still counts what its
events had reported.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from taskyard.model.prices import Usage

MAX_BODY = 8 << 20  # a JSON answer longer than this is not metered (no model sends one)


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _anthropic(raw: dict[str, Any]) -> Usage:
    read = _int(raw.get("cache_read_input_tokens"))
    written = _int(raw.get("cache_creation_input_tokens"))
    return Usage(
        input_tokens=_int(raw.get("input_tokens")) + read + written,
        cached_input_tokens=read,
        cache_write_tokens=written,
        output_tokens=_int(raw.get("output_tokens")),
    )


def _openai(raw: dict[str, Any]) -> Usage:
    if "prompt_tokens" in raw:  # chat completions
        details = raw.get("prompt_tokens_details") or {}
        return Usage(
            input_tokens=_int(raw.get("prompt_tokens")),
            cached_input_tokens=_int(details.get("cached_tokens")),
            output_tokens=_int(raw.get("completion_tokens")),
        )
    details = raw.get("input_tokens_details") or {}
    return Usage(
        input_tokens=_int(raw.get("input_tokens")),
        cached_input_tokens=_int(details.get("cached_tokens")),
        output_tokens=_int(raw.get("output_tokens")),
    )


def _google(raw: dict[str, Any]) -> Usage:
    return Usage(
        input_tokens=_int(raw.get("promptTokenCount")) + _int(raw.get("toolUsePromptTokenCount")),
        cached_input_tokens=_int(raw.get("cachedContentTokenCount")),
        output_tokens=_int(raw.get("candidatesTokenCount")) + _int(raw.get("thoughtsTokenCount")),
    )


class CallMeter:
    """The usage and model of one call, from its answer.

    Args:
        provider: ``anthropic``, ``openai`` or ``google``: whose shapes to read.
        model: The model the request asked for; the answer's own name replaces it.
        streamed: Whether the answer is server-sent events (else one JSON body).
    """

    def __init__(self, provider: str, model: str, *, streamed: bool) -> None:
        self.provider = provider
        self.model = model
        self.streamed = streamed
        self.seen = False  # whether the answer reported any usage
        self._raw: dict[str, Any] = {}
        self._pending = b""
        self._body: list[bytes] = []
        self._size = 0

    def feed(self, chunk: bytes) -> None:
        """Take the next bytes of the answer."""
        if not self.streamed:
            self._size += len(chunk)
            if self._size <= MAX_BODY:
                self._body.append(chunk)
            return
        lines = (self._pending + chunk).split(b"\n")
        self._pending = lines.pop()
        for line in lines:
            self._line(line)

    def usage(self) -> Usage:
        """The usage reported so far (all of it, once the answer has ended)."""
        if self.streamed and self._pending:
            self._line(self._pending)
            self._pending = b""
        elif self._body:
            body, self._body = b"".join(self._body), []
            with contextlib.suppress(ValueError):  # an error page, not JSON
                self._absorb(json.loads(body))
        if self.provider == "anthropic":
            return _anthropic(self._raw)
        if self.provider == "google":
            return _google(self._raw)
        return _openai(self._raw)

    def _line(self, line: bytes) -> None:
        line = line.strip()
        if not line.startswith(b"data:"):
            return
        # "[DONE]", a keep-alive, or a line that is not ours to read, is skipped.
        with contextlib.suppress(ValueError):
            self._absorb(json.loads(line[5:]))

    def _absorb(self, value: Any) -> None:
        if isinstance(value, list):  # Gemini's unstreamed streamGenerateContent: a JSON array
            for item in value:
                self._absorb(item)
            return
        if not isinstance(value, dict):
            return
        # The Anthropic message and the OpenAI response arrive wrapped in their events.
        inner = value.get("message") or value.get("response")
        if isinstance(inner, dict) and "usage" in inner:
            value = inner
        model = value.get("model") or value.get("modelVersion")
        if isinstance(model, str) and model:
            self.model = model
        usage = value.get("usage") or value.get("usageMetadata")
        if isinstance(usage, dict) and usage:
            self.seen = True
            # Anthropic's message_delta repeats only what changed (the output count);
            # the others report whole figures, the latest being the most complete.
            if self.provider == "anthropic":
                self._raw.update({k: v for k, v in usage.items() if v is not None})
            else:
                self._raw = usage
