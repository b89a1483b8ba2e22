"""The ``gemini`` agent: Google's Gemini CLI, headless, ``--output-format stream-json``.

One turn is one ``gemini`` process with the prompt on standard input (it runs
headless because standard input is not a terminal); a follow-up resumes the CLI's
own session with ``--resume <session id>``. ``~/.gemini/settings.json`` is written
before every turn: API-key authentication, no folder-trust prompt, no telemetry,
no update checks, and the task's MCP server. The CLI reaches
``request.model_base_url`` (taskyard's model proxy, speaking the Gemini API)
through ``GOOGLE_GEMINI_BASE_URL``, with the task's proxy credential as its key.

Its output is one JSON event per line: ``init`` (the session id), ``message``
(the user's prompt, then the model's text in deltas), ``tool_use``,
``tool_result``, ``error`` (warnings) and a final ``result`` with the turn's
token counts.
"""

from __future__ import annotations

import json
import re
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

SETTINGS = ".gemini/settings.json"  # relative to the agent's home
SHELL_TOOL = "run_shell_command"
EDIT_TOOLS = {"write_file", "replace"}
# The shell tool shows a bare exit code only when the command printed nothing.
EXIT_CODE = re.compile(r"Command exited with code: (-?\d+)")
API_STATUS = re.compile(r'"code":\s*(\d{3})')


class GeminiTurn(AgentTurn):
    """Parses ``stream-json`` output; joins text deltas into one ``text`` per message."""

    def __init__(self, invocation: Invocation) -> None:
        super().__init__(invocation)
        self.calls = OpenCalls()
        self.deltas: list[str] = []  # the model's text since the last other event
        self.last_text = ""
        self.last_error = ""
        self.outcome: str | None = None

    def parse(self, line: str) -> list[AgentEvent]:
        event = json_line(line)
        if event is None:
            return [AgentEvent("output", {"line": line})] if line.strip() else []
        kind = event.get("type")
        if kind == "message":
            if event.get("role") == "assistant":
                self.deltas.append(str(event.get("content", "")))
            return []  # the other role is the user's prompt, echoed
        events = self._flush()
        if kind == "init":
            model = event.get("model") or "its default model"
            events += [
                AgentEvent("session", {"session_id": str(event.get("session_id", ""))}),
                AgentEvent(
                    "state", {"state": AgentState.WORKING, "message": f"Gemini CLI on {model}"}
                ),
            ]
        elif kind == "tool_use":
            call = {
                "id": str(event.get("tool_id", "")),
                "name": str(event.get("tool_name", "")),
                "input": event.get("parameters") or {},
            }
            self.calls.open(call)
            events.append(AgentEvent("tool_call", call))
        elif kind == "tool_result":
            events += self._tool_result(event)
        elif kind == "error":  # a warning or a recoverable error; `result` has the outcome
            self.last_error = truncate(str(event.get("message", "")), 2000)
            events.append(AgentEvent("error", {"message": self.last_error, "fatal": False}))
        elif kind == "result":
            events += self._result(event)
        return events

    def _flush(self) -> list[AgentEvent]:
        text, self.deltas = "".join(self.deltas), []
        if not text.strip():
            return []
        self.last_text = text
        return [AgentEvent("text", {"text": text})]

    def _tool_result(self, event: dict[str, Any]) -> list[AgentEvent]:
        call_id = str(event.get("tool_id", ""))
        failed = event.get("status") == "error"
        error = event.get("error") or {}
        output = str(event.get("output") or (error.get("message") if failed else "") or "")
        events = [
            AgentEvent(
                "tool_result", {"id": call_id, "output": truncate(output), "is_error": failed}
            )
        ]
        call = self.calls.close(call_id)
        if call and call["name"] == SHELL_TOOL:
            command = {
                "command": call["input"].get("command", ""),
                "exit_code": _exit(output, failed),
            }
            events.append(AgentEvent("command", command))
        # An edit counts once it succeeded: a refused replace changed nothing.
        if call and call["name"] in EDIT_TOOLS and not failed:
            events.append(AgentEvent("file_edit", _edit(call)))
        return events

    def _result(self, event: dict[str, Any]) -> list[AgentEvent]:
        stats = event.get("stats") or {}
        prompt = int(stats.get("input_tokens") or 0)
        # The total also holds thinking tokens, which the API bills as output.
        output = max(
            int(stats.get("output_tokens") or 0), int(stats.get("total_tokens") or 0) - prompt
        )
        usage = {
            "input_tokens": prompt,
            "output_tokens": output,
            "cached_input_tokens": int(stats.get("cached") or 0),
        }
        events = [AgentEvent("usage", usage)]
        if event.get("status") == "success":
            self.outcome = AgentState.COMPLETE
            message = truncate(self.last_text, 500)
            return [
                *events,
                AgentEvent("state", {"state": AgentState.COMPLETE, "message": message}),
            ]
        self.outcome = AgentState.FAILURE
        reason = str(
            (event.get("error") or {}).get("message") or self.last_error or "Gemini failed"
        )
        error: dict[str, Any] = {"message": truncate(reason, 2000), "fatal": True}
        status = API_STATUS.search(reason)
        if status:
            error["status"] = int(status.group(1))
        state = {"state": AgentState.FAILURE, "message": truncate(reason, 500)}
        return [*events, AgentEvent("error", error), AgentEvent("state", state)]

    def finish(self, exit_code: int) -> list[AgentEvent]:
        events = self._flush()
        if self.outcome is None or (exit_code != 0 and self.outcome == AgentState.COMPLETE):
            return events + super().finish(exit_code)
        return events


