"""The adapters' parsers and invocations on lines recorded from the real CLIs.

Lines come from Claude Code 2.1.330 and Codex 0.169.0 runs against the scripted
servers, trimmed of fields the parsers do not read.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from taskyard.agents.base import AgentEvent, AgentTurn, TurnRequest
from taskyard.agents.claude_code import MCP_CONFIG, ClaudeCodeAgent
from taskyard.agents.codex import KEY_VAR, CodexAgent, config_toml, split_token
from taskyard.agents.streams import MAX_OUTPUT, truncate
from taskyard.model.template import AgentSpec

SID = "d896c649-d728-4f56-8435-44fa9db18aee"
CLAUDE_INIT = json.dumps(
    {
        "type": "system",
        "subtype": "init",
        "cwd": "/w",
        "session_id": SID,
        "tools": ["Task", "Bash", "Edit"],
        "mcp_servers": [],
        "model": "claude-sonnet-4-5",
        "permissionMode": "bypassPermissions",
        "apiKeySource": "ANTHROPIC_API_KEY",
        "claude_code_version": "2.1.330",
    }
)


def assistant(*blocks: dict[str, Any], **extra: Any) -> str:
    message = {"id": "msg_1", "type": "message", "role": "assistant", "content": list(blocks)}
    return json.dumps({"type": "assistant", "message": message, "session_id": SID, **extra})


def tool_result(call_id: str, content: Any, *, error: bool = False, result: Any = None) -> str:
    block = {"tool_use_id": call_id, "type": "tool_result", "content": content}
    if error:
        block["is_error"] = True
    line = {"type": "user", "message": {"role": "user", "content": [block]}, "session_id": SID}
    if result is not None:
        line["tool_use_result"] = result
    return json.dumps(line)


def claude_result(**fields: Any) -> str:
    usage = {
        "input_tokens": 240,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 60,
    }
    line = {
        "type": "result",
        "subtype": "success",
        "is_error": False,
        "session_id": SID,
        "result": "second done",
        "total_cost_usd": 0.00405,
        "usage": usage,
        "num_turns": 2,
    }
    return json.dumps({**line, **fields})


def request(tmp_path: Path, kind: str, **fields: Any) -> TurnRequest:
    spec = AgentSpec(kind=kind, model=fields.pop("model", ""), args=fields.pop("args", []))
    base: dict[str, Any] = {
        "prompt": "Do it.",
        "spec": spec,
        "workdir": tmp_path / "repo",
        "home": tmp_path / "home",
        "stage": "code",
        "task_key": "TY-1",
        "turn": 0,
    }
    return TurnRequest(**{**base, **fields})


def feed(turn: AgentTurn, *lines: str) -> list[AgentEvent]:
    return [event for line in lines for event in turn.parse(line)]


def of(events: list[AgentEvent], kind: str) -> list[dict[str, Any]]:
    return [e.data for e in events if e.type == kind]


@pytest.fixture
def claude(tmp_path: Path) -> AgentTurn:
    return ClaudeCodeAgent().start_turn(request(tmp_path, "claude-code"))


@pytest.fixture
def codex(tmp_path: Path) -> AgentTurn:
    return CodexAgent().start_turn(request(tmp_path, "codex"))


# --- Claude Code -------------------------------------------------------------------------


def test_claude_invocation(tmp_path: Path) -> None:
    req = request(
        tmp_path,
        "claude-code",
        model="claude-opus-4-1",
        args=["--max-turns", "5"],
        session_id=SID,
        model_base_url="http://proxy:9/anthropic",
        model_api_key="ty-key",
        mcp_url="http://ty/mcp/TY-1",
        env={"FOO": "bar", "IS_SANDBOX": "0", "ANTHROPIC_AUTH_TOKEN": "sk-real"},
    )
    invocation = ClaudeCodeAgent().start_turn(req).invocation
    argv = invocation.argv
    assert argv[:6] == [
        "claude",
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--dangerously-skip-permissions",
    ]
    assert argv[argv.index("--model") + 1] == "claude-opus-4-1"
    assert argv[argv.index("--resume") + 1] == SID
    assert argv[argv.index("--mcp-config") + 1] == str(req.home / MCP_CONFIG)
    assert argv[-2:] == ["--max-turns", "5"]
    assert invocation.stdin == "Do it."
    assert invocation.env["ANTHROPIC_BASE_URL"] == "http://proxy:9/anthropic"
    assert invocation.env["ANTHROPIC_API_KEY"] == "ty-key"
    assert invocation.env["IS_SANDBOX"] == "1"  # not overridable: root needs it
    assert invocation.env["FOO"] == "bar"
    assert "ANTHROPIC_AUTH_TOKEN" not in invocation.env  # only the proxy credential goes out
    assert invocation.env["CLAUDE_CONFIG_DIR"] == str(req.home / ".claude")
    assert invocation.env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"
    servers = json.loads(invocation.files[MCP_CONFIG])["mcpServers"]
    assert servers == {"taskyard": {"type": "http", "url": "http://ty/mcp/TY-1"}}


def test_claude_first_turn_has_no_resume_model_or_mcp(tmp_path: Path) -> None:
    invocation = ClaudeCodeAgent().start_turn(request(tmp_path, "claude-code")).invocation
    assert not {"--resume", "--model", "--mcp-config"} & set(invocation.argv)
    assert invocation.files == {}
    assert "ANTHROPIC_API_KEY" not in invocation.env


def test_claude_init_reports_session_and_work(claude: AgentTurn) -> None:
    events = claude.parse(CLAUDE_INIT)
    assert events[0] == AgentEvent("session", {"session_id": SID})
    assert events[1].data["state"] == "working"
    assert "2.1.330" in events[1].data["message"]


def test_claude_text_tool_call_and_successful_edit(claude: AgentTurn) -> None:
    edit = {"file_path": "/w/hello.txt", "old_string": "old", "new_string": "new"}
    events = feed(
        claude,
        # The CLI prints one line per content block of the same message.
        assistant({"type": "text", "text": "Updating the greeting."}),
        assistant({"type": "tool_use", "id": "toolu_1", "name": "Edit", "input": edit}),
        tool_result(
            "toolu_1",
            "The file /w/hello.txt has been updated successfully.",
            result={"filePath": "/w/hello.txt", "oldString": "old", "newString": "new"},
        ),
    )
    assert [e.type for e in events] == ["text", "tool_call", "tool_result", "file_edit"]
    assert of(events, "tool_call") == [{"id": "toolu_1", "name": "Edit", "input": edit}]
    assert of(events, "tool_result")[0]["is_error"] is False
    assert of(events, "file_edit") == [{"path": "/w/hello.txt", "action": "update", "tool": "Edit"}]


def test_claude_write_reports_creation_and_refusals_edit_nothing(claude: AgentTurn) -> None:
    write = {"file_path": "/w/created.txt", "content": "x\n"}
    events = feed(
        claude,
        assistant({"type": "tool_use", "id": "toolu_1", "name": "Write", "input": write}),
        tool_result("toolu_1", "File created successfully", result={"type": "create"}),
        assistant({"type": "tool_use", "id": "toolu_2", "name": "Write", "input": write}),
        tool_result(
            "toolu_2",
            "<tool_use_error>File has not been read yet.</tool_use_error>",
            error=True,
            result="Error: File has not been read yet.",
        ),
    )
    assert of(events, "file_edit") == [
        {"path": "/w/created.txt", "action": "create", "tool": "Write"}
    ]
    assert [r["is_error"] for r in of(events, "tool_result")] == [False, True]


def test_claude_bash_becomes_a_command_with_its_exit_code(claude: AgentTurn) -> None:
    bash = {"command": "exit 3", "description": "fail"}
    events = feed(
        claude,
        assistant({"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": bash}),
        tool_result("toolu_1", "Exit code 3", error=True, result="Error: Exit code 3"),
        assistant(
            {"type": "tool_use", "id": "toolu_2", "name": "Bash", "input": {"command": "ls"}}
        ),
        tool_result("toolu_2", [{"type": "text", "text": "a\nb"}]),
    )
    assert of(events, "command") == [
        {"command": "exit 3", "exit_code": 3},
        {"command": "ls", "exit_code": 0},
    ]
    assert of(events, "tool_result")[1]["output"] == "a\nb"


def test_claude_result_reports_this_turns_usage_and_cost(claude: AgentTurn) -> None:
    # A resumed session: total_cost_usd covers both turns, the per-result usage this one.
    since_last = {"claude-sonnet-4-5": {"inputTokens": 240, "outputTokens": 60, "costUSD": 0.00162}}
    events = claude.parse(claude_result(model_usage_since_last_result=since_last))
    assert of(events, "usage") == [
        {"input_tokens": 240, "output_tokens": 60, "cached_input_tokens": 0, "cost_usd": 0.00162}
    ]
    assert of(events, "state") == [{"state": "complete", "message": "second done"}]
    assert claude.finish(0) == []


def test_claude_result_counts_cache_tokens_as_input(claude: AgentTurn) -> None:
    usage = {
        "input_tokens": 10,
        "cache_creation_input_tokens": 5,
        "cache_read_input_tokens": 100,
        "output_tokens": 7,
    }
    [event] = of(claude.parse(claude_result(usage=usage)), "usage")
    assert event == {
        "input_tokens": 115,
        "output_tokens": 7,
        "cached_input_tokens": 100,
        "cost_usd": 0.00405,  # no per-result usage: an older CLI's total is this turn's
    }


def test_claude_api_error_fails_once_without_text(claude: AgentTurn) -> None:
    events = feed(
        claude,
        assistant(
            {"type": "text", "text": "Invalid API key · Fix external API key"},
            error="authentication_failed",
            is_api_error_message=True,
            api_error_status=401,
        ),
        claude_result(
            is_error=True,
            result="Invalid API key · Fix external API key",
            api_error_status=401,
            total_cost_usd=0,
            model_usage_since_last_result={},
        ),
    )
    assert of(events, "text") == []
    assert of(events, "error") == [
        {"message": "Invalid API key · Fix external API key", "fatal": True, "status": 401}
    ]
    assert of(events, "state")[-1]["state"] == "failure"
    assert claude.finish(1) == []  # the result already said it failed


def test_claude_error_subtypes_fail(claude: AgentTurn) -> None:
    line = claude_result(subtype="error_max_turns", result=None, is_error=True)
    assert of(claude.parse(line), "state") == [{"state": "failure", "message": "error_max_turns"}]


def test_claude_exit_without_result_is_a_failure(claude: AgentTurn) -> None:
    claude.parse(CLAUDE_INIT)
    [event] = claude.finish(137)
    assert event.data["state"] == "failure" and "137" in event.data["message"]


def test_claude_crash_after_success_is_a_failure(claude: AgentTurn) -> None:
    claude.parse(claude_result())
    assert claude.finish(2)[0].data["state"] == "failure"


def test_non_json_lines_are_output(claude: AgentTurn, codex: AgentTurn) -> None:
    for turn in (claude, codex):
        assert turn.parse("WARNING: something") == [
            AgentEvent("output", {"line": "WARNING: something"})
        ]
        assert turn.parse("   ") == []
        assert turn.parse('{"type": "something.new"}') == []
        assert turn.parse("{not json") == [AgentEvent("output", {"line": "{not json"})]


def test_long_tool_output_is_truncated(claude: AgentTurn) -> None:
    claude.parse(assistant({"type": "tool_use", "id": "t", "name": "Read", "input": {}}))
    [result] = of(claude.parse(tool_result("t", "x" * (MAX_OUTPUT + 50))), "tool_result")
    assert result["output"] == truncate("x" * (MAX_OUTPUT + 50))
    assert result["output"].endswith("(50 more characters)")


# --- Codex -------------------------------------------------------------------------------

THREAD = "01a20102-af85-7ac2-947e-6957e85a2e85"


def item(event: str, **fields: Any) -> str:
    return json.dumps({"type": event, "item": fields})


def turn_completed(input_tokens: int, output_tokens: int, cached: int = 0) -> str:
    usage = {
        "input_tokens": input_tokens,
        "cached_input_tokens": cached,
        "cache_write_input_tokens": 0,
        "output_tokens": output_tokens,
        "reasoning_output_tokens": 0,
    }
    return json.dumps({"type": "turn.completed", "usage": usage})


def test_codex_invocation_and_config(tmp_path: Path) -> None:
    req = request(
        tmp_path,
        "codex",
        model="gpt-5.5",
        args=["-c", "x=1"],
        model_base_url="http://proxy:9/openai/",
        model_api_key="ty-key",
        mcp_url='http://ty/mcp/"TY-1"',
    )
    invocation = CodexAgent().start_turn(req).invocation
    assert invocation.argv == [
        "codex",
        "exec",
        "--json",
        "--skip-git-repo-check",
        "--dangerously-bypass-approvals-and-sandbox",
        "--model",
        "gpt-5.5",
        "-c",
        "x=1",
        "-",
    ]
    assert invocation.stdin == "Do it."
    assert invocation.env == {"CODEX_HOME": str(req.home / ".codex"), KEY_VAR: "ty-key"}
    config = tomllib.loads(invocation.files[".codex/config.toml"])
    assert config["model_provider"] == "taskyard"
    assert config["model_providers"]["taskyard"]["base_url"] == "http://proxy:9/openai/v1"
    assert config["model_providers"]["taskyard"]["env_key"] == KEY_VAR
    assert config["mcp_servers"]["taskyard"]["url"] == 'http://ty/mcp/"TY-1"'
    assert config["analytics"] == {"enabled": False}


def test_codex_config_without_proxy_keeps_the_default_provider(tmp_path: Path) -> None:
    config = tomllib.loads(config_toml(request(tmp_path, "codex")))
    assert "model_provider" not in config and "mcp_servers" not in config
    req = request(tmp_path, "codex", model_base_url="http://proxy/v1")
    assert tomllib.loads(config_toml(req))["model_providers"]["taskyard"]["base_url"] == (
        "http://proxy/v1"
    )


def test_codex_resume_token_carries_the_thread_and_its_totals(tmp_path: Path) -> None:
    assert split_token(THREAD) == (THREAD, (0, 0, 0))
    assert split_token(f"{THREAD}#240.10.60") == (THREAD, (240, 10, 60))
    assert split_token(f"{THREAD}#garbage") == (THREAD, (0, 0, 0))
    turn = CodexAgent().start_turn(request(tmp_path, "codex", session_id=f"{THREAD}#240.10.60"))
    assert turn.invocation.argv[:3] == ["codex", "exec", "resume"]
    assert turn.invocation.argv[-2:] == [THREAD, "-"]
    events = feed(
        turn,
        json.dumps({"type": "thread.started", "thread_id": THREAD}),
        turn_completed(480, 120, cached=30),
    )
    assert of(events, "usage") == [
        {"input_tokens": 240, "output_tokens": 60, "cached_input_tokens": 20}
    ]
    assert [s["session_id"] for s in of(events, "session")] == [
        f"{THREAD}#240.10.60",
        f"{THREAD}#480.30.120",
    ]


def test_codex_totals_below_the_baseline_are_taken_whole(tmp_path: Path) -> None:
    turn = CodexAgent().start_turn(request(tmp_path, "codex", session_id=f"{THREAD}#900.0.900"))
    [usage] = of(feed(turn, turn_completed(100, 10)), "usage")
    assert (usage["input_tokens"], usage["output_tokens"]) == (100, 10)


def test_codex_turn(codex: AgentTurn) -> None:
    changes = [
        {"path": "/w/hello.txt", "kind": "update"},
        {"path": "/w/new.txt", "kind": "add"},
        {"path": "/w/old.txt", "kind": "delete"},
    ]
    patch = {"id": "item_2", "type": "file_change", "changes": changes}
    shell = {"id": "item_3", "type": "command_execution", "command": "/bin/bash -lc false"}
    events = feed(
        codex,
        json.dumps({"type": "thread.started", "thread_id": THREAD}),
        json.dumps({"type": "turn.started"}),
        item("item.completed", id="item_0", type="error", message="Model metadata not found."),
        item("item.completed", id="item_1", type="agent_message", text="Editing."),
        item("item.started", **patch, status="in_progress"),
        item("item.completed", **patch, status="completed"),
        item("item.started", **shell, aggregated_output="", exit_code=None, status="in_progress"),
        item("item.completed", **shell, aggregated_output="", exit_code=1, status="failed"),
        item("item.completed", id="item_4", type="reasoning", text="thinking"),
        item("item.completed", id="item_5", type="agent_message", text="Done."),
        turn_completed(360, 90),
    )
    assert of(events, "session") == [{"session_id": THREAD}, {"session_id": f"{THREAD}#360.0.90"}]
    assert of(events, "error") == [{"message": "Model metadata not found.", "fatal": False}]
    assert [t["text"] for t in of(events, "text")] == ["Editing.", "Done."]
    assert [c["name"] for c in of(events, "tool_call")] == ["apply_patch", "exec_command"]
    assert of(events, "file_edit") == [
        {"path": "/w/hello.txt", "action": "update", "tool": "apply_patch"},
        {"path": "/w/new.txt", "action": "create", "tool": "apply_patch"},
        {"path": "/w/old.txt", "action": "delete", "tool": "apply_patch"},
    ]
    assert of(events, "command") == [{"command": "/bin/bash -lc false", "exit_code": 1}]
    assert [r["is_error"] for r in of(events, "tool_result")] == [False, True]
    assert of(events, "usage") == [
        {"input_tokens": 360, "output_tokens": 90, "cached_input_tokens": 0}
    ]
    assert of(events, "state")[-1] == {"state": "complete", "message": "Done."}
    assert codex.finish(0) == []


def test_codex_mcp_and_search_items_arrive_completed(codex: AgentTurn) -> None:
    events = feed(
        codex,
        item(
            "item.completed",
            id="i1",
            type="mcp_tool_call",
            server="taskyard",
            tool="report",
            arguments={"state": "done"},
            result={"content": []},
            status="completed",
        ),
        item("item.completed", id="i2", type="web_search", query="pytest strict markers"),
    )
    assert of(events, "tool_call") == [
        {"id": "i1", "name": "taskyard.report", "input": {"state": "done"}},
        {"id": "i2", "name": "web_search", "input": {"query": "pytest strict markers"}},
    ]
    assert of(events, "tool_result")[0] == {
        "id": "i1",
        "output": '{"content": []}',
        "is_error": False,
    }


def test_codex_failed_turn(codex: AgentTurn) -> None:
    message = "unexpected status 401 Unauthorized: Incorrect API key provided."
    events = feed(
        codex,
        json.dumps({"type": "thread.started", "thread_id": THREAD}),
        json.dumps({"type": "error", "message": f"Reconnecting... 1/5 ({message})"}),
        json.dumps({"type": "turn.failed", "error": {"message": message}}),
    )
    assert [e["fatal"] for e in of(events, "error")] == [False, True]
    assert of(events, "state")[-1] == {"state": "failure", "message": message}
    assert of(events, "usage") == []
    assert codex.finish(1) == []


def test_codex_exit_without_a_turn_is_a_failure(codex: AgentTurn) -> None:
    assert codex.finish(0)[0].data["state"] == "complete"  # nothing to contradict it
    codex.parse(json.dumps({"type": "thread.started", "thread_id": THREAD}))
    assert codex.finish(1)[0].data["state"] == "failure"
