"""Redaction of secret values from everything taskyard stores or prints: the values
it knows (:class:`Redactor`), and text shaped like a credential it does not know
(:func:`redact_credentials`), for text from outside and what taskyard posts."""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable
from typing import Any

import re2

MASK = "[REDACTED]"
MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words

# Credentials by their published shapes. RE2 runs in linear time, so hostile text
# (a CI log, a comment) cannot make the scan backtrack.
CREDENTIAL_PATTERN = re2.compile(
    "|".join(
        (
            r"\bgh[pousr]_[A-Za-z0-9_]{20,}",  # GitHub tokens: classic, OAuth, user, app, refresh
            r"\bgithub_pat_[A-Za-z0-9_]{20,}",  # GitHub fine-grained tokens
            r"\bsk-[A-Za-z0-9_-]{20,}",  # Anthropic (sk-ant-...) and OpenAI (sk-, sk-proj-...)
            r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",  # AWS access key ids
            r"\bxox[baprs]-[A-Za-z0-9-]{10,}",  # Slack
            r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",  # JWTs
            # A private key block, to its end line or, cut short, to the end of the text.
            r"(?s:-----BEGIN[A-Z ]{0,40}PRIVATE KEY-----.*?"
            r"(?:-----END[A-Z ]{0,40}PRIVATE KEY-----|\z))",
        )
    )
)


def redact_credentials(text: str) -> str:
    """``text`` with everything shaped like a credential replaced by the mask."""
    return CREDENTIAL_PATTERN.sub(MASK, text)  # type: ignore[no-any-return]


class Redactor:
    """Replaces every occurrence of the given secret values with a mask."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, values))) if values else None

    def text(self, value: str) -> str:
        return self._pattern.sub(MASK, value) if self._pattern else value

    def data(self, value: Any) -> Any:
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.data(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v) for v in value]
        return value


# Every secret value this process has met, for masking its own log lines.
_remembered: set[str] = set()


def remember(values: Iterable[str]) -> None:
    """Mask ``values`` in this process's logs from now on."""
    _remembered.update(v for v in values if len(v) >= MIN_SECRET_LENGTH)


def redact_known(text: str) -> str:
    """``text`` with credentials by their shapes, and every secret value this process has
    met, masked: for an error's text, which may have picked up either on its way."""
    return Redactor(_remembered).text(redact_credentials(text))


class SecretsFilter(logging.Filter):
    """A handler filter that masks remembered secrets in messages and tracebacks."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _remembered:
            return True
        redactor = Redactor(_remembered)
        record.msg, record.args = redactor.text(record.getMessage()), None
        if record.exc_info:
            text = "".join(traceback.format_exception(*record.exc_info))
            record.exc_text, record.exc_info = redactor.text(text).rstrip("\n"), None
        return True


def mask_logs(values: Iterable[str]) -> None:
    """Remember ``values`` and mask secrets on every handler of the root logger."""
    remember(values)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, SecretsFilter) for f in handler.filters):
            handler.addFilter(SecretsFilter())
