"""The ``aider`` agent: Aider (``aider-chat`` from PyPI) with one ``--message-file``.

Aider edits files by writing edit blocks in its reply, which it applies itself; it
has no tools and runs no shell commands unattended (``--yes-always`` answers "no"
to those). It talks to ``request.model_base_url`` as an OpenAI-compatible chat
completions API (model ``openai/<model>``) with the task's proxy credential.
Aider never commits: taskyard does.

Aider prints plain text, not events. Its analytics log, sent to standard output
with ``--analytics-log /dev/stdout`` (nothing leaves the machine: analytics are
disabled), adds one JSON line per event, and those frame the text:
``message_send_starting`` comes before each model reply and ``message_send`` after
it, with the call's exact token counts and cost. Between the two are the reply
and a ``Tokens: 1.2k sent, 56 received.`` line (rounded; used only if no
analytics line arrives). "Applied edit to <path>" follows for each edited file.

A session is a chat history file in the agent's home, ``~/.aider/sessions/<id>.md``;
a follow-up restores it with ``--restore-chat-history``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from taskyard.agents.base import (
    AgentAdapter,
    AgentEvent,
    AgentInfo,
    AgentTurn,
    Install,
    Invocation,
    TurnRequest,
)
from taskyard.agents.streams import json_line, truncate
from taskyard.model.status import AgentState

MESSAGE_FILE = ".taskyard/aider-message.md"  # relative to the agent's home
SESSIONS = ".aider/sessions"
# Aider downloads LiteLLM's price list from GitHub whenever its cached copy is empty
# or a day old, for every model lookup (up to 5 s each where egress is closed). A
# non-empty copy written before each turn stops that; prices then come from
# LiteLLM's bundled list.
PRICES = ".aider/caches/model_prices_and_context_window.json"
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # it names a file
FLAGS = [
    "--yes-always",
    "--no-auto-commits",
    "--no-dirty-commits",
    "--no-gitignore",  # would add .aider* to the project's .gitignore
    "--no-stream",
    "--no-pretty",
    "--no-fancy-input",
    "--no-suggest-shell-commands",  # never run unattended, so not worth asking for
    "--no-detect-urls",  # else it fetches every URL a prompt mentions
    "--no-check-update",
    "--no-show-release-notes",
    "--no-show-model-warnings",
    "--analytics-disable",
    "--analytics-log",
    "/dev/stdout",
]


def openai_base(url: str) -> str:
    """The OpenAI API root for a base URL: ``/v1`` is added unless it is there."""
    url = url.rstrip("/")
    return url if url.endswith("/v1") else url + "/v1"


# What Aider prints (aider/coders/base_coder.py, aider/io.py, aider/exceptions.py).
APPLIED = re.compile(r"Applied edit to (?P<path>.+)")
TOKENS = re.compile(
    r"Tokens: (?P<sent>[\d.]+k?) sent(?:, [\d.]+k? cache write)?"
    r"(?:, (?P<hit>[\d.]+k?) cache hit)?, (?P<received>[\d.]+k?) received\."
)
COST = re.compile(r".*Cost: \$(?P<cost>[\d.]+) message")
API_ERROR = re.compile(r"litellm\.(?P<name>\w+): ")
RETRYING = re.compile(r"Retrying in [\d.]+ seconds")
# Aider answers these by asking the model again (a "reflection"): not the end.
EDIT_FAILED = ("The LLM did not conform to the edit format.", "Exception while updating files:")
TOKEN_LIMIT = "has hit a token limit!"
STATUS = {
    "BadRequestError": 400,
    "ContextWindowExceededError": 400,
    "AuthenticationError": 401,
    "PermissionDeniedError": 403,
    "NotFoundError": 404,
    "RateLimitError": 429,
}  # not InternalServerError: LiteLLM calls a refused connection that too


def _tokens(value: str | None) -> int:
    """A count as Aider prints it: ``56``, ``1.2k``, ``23k``."""
    if not value:
        return 0
    return round(float(value[:-1]) * 1000) if value.endswith("k") else int(float(value))


class AiderTurn(AgentTurn):
    """Parses Aider's text output, framed by its analytics log lines."""

    def __init__(self, invocation: Invocation, session_id: str) -> None:
        super().__init__(invocation)
        self.session_id = session_id
        self.started = False
        self.reply: list[str] | None = None  # the model's reply being printed
        self.error: list[str] | None = None  # an API error being printed
        self.error_name = ""
        self.sends = 0  # model calls the analytics log reported
        self.exact = {"input": 0, "output": 0, "cost": 0.0}
        self.rounded = {"input": 0, "output": 0, "cached": 0, "cost": 0.0}
        self.last_text = ""
        self.failure = ""
        self.exit_reason = ""

    def parse(self, line: str) -> list[AgentEvent]:
        events = self._start()
        record = json_line(line)
        if record is not None and "event" in record:
            return events + self._analytics(record)
        stripped = line.strip()
        if self.error is not None:
            return events + self._error_line(stripped)
        match = API_ERROR.match(stripped)
        if match:
            self.error, self.error_name = [stripped], match.group("name")
            return events
        tokens = TOKENS.match(stripped)
        if self.reply is not None and tokens is None:
            self.reply.append(line)
            return events
        if tokens:
            events += self._end_reply()
            self.rounded["input"] += _tokens(tokens.group("sent"))
            self.rounded["output"] += _tokens(tokens.group("received"))
            self.rounded["cached"] += _tokens(tokens.group("hit"))
        if cost := COST.match(stripped):
            self.rounded["cost"] += float(cost.group("cost"))
        if tokens or cost:
            return events
        if applied := APPLIED.fullmatch(stripped):
            edit = {"path": applied.group("path"), "action": "update", "tool": "aider"}
            return [*events, AgentEvent("file_edit", edit)]
        if stripped in EDIT_FAILED:
            return [*events, AgentEvent("error", {"message": stripped, "fatal": False})]
        if TOKEN_LIMIT in stripped:
            self.failure = stripped
            return [*events, AgentEvent("error", {"message": stripped, "fatal": True})]
        return events + ([AgentEvent("output", {"line": line})] if stripped else [])

    def _start(self) -> list[AgentEvent]:
        if self.started:
            return []
        self.started = True
        return [
            AgentEvent("session", {"session_id": self.session_id}),
            AgentEvent("state", {"state": AgentState.WORKING, "message": "Aider started"}),
        ]

    def _analytics(self, record: dict[str, Any]) -> list[AgentEvent]:
        name, props = record.get("event"), record.get("properties") or {}
        events = self._end_reply()
        if name == "message_send_starting":
            self.reply = []
        elif name == "message_send":
            self.sends += 1
            self.exact["input"] += int(props.get("prompt_tokens") or 0)
            self.exact["output"] += int(props.get("completion_tokens") or 0)
            self.exact["cost"] += float(props.get("cost") or 0)
        elif name == "message_send_exception":
            self.failure = truncate(str(props.get("exception") or "Aider failed"), 2000)
            events.append(AgentEvent("error", {"message": self.failure, "fatal": True}))
        elif name == "exit":
            self.exit_reason = str(props.get("reason") or "")
        return events

    def _error_line(self, stripped: str) -> list[AgentEvent]:
        assert self.error is not None
        if stripped and not RETRYING.match(stripped):
            self.error.append(stripped)
            return []
        # Aider retries some errors ("Retrying in 0.5 seconds..."); a blank line ends
        # one it gave up on.
        return self._end_error(fatal=not stripped)

    def _end_error(self, fatal: bool) -> list[AgentEvent]:
        if self.error is None:
            return []
        message, self.error = truncate(" ".join(self.error), 2000), None
        error: dict[str, Any] = {"message": message, "fatal": fatal}
        if self.error_name in STATUS:
            error["status"] = STATUS[self.error_name]
        if fatal:
            self.failure = message
        return [AgentEvent("error", error)]

    def _end_reply(self) -> list[AgentEvent]:
        text = "\n".join(self.reply or []).strip()
        self.reply = None
        if not text:
            return []
        self.last_text = text
        return [AgentEvent("text", {"text": text})]

    def _usage(self) -> list[AgentEvent]:
        if self.sends:  # exact counts; the cached share is only in the rounded line
            counts = {**self.exact, "cached": self.rounded["cached"]}
        elif self.rounded["input"] or self.rounded["output"]:
            counts = self.rounded
        else:
            return []
        usage = {
            "input_tokens": int(counts["input"]),
            "output_tokens": int(counts["output"]),
            "cached_input_tokens": int(counts["cached"]),
            "cost_usd": float(counts["cost"]),
        }
        return [AgentEvent("usage", usage)]

    def finish(self, exit_code: int) -> list[AgentEvent]:
        events = [*self._end_error(fatal=True), *self._end_reply(), *self._usage()]
        if self.failure:
            state = {"state": AgentState.FAILURE, "message": truncate(self.failure, 500)}
        elif exit_code != 0:
            reason = self.exit_reason or f"Aider exited with code {exit_code}."
            state = {"state": AgentState.FAILURE, "message": truncate(reason, 500)}
        else:
            state = {"state": AgentState.COMPLETE, "message": truncate(self.last_text, 500)}
        return [*events, AgentEvent("state", state)]


