"""The ``codex`` agent: OpenAI's Codex CLI, ``codex exec --json``.

The CLI's configuration lives in ``$CODEX_HOME/config.toml`` in the agent's home:
a model provider named ``taskyard`` pointing at ``request.model_base_url`` (the
Responses API of taskyard's model proxy), with the task's proxy credential in an
environment variable the provider names. A follow-up is ``codex exec resume``.

Its output is one JSON event per line: ``thread.started`` (the session id),
``item.started``/``item.completed`` (agent messages, commands, file changes, MCP
calls), ``turn.completed`` with usage, or ``turn.failed``.

Codex reports usage as the thread's running total, earlier turns included. To
report each turn's own share, the resume token this adapter hands out is
``<thread id>#<input>.<cached>.<output>``: the totals when the turn ended, which
the next turn subtracts. The engine keeps the token opaque.
"""

from __future__ import annotations

import json
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
from taskyard.agents.streams import OpenCalls, json_line, truncate
from taskyard.model.status import AgentState

CONFIG = ".codex/config.toml"  # relative to the agent's home
KEY_VAR = "TASKYARD_MODEL_API_KEY"
FLAGS = ["--json", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox"]
ACTIONS = {"add": "create", "update": "update", "delete": "delete"}
Totals = tuple[int, int, int]  # input, cached input, output tokens of the whole thread


def split_token(token: str) -> tuple[str, Totals]:
    """The thread id and the usage totals carried in a resume token."""
    thread, _, counts = token.partition("#")
    try:
        tokens, cached, output = (int(c) for c in counts.split("."))
    except ValueError:  # no totals, or not ours: count from zero
        return thread, (0, 0, 0)
    return thread, (tokens, cached, output)


def _token(thread: str, totals: Totals) -> str:
    return f"{thread}#{'.'.join(map(str, totals))}" if any(totals) else thread


class CodexTurn(AgentTurn):
    """Parses ``codex exec --json`` output."""

    def __init__(self, invocation: Invocation, baseline: Totals = (0, 0, 0)) -> None:
        super().__init__(invocation)
        self.baseline = baseline
        self.thread = ""
        self.calls = OpenCalls()
        self.outcome: str | None = None
        self.last_message = ""

    def parse(self, line: str) -> list[AgentEvent]:
        event = json_line(line)
        if event is None:
            return [AgentEvent("output", {"line": line})] if line.strip() else []
        kind = event.get("type")
        if kind == "thread.started":
            self.thread = str(event.get("thread_id", ""))
            return [
                AgentEvent("session", {"session_id": _token(self.thread, self.baseline)}),
                AgentEvent("state", {"state": AgentState.WORKING, "message": "Codex started"}),
            ]
        if kind == "item.started":
            return self._started(event.get("item") or {})
        if kind == "item.completed":
            return self._completed(event.get("item") or {})
        if kind == "turn.completed":
            return self._turn_completed(event.get("usage") or {})
        if kind == "error":  # a retry or a warning; a failure also ends with turn.failed
            message = truncate(str(event.get("message") or "Codex error"), 2000)
            return [AgentEvent("error", {"message": message, "fatal": False})]
        if kind == "turn.failed":
            self.outcome = AgentState.FAILURE
            message = str((event.get("error") or {}).get("message") or "Codex failed")
            return [
                AgentEvent("error", {"message": truncate(message, 2000), "fatal": True}),
                AgentEvent(
                    "state", {"state": AgentState.FAILURE, "message": truncate(message, 500)}
                ),
            ]
        return []

    def _started(self, item: dict[str, Any]) -> list[AgentEvent]:
        call = _call(item)
        if call is None:
            return []
        self.calls.open(call)
        return [AgentEvent("tool_call", call)]

    def _completed(self, item: dict[str, Any]) -> list[AgentEvent]:
        kind = item.get("type")
        if kind == "agent_message":
            self.last_message = str(item.get("text", ""))
            return [AgentEvent("text", {"text": self.last_message})] if self.last_message else []
        if kind == "error":  # a warning; failures end the turn with turn.failed
            return [AgentEvent("error", {"message": str(item.get("message", "")), "fatal": False})]
        call = _call(item)
        if call is None:
            return []
        # Some items (file changes, searches) arrive completed without having started.
        events = [] if call["id"] in self.calls else [AgentEvent("tool_call", call)]
        self.calls.close(call["id"])
        status = str(item.get("status", ""))
        failed = status == "failed" or item.get("exit_code") not in (None, 0)
        if kind == "command_execution":
            command = {"command": item.get("command", ""), "exit_code": item.get("exit_code")}
            events.append(AgentEvent("command", command))
        output = item.get("aggregated_output") or item.get("result") or item.get("error") or ""
        result = {"id": call["id"], "output": truncate(_text(output)), "is_error": failed}
        events.append(AgentEvent("tool_result", result))
        if kind == "file_change" and not failed:
            for change in item.get("changes", []):
                action = ACTIONS.get(str(change.get("kind", "")), "update")
                events.append(
                    AgentEvent(
                        "file_edit",
                        {"path": change.get("path", ""), "action": action, "tool": "apply_patch"},
                    )
                )
        return events

    def _turn_completed(self, usage: dict[str, Any]) -> list[AgentEvent]:
        totals = (
            int(usage.get("input_tokens") or 0),
            int(usage.get("cached_input_tokens") or 0),
            int(usage.get("output_tokens") or 0),
        )
        # Totals below the baseline mean the thread was not the one the token came from.
        base = (
            self.baseline
            if all(t >= b for t, b in zip(totals, self.baseline, strict=True))
            else (0, 0, 0)
        )
        delta = [t - b for t, b in zip(totals, base, strict=True)]
        self.baseline, self.outcome = totals, AgentState.COMPLETE
        share = {
            "input_tokens": delta[0],
            "output_tokens": delta[2],
            "cached_input_tokens": delta[1],
        }
        events = [AgentEvent("usage", share)]
        if self.thread:
            events.append(AgentEvent("session", {"session_id": _token(self.thread, totals)}))
        message = truncate(self.last_message, 500)
        return [*events, AgentEvent("state", {"state": AgentState.COMPLETE, "message": message})]

    def finish(self, exit_code: int) -> list[AgentEvent]:
        if self.outcome is None or (exit_code != 0 and self.outcome == AgentState.COMPLETE):
            return super().finish(exit_code)
        return []


def _call(item: dict[str, Any]) -> dict[str, Any] | None:
    """The tool call an item stands for, in the common ``tool_call`` shape."""
    kind, item_id = item.get("type"), str(item.get("id", ""))
    if kind == "command_execution":
        return {"id": item_id, "name": "exec_command", "input": {"cmd": item.get("command", "")}}
    if kind == "file_change":
        return {"id": item_id, "name": "apply_patch", "input": {"changes": item.get("changes", [])}}
    if kind == "mcp_tool_call":
        name = f"{item.get('server', '')}.{item.get('tool', '')}"
        return {"id": item_id, "name": name, "input": item.get("arguments") or {}}
    if kind == "web_search":
        return {"id": item_id, "name": "web_search", "input": {"query": item.get("query", "")}}
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _toml(value: str) -> str:
    # A JSON string is a valid TOML basic string: same quotes and escapes.
    return json.dumps(value)


def config_toml(request: TurnRequest) -> str:
    """``$CODEX_HOME/config.toml`` for one turn."""
    lines = [
        "# Written by taskyard for this task; rewritten before every turn.",
        'approval_policy = "never"',
        'sandbox_mode = "danger-full-access"  # the engine\'s sandbox confines the agent',
        "check_for_update_on_startup = false",
    ]
    if request.model_base_url:
        base = request.model_base_url.rstrip("/")
        base = base if base.endswith("/v1") else base + "/v1"
        lines += [
            'model_provider = "taskyard"',
            "",
            "[model_providers.taskyard]",
            'name = "taskyard"',
            f"base_url = {_toml(base)}",
            'wire_api = "responses"',
            f"env_key = {_toml(KEY_VAR)}",
        ]
    lines += ["", "[analytics]", "enabled = false", "", "[feedback]", "enabled = false"]
    if request.mcp_url:
        lines += ["", "[mcp_servers.taskyard]", f"url = {_toml(request.mcp_url)}"]
    return "\n".join(lines) + "\n"


class CodexAgent(AgentAdapter):
    """Codex from the npm package ``@openai/codex``."""

    kind = "codex"
    info = AgentInfo(
        install=Install("npm", "@openai/codex", "0.169.0", "codex"),
        provider="openai",
        mcp_config=CONFIG,
        resume=True,
        tool_stream=True,
    )

    def start_turn(self, request: TurnRequest) -> AgentTurn:
        thread, baseline = split_token(request.session_id)
        argv = ["codex", "exec", *(["resume"] if thread else []), *FLAGS]
        if request.spec.model:
            argv += ["--model", request.spec.model]
        argv += request.spec.args
        argv += [thread, "-"] if thread else ["-"]  # "-": the prompt comes on stdin
        env = {**request.env, "CODEX_HOME": str(request.home / ".codex")}
        if request.model_api_key:
            env[KEY_VAR] = request.model_api_key
        files = {CONFIG: config_toml(request)}
        invocation = Invocation(argv=argv, env=env, stdin=request.prompt, files=files)
        return CodexTurn(invocation, baseline if thread else (0, 0, 0))
