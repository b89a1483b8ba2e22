"""Per-turn credentials: what an agent presents to the gateway instead of a real key.

A credential is a random token issued when a turn starts and revoked when it ends.
Only its SHA-256 hash is kept, in the memory of the worker process that runs the
turn (the same process serves the gateway the agent talks to), mapped to a
:class:`Grant`: the task, its organization and the one model provider it may use.
A leaked credential is worth nothing once the turn is over, and nothing at all
outside the worker's loopback, which only the task's sandbox is bridged to. The
store is this process's; what ends a credential across processes is its task's
row (final, or a stop recorded), which the gateway reads at every model call.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass, field

from starlette.requests import Request

from taskyard.model.redaction import Redactor
from taskyard.model.template import Budget, ModelPrice

PREFIX = "tyc_"  # recognisable in an agent's environment; never a provider key's prefix


@dataclass(frozen=True)
class Grant:
    """What a credential stands for.

    Attributes:
        task_id: The task whose turn it was issued for.
        task_key: The task's key, for log lines (never the credential).
        org_id: Whose provider keys the proxy uses.
        run_id: The run the turn belongs to; events it causes are filed under it.
        provider: The model provider it may reach (``anthropic``, ``openai``), or
            ``""`` for none (agents that need no model still get status reporting).
        redactor: Masks the task's secrets in what the agent reports.
        budget: The task's budget, which the proxy keeps at every model call.
        prices: The template's model prices, over the built-in table.
    """

    task_id: int
    task_key: str
    org_id: int
    run_id: int
    provider: str = ""
    redactor: Redactor = field(default_factory=Redactor, compare=False)
    budget: Budget = field(default_factory=Budget, compare=False)
    prices: dict[str, ModelPrice] = field(default_factory=dict, compare=False)


def new_credential() -> str:
    """A fresh credential: 256 random bits, URL-safe (it may sit in a URL path)."""
    return PREFIX + secrets.token_urlsafe(32)


def _digest(credential: str) -> str:
    return hashlib.sha256(credential.encode()).hexdigest()


class CredentialStore:
    """Hashed credentials of the turns running in this process; thread-safe."""

    def __init__(self) -> None:
        self._grants: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def add(self, credential: str, grant: Grant) -> None:
        """Make ``credential`` valid for ``grant`` until it is revoked."""
        with self._lock:
            self._grants[_digest(credential)] = grant

    def lookup(self, credential: str) -> Grant | None:
        """The grant behind ``credential``, or None if unknown or revoked."""
        if not credential.startswith(PREFIX):
            return None
        with self._lock:
            return self._grants.get(_digest(credential))

    def revoke(self, credential: str) -> None:
        """Make ``credential`` invalid (a no-op if it already is)."""
        with self._lock:
            self._grants.pop(_digest(credential), None)

    def revoke_task(self, task_id: int) -> int:
        """Revoke every credential of a task; returns how many there were."""
        with self._lock:
            gone = [h for h, g in self._grants.items() if g.task_id == task_id]
            for digest in gone:
                del self._grants[digest]
        return len(gone)

    def __len__(self) -> int:
        with self._lock:
            return len(self._grants)


def presented_credential(request: Request, path_credential: str = "") -> str:
    """The credential a request carries.

    In order: a path segment (MCP clients that can only be given a URL),
    ``x-api-key`` (Anthropic clients), ``x-goog-api-key`` (Gemini clients),
    ``Authorization: Bearer`` (OpenAI clients).
    """
    if path_credential:
        return path_credential
    for header in ("x-api-key", "x-goog-api-key"):
        if key := request.headers.get(header, ""):
            return key.strip()
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""