def _exit(output: str, failed: bool) -> int | None:
    """The command's exit code where the stream shows it (see ``EXIT_CODE``)."""
    match = EXIT_CODE.fullmatch(output.strip())
    if match:
        return int(match.group(1))
    # Silent success shows nothing; output hides the code, a refused call has none.
    return 0 if not failed and not output.strip() else None


def _edit(call: dict[str, Any]) -> dict[str, Any]:
    args = call["input"]
    # replace with an empty old_string creates the file (it refuses if one exists);
    # write_file does not say whether the file was there before.
    created = call["name"] == "replace" and args.get("old_string") == ""
    action = "create" if created else "update"
    return {"path": args.get("file_path", ""), "action": action, "tool": call["name"]}


def settings_json(request: TurnRequest) -> str:
    """``~/.gemini/settings.json`` for one turn."""
    security: dict[str, Any] = {"folderTrust": {"enabled": False}}
    if request.model_base_url or request.model_api_key:
        # With only GOOGLE_GEMINI_BASE_URL the CLI picks its "gateway" auth, which its
        # headless mode rejects ("Invalid auth method selected.").
        security["auth"] = {"selectedType": "gemini-api-key"}
    settings: dict[str, Any] = {
        "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        "security": security,
        "tools": {"sandbox": False},  # the task's sandbox confines the agent
    }
    if request.mcp_url:
        settings["mcpServers"] = {"taskyard": {"httpUrl": request.mcp_url}}
    return json.dumps(settings, indent=2) + "\n"


class GeminiAgent(AgentAdapter):
    """The Gemini CLI from the npm package ``@google/gemini-cli``."""

    kind = "gemini"
    info = AgentInfo(
        install=Install("npm", "@google/gemini-cli", "0.61.0", "gemini"),
        provider="google",
        mcp_config=SETTINGS,
        resume=True,
        tool_stream=True,
    )

    def start_turn(self, request: TurnRequest) -> AgentTurn:
        argv = ["gemini", "--output-format", "stream-json", "--approval-mode", "yolo"]
        if request.spec.model:
            argv += ["--model", request.spec.model]
        if request.session_id:
            argv += ["--resume", request.session_id]
        argv += request.spec.args
        env = {
            **request.env,
            # Sessions and settings live under <GEMINI_CLI_HOME>/.gemini.
            "GEMINI_CLI_HOME": str(request.home),
            # Otherwise the CLI starts itself a second time, with a heap sized from the
            # host's memory rather than the sandbox's limit.
            "GEMINI_CLI_NO_RELAUNCH": "true",
        }
        if request.model_base_url:
            env["GOOGLE_GEMINI_BASE_URL"] = request.model_base_url
        if request.model_api_key:
            env["GEMINI_API_KEY"] = request.model_api_key
        files = {SETTINGS: settings_json(request)}
        return GeminiTurn(Invocation(argv=argv, env=env, stdin=request.prompt, files=files))
