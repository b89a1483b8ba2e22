"""The ``claude-code`` agent: Anthropic's Claude Code CLI in print mode.

One turn is one ``claude -p --output-format stream-json --verbose`` process with
the prompt on standard input; a follow-up resumes the CLI's own session with
``--resume``. The CLI talks to ``request.model_base_url`` (taskyard's model proxy)
with the task's proxy credential, never a provider key.

Its output is one JSON message per line: ``system`` (``init`` carries the session
id), ``assistant`` and ``user`` (content blocks: text, tool calls, tool results)
and a final ``result`` with the turn's usage, cost and outcome.
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
from taskyard.agents.streams import OpenCalls, json_line, text_of, truncate
from taskyard.model.status import AgentState

MCP_CONFIG = ".taskyard/claude-mcp.json"  # relative to the agent's home
EDIT_TOOLS = {"Edit", "MultiEdit", "Write", "NotebookEdit"}


class ClaudeCodeTurn(AgentTurn):
    """Parses ``stream-json`` output; remembers tool calls until their results arrive."""

    def __init__(self, invocation: Invocation) -> None:
        super().__init__(invocation)
        self.calls = OpenCalls()
        self.outcome: str | None = None  # the state the result message reported
        # Tokens counted from each model call as it happens, so a budget can stop a
        # runaway turn before its result; the result reconciles them to its totals.
        self.metered = {"input_tokens": 0, "output_tokens": 0}
        self._metered_ids: set[str] = set()

    def parse(self, line: str) -> list[AgentEvent]:
        message = json_line(line)
        if message is None:
            return [AgentEvent("output", {"line": line})] if line.strip() else []
        kind = message.get("type")
        if kind == "system" and message.get("subtype") == "init":
            return [
                AgentEvent("session", {"session_id": str(message.get("session_id", ""))}),
                AgentEvent(
                    "state",
                    {
                        "state": AgentState.WORKING,
                        "message": f"Claude Code {message.get('claude_code_version', '')} "
                        f"on {message.get('model', 'its default model')}",
                    },
                ),
            ]
        if kind == "assistant" and not message.get("is_api_error_message"):
            # An API error arrives as a made-up assistant message; the result repeats it.
            return self._assistant(message.get("message", {}))
        if kind == "user":
            return self._user(message)
        if kind == "result":
            return self._result(message)
        return []

    def _meter(self, message: dict[str, Any]) -> list[AgentEvent]:
        """Usage of one model call, once per message id (it repeats per content block)."""
        usage, message_id = message.get("usage"), str(message.get("id") or "")
        if not isinstance(usage, dict) or not message_id or message_id in self._metered_ids:
            return []
        self._metered_ids.add(message_id)
        step = {
            "input_tokens": int(usage.get("input_tokens") or 0)
            + int(usage.get("cache_read_input_tokens") or 0)
            + int(usage.get("cache_creation_input_tokens") or 0),
            "output_tokens": int(usage.get("output_tokens") or 0),
        }
        for key, value in step.items():
            self.metered[key] += value
        return [AgentEvent("usage", {**step, "provisional": True})]

    def _assistant(self, message: dict[str, Any]) -> list[AgentEvent]:
        events: list[AgentEvent] = self._meter(message)
        for block in message.get("content", []):
            if block.get("type") == "text" and block.get("text"):
                events.append(AgentEvent("text", {"text": block["text"]}))
            elif block.get("type") == "tool_use":
                call = {
                    "id": block.get("id", ""),
                    "name": block.get("name", ""),
                    "input": block.get("input", {}),
                }
                self.calls.open(call)
                events.append(AgentEvent("tool_call", call))
        return events

    def _user(self, message: dict[str, Any]) -> list[AgentEvent]:
        content = message.get("message", {}).get("content", [])
        if not isinstance(content, list):
            return []
        events: list[AgentEvent] = []
        for block in content:
            if block.get("type") != "tool_result":
                continue
            call_id = block.get("tool_use_id", "")
            failed = bool(block.get("is_error"))
            output = text_of(block.get("content"))
            result = {"id": call_id, "output": truncate(output), "is_error": failed}
            events.append(AgentEvent("tool_result", result))
            call = self.calls.close(call_id)
            if call and call["name"] == "Bash":
                events.append(AgentEvent("command", _command(call, output, failed)))
            # An edit counts once it succeeded: a refused Write changed nothing.
            if call and call["name"] in EDIT_TOOLS and not failed:
                events.append(AgentEvent("file_edit", _edit(call, message.get("tool_use_result"))))
        return events

    def _result(self, message: dict[str, Any]) -> list[AgentEvent]:
        usage = message.get("usage") or {}
        cached = int(usage.get("cache_read_input_tokens") or 0)
        written = int(usage.get("cache_creation_input_tokens") or 0)
        # A resumed session's total_cost_usd includes the earlier turns; the per-result
        # model usage does not, so it is preferred where the CLI reports it.
        since_last = message.get("model_usage_since_last_result")
        if isinstance(since_last, dict):
            cost = sum(float(m.get("costUSD") or 0) for m in since_last.values())
        else:
            cost = float(message.get("total_cost_usd") or 0)
        events = [
            AgentEvent(
                "usage",
                {
                    # What the calls metered so far did not count yet: the usage events
                    # of a turn add up to exactly the totals the CLI reports.
                    "input_tokens": int(usage.get("input_tokens") or 0)
                    + cached
                    + written
                    - self.metered["input_tokens"],
                    "output_tokens": int(usage.get("output_tokens") or 0)
                    - self.metered["output_tokens"],
                    "cached_input_tokens": cached,
                    "cost_usd": cost,
                },
            )
        ]
        text = str(message.get("result") or "")
        if message.get("subtype") == "success" and not message.get("is_error"):
            self.outcome = AgentState.COMPLETE
            events.append(
                AgentEvent("state", {"state": AgentState.COMPLETE, "message": truncate(text, 500)})
            )
        else:
            self.outcome = AgentState.FAILURE
            errors = message.get("errors") or []
            reason = text or "; ".join(map(str, errors)) or str(message.get("subtype", "error"))
            error: dict[str, Any] = {"message": truncate(reason, 2000), "fatal": True}
            if message.get("api_error_status"):
                error["status"] = message["api_error_status"]
            events.append(AgentEvent("error", error))
            events.append(
                AgentEvent("state", {"state": AgentState.FAILURE, "message": truncate(reason, 500)})
            )
        return events

    def finish(self, exit_code: int) -> list[AgentEvent]:
        if self.outcome is None:
            return super().finish(exit_code)  # it died before reporting a result
        if exit_code != 0 and self.outcome == AgentState.COMPLETE:
            return super().finish(exit_code)
        return []


def _command(call: dict[str, Any], output: str, failed: bool) -> dict[str, Any]:
    # Bash reports a non-zero exit as an error result starting "Exit code N".
    match = re.match(r"Exit code (\d+)", output)
    exit_code = int(match.group(1)) if match else (None if failed else 0)
    return {"command": call["input"].get("command", ""), "exit_code": exit_code}


def _edit(call: dict[str, Any], result: Any) -> dict[str, Any]:
    path = call["input"].get("file_path") or call["input"].get("notebook_path") or ""
    # Write reports whether it created the file; the other tools change an existing one.
    action = "update"
    if isinstance(result, dict) and result.get("type") == "create":
        action = "create"
    return {"path": path, "action": action, "tool": call["name"]}


class ClaudeCodeAgent(AgentAdapter):
    """Claude Code from the npm package ``@anthropic-ai/claude-code``."""

    kind = "claude-code"
    info = AgentInfo(
        install=Install("npm", "@anthropic-ai/claude-code", "2.1.330", "claude"),
        provider="anthropic",
        mcp_config=MCP_CONFIG,
        resume=True,
        tool_stream=True,
    )

    def start_turn(self, request: TurnRequest) -> AgentTurn:
        spec = request.spec
        argv = [
            "claude",
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
            "--dangerously-skip-permissions",
        ]
        if spec.model:
            argv += ["--model", spec.model]
        if request.session_id:
            argv += ["--resume", request.session_id]
        files: dict[str, str] = {}
        if request.mcp_url:
            servers = {"taskyard": {"type": "http", "url": request.mcp_url}}
            files[MCP_CONFIG] = json.dumps({"mcpServers": servers}, indent=2)
            argv += ["--mcp-config", str(request.home / MCP_CONFIG)]
        argv += spec.args
        env = {
            # Claude Code defers MCP tools behind its ToolSearch tool, so the model would
            # have to search before it could report its status; one small tool costs
            # nothing up front. A template's env may turn the search back on.
            **({"ENABLE_TOOL_SEARCH": "false"} if request.mcp_url else {}),
            **request.env,
            # Root may skip permission prompts only when the CLI is told it is sandboxed,
            # which it is: the engine runs it in the task's sandbox.
            "IS_SANDBOX": "1",
            "CLAUDE_CONFIG_DIR": str(request.home / ".claude"),
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        }
        if request.model_base_url:
            env["ANTHROPIC_BASE_URL"] = request.model_base_url
            # A bearer token from the template would be sent instead of the proxy's key.
            env.pop("ANTHROPIC_AUTH_TOKEN", None)
        if request.model_api_key:
            env["ANTHROPIC_API_KEY"] = request.model_api_key
        return ClaudeCodeTurn(Invocation(argv=argv, env=env, stdin=request.prompt, files=files))
