"""Redaction of secret values from everything taskyard stores or prints."""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable
from typing import Any

MASK = "[REDACTED]"
MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words


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
