"""Scripted stand-ins for the model APIs that agent CLIs talk to.

Each fake speaks the real wire protocol on 127.0.0.1 (a random port) from a
thread, answers the agent's main conversation from a *script* and records every
request so tests can assert on prompts, history and credentials::

    with AnthropicServer([call("Write", file_path=..., content="hi\\n"), say("Done.")]) as srv:
        ...  # run `claude` with ANTHROPIC_BASE_URL=srv.url
        assert srv.main_requests[-1].headers["x-api-key"] == "task-key"

A script step is chosen from the request itself, not from a counter: step *n* answers a
conversation that already holds *n* model replies. So a resumed session that
replays its history continues the script, and a CLI's side requests (titles,
quota probes, which carry no tools) never advance it. ``forever=step`` answers every
step past the script with ``step``: an agent that loops until it is stopped.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette

from taskyard.listen import tcp_listener

__all__ = ["RecordedRequest", "ScriptedServer", "Step", "call", "call_freeform", "say"]


@dataclass(frozen=True)
class Step:
    """One model reply: optional text, then optionally one tool call.

    ``raw`` makes the call a freeform one (OpenAI ``custom_tool_call``, such as
    Codex's ``apply_patch``) whose input is that text instead of JSON arguments.
    """

    text: str = ""
    tool: str = ""
    input: dict[str, Any] = field(default_factory=dict)
    raw: str | None = None
    input_tokens: int = 120
    output_tokens: int = 30


def say(text: str, *, input_tokens: int = 120, output_tokens: int = 30) -> Step:
    """A final answer: text and no tool call, which ends the agent's turn."""
    return Step(text=text, input_tokens=input_tokens, output_tokens=output_tokens)


def call(
    tool: str, text: str = "", *, input_tokens: int = 120, output_tokens: int = 30, **args: Any
) -> Step:
    """A tool call with ``args`` as its input (``Write``, ``Bash``, ``exec_command``…)."""
    return Step(
        text=text, tool=tool, input=args, input_tokens=input_tokens, output_tokens=output_tokens
    )


def call_freeform(
    tool: str, raw: str, text: str = "", *, input_tokens: int = 120, output_tokens: int = 30
) -> Step:
    """A freeform tool call whose input is ``raw`` text (Codex's ``apply_patch``)."""
    return Step(
        text=text, tool=tool, raw=raw, input_tokens=input_tokens, output_tokens=output_tokens
    )


@dataclass
class RecordedRequest:
    """What a fake received, and how it classified and answered it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    main: bool = False  # part of the agent's conversation (as opposed to a side request)
    step: int | None = None  # index of the script step it was answered with
    input_tokens: int = 0  # usage the reply reported: what the call is billed for
    output_tokens: int = 0
    at: float = field(default_factory=time.time)  # when it arrived


class ScriptedServer:
    """Runs a Starlette app with uvicorn in a thread; subclasses build the app.

    The listening socket is bound before the thread starts, so :attr:`url` is
    usable at once: connections wait in the backlog until uvicorn accepts them.
    """

    def __init__(
        self, script: list[Step], *, api_key: str | None = None, forever: Step | None = None
    ) -> None:
        self.script = list(script)
        self.forever = forever
        self.api_key = api_key  # when set, other credentials get the API's 401
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._sock = tcp_listener("127.0.0.1", 0, backlog=64)
        host, port = self._sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"  # base URL, without a trailing slash
        config = uvicorn.Config(
            self.app(), log_level="warning", lifespan="off", ws="none", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def app(self) -> Starlette:
        """The ASGI app speaking the protocol; implemented by each fake."""
        raise NotImplementedError

    @property
    def main_requests(self) -> list[RecordedRequest]:
        """Requests that belonged to the agent's conversation, in arrival order."""
        with self._lock:
            return [r for r in self.requests if r.main]

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def step_for(self, replies_so_far: int) -> tuple[int, Step]:
        """The script step answering a conversation holding ``replies_so_far`` replies.

        Past the end of the script the fake says so in plain text, which ends the
        agent's turn and makes the test's assertions fail with a readable reason.
        """
        if replies_so_far < len(self.script):
            return replies_so_far, self.script[replies_so_far]
        if self.forever is not None:
            return replies_so_far, self.forever
        return replies_so_far, say(f"(fake model: script exhausted at step {replies_so_far})")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
