"""What the sync and async clients share: configuration, calls, deadlines, SSE decoding.

A :class:`Call` describes one request and how to read its answer, independent of
I/O, so each operation is written once (in ``_calls``) and both clients run it. The
errors are in :mod:`taskyard.sdk.errors`; a deadline passing raises the built-in
:class:`TimeoutError`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from taskyard import __version__
from taskyard.sdk.errors import TaskyardAPIError, TaskyardConnectionError, api_error_for

T = TypeVar("T")

DEFAULT_URL = "http://127.0.0.1:8420"
USER_AGENT = f"taskyard-sdk/{__version__}"
# The server sends a keepalive comment every 15 s, so a minute of silence means
# the connection is gone, not that the task is quiet.
STREAM_READ_TIMEOUT = 60.0
RECONNECT_ATTEMPTS = 5


def resolve_url(url: str | None) -> str:
    """``url``, else ``TASKYARD_URL``, else the default local server."""
    return (url or os.environ.get("TASKYARD_URL") or DEFAULT_URL).rstrip("/")


def resolve_token(token: str | None) -> str:
    """``token``, else ``TASKYARD_TOKEN``, else none (the server will answer 401)."""
    return token or os.environ.get("TASKYARD_TOKEN", "")


def needs_tls(url: str) -> bool:
    """Whether requests to ``url`` use TLS, so the client must load CA certificates.

    Loading them takes about 40 ms, a sixth of a CLI command's life; a plain
    ``http://`` server needs none (requests stay on the base URL, and redirects
    are not followed).
    """
    return not url.lower().startswith("http://")


def default_headers(token: str) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def connection_error(url: str, exc: httpx.TransportError) -> TaskyardConnectionError:
    return TaskyardConnectionError(f"Cannot reach taskyard at {url}: {exc or type(exc).__name__}")


def backoff(attempt: int) -> float:
    """Seconds to wait before reconnect ``attempt`` (1-based): 0.25, 0.5, 1, 2, 4."""
    return float(min(0.25 * 2 ** (attempt - 1), 4.0))


def api_error(response: httpx.Response) -> TaskyardAPIError:
    """The error a failed response stands for; the body must have been read."""
    code, message, details = "http_error", "", None
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
        details = error.get("details") if isinstance(error.get("details"), dict) else None
    except (ValueError, KeyError, TypeError):
        # Not our error shape: a proxy's page, or a bare 502. Say what we got.
        message = response.text.strip()[:300]
    message = message or f"HTTP {response.status_code} from the server."
    return api_error_for(response.status_code, code, message, details)


def check_deadline(deadline: float | None) -> None:
    """Raise :class:`TimeoutError` once ``deadline`` (a ``time.monotonic()`` value) passed."""
    if deadline is not None and time.monotonic() >= deadline:
        raise TimeoutError("Timed out waiting for the task.")


def stream_timeout(deadline: float | None) -> httpx.Timeout:
    """A live stream's timeouts: a read never outlasts the deadline (nor the keepalive)."""
    read = STREAM_READ_TIMEOUT
    if deadline is not None:
        read = min(read, max(deadline - time.monotonic(), 0.001))
    return httpx.Timeout(30.0, read=read)


def parse_json(response: httpx.Response) -> Any:
    return response.json()


def parse_text(response: httpx.Response) -> str:
    return response.text


def parse_nothing(response: httpx.Response) -> None:
    return None


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API request and how to turn its (successful) response into a result."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: Mapping[str, Any] | None = None
    json: Any = None
    content: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def finish(self, response: httpx.Response) -> T:
        """Raise :class:`TaskyardAPIError` on 4xx/5xx, else parse the response."""
        if response.is_error:
            raise api_error(response)
        return self.parse(response)


@dataclass
class Frame:
    """One Server-Sent Events message."""

    event: str = "message"
    data: str = ""
    id: str = ""

    def json(self) -> Any:
        return json.loads(self.data)


class SSEDecoder:
    """Turns the lines of a ``text/event-stream`` body into :class:`Frame` values.

    Feed lines one at a time so the caller can check a deadline between them,
    including on keepalive comments, which produce no frame.
    """

    def __init__(self) -> None:
        self._frame = Frame()
        self._data: list[str] = []

    def feed(self, line: str) -> Frame | None:
        if not line:
            if not self._data and self._frame.event == "message":
                return None
            frame, self._frame = self._frame, Frame()
            frame.data, self._data = "\n".join(self._data), []
            return frame
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._frame.event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            self._frame.id = value
        return None