class AiderAgent(AgentAdapter):
    """Aider from the PyPI package ``aider-chat``, in a virtual env of its own."""

    kind = "aider"
    # Aider speaks OpenAI's chat completions, which the OpenAI upstream serves; it has
    # no tools (so no MCP and no tool stream), and keeps a repository map in the checkout.
    info = AgentInfo(
        install=Install("pip", "aider-chat", "0.86.2", "aider"),
        provider="openai",
        private_files=(".aider.tags.cache.v4",),
        resume=True,
    )

    def start_turn(self, request: TurnRequest) -> AgentTurn:
        resumed = bool(SESSION_ID.fullmatch(request.session_id))
        session = request.session_id if resumed else uuid.uuid4().hex
        aider_dir = request.home / ".aider"
        argv = [
            "aider",
            "--message-file",
            str(request.home / MESSAGE_FILE),
            "--chat-history-file",
            str(request.home / SESSIONS / f"{session}.md"),
            "--input-history-file",
            str(aider_dir / "input.history"),
            *(["--restore-chat-history"] if resumed else []),
            *FLAGS,
        ]
        if request.spec.model:
            # Through the proxy whatever the model: another LiteLLM prefix
            # (anthropic/…) would make Aider call that provider directly.
            model = request.spec.model
            argv += ["--model", model if model.startswith("openai/") else f"openai/{model}"]
        argv += request.spec.args
        env = {
            **request.env,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # LiteLLM fetches it at import otherwise
            # The analytics lines go through a file handle of their own; unbuffered,
            # Aider's text stays in step with them.
            "PYTHONUNBUFFERED": "1",
            # Rich wraps at 80 columns when not on a terminal, splitting paths and errors.
            "COLUMNS": "100000",
        }
        if request.model_base_url:
            # Aider's own variables beat a checkout's .aider.conf.yml; LiteLLM prefers
            # OPENAI_BASE_URL to the base Aider sets, so a template's must go.
            env["AIDER_OPENAI_API_BASE"] = openai_base(request.model_base_url)
            env.pop("OPENAI_BASE_URL", None)
        if request.model_api_key:
            env["AIDER_OPENAI_API_KEY"] = request.model_api_key
        # Aider runs a message starting with "/" or "!" as one of its commands ("!rm …").
        prompt = f" {request.prompt}" if request.prompt.startswith(("/", "!")) else request.prompt
        files = {MESSAGE_FILE: prompt, PRICES: '{"taskyard": {}}\n'}
        return AiderTurn(Invocation(argv=argv, env=env, files=files), session)
