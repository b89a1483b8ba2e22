"""Log lines of ``serve`` and ``worker``: text for people, or JSON for a log pipeline.

In JSON, each line is one object: ``time``, ``level``, ``logger``, ``message`` (and
``exception`` when there is one), plus what the line is about when the code that logged
it works on a task: ``task`` (its key), ``task_id``, ``stage``, ``run_id``, ``turn`` and
``activity``. The engine opens :func:`about` around each activity; asyncio copies the
context into every task it starts, and ``asyncio.to_thread`` into its thread, so whatever
an activity calls logs it too.

Secrets stay masked: :func:`taskyard.model.redaction.mask_logs` puts its filter on the
handler, and a handler's filters all run before its formatter.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any, Literal, TextIO

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"

_about: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("taskyard_log_about")


def current() -> dict[str, Any]:
    """What log lines written here are about (empty outside any task's work)."""
    return _about.get({})


@contextlib.contextmanager
def about(**fields: Any) -> Iterator[None]:
    """Log lines written inside carry ``fields`` (those not ``None``), and the enclosing ones."""
    token = _about.set({**current(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _about.reset(token)


class AboutFilter(logging.Filter):
    """Stamps each record with what it is about, while still in the logging context."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.about = current()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "about", {}),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)


def handler(log_format: LogFormat, stream: TextIO | None = None) -> logging.Handler:
    """A handler writing ``log_format`` lines to ``stream`` (standard error by default)."""
    result = logging.StreamHandler(stream or sys.stderr)
    result.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    result.addFilter(AboutFilter())
    return result


def configure(log_format: LogFormat, level: int = logging.WARNING) -> None:
    """Send this process's logs to standard error in ``log_format`` (once per process)."""
    logging.basicConfig(level=level, handlers=[handler(log_format)])
