"""The claude-code adapter end to end: the real CLI against a scripted Messages API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from taskyard.agents.claude_code import ClaudeCodeAgent
from tests.agents.harness import TASK_KEY, run_turn, spec_for, turn_request
from tests.fakes import call, say
from tests.fakes.anthropic_server import AnthropicServer

AGENT = ClaudeCodeAgent()
SPEC = spec_for(AGENT, "claude-sonnet-4-5")


def summed(usages: list[dict[str, Any]]) -> dict[str, float]:
    """A turn's usage: calls are metered as they happen, the result reconciles them."""
    return {
        key: sum(u.get(key) or 0 for u in usages)
        for key in ("input_tokens", "output_tokens", "cost_usd")
    }


async def test_edits_through_its_tools_and_resumes_its_session(
    repo: Path, home: Path, tool_paths: list[Path]
) -> None:
    hello = repo / "hello.txt"
    script = [
        call("Read", file_path=str(hello), input_tokens=100, output_tokens=10),
        call(
            "Edit",
            "Updating the greeting.",
            file_path=str(hello),
            old_string="old",
            new_string="new",
            input_tokens=110,
            output_tokens=20,
        ),
        say("Changed hello.txt.", input_tokens=120, output_tokens=30),
        call("Bash", command="echo done > done.txt", description="Mark done", input_tokens=130),
        say("Marked done.", input_tokens=140, output_tokens=50),
    ]
    with AnthropicServer(script) as server:
        first = await run_turn(
            AGENT,
            turn_request(SPEC, home, model_base_url=server.url, prompt="Change old to new."),
            tool_paths,
        )
        turn_one = server.main_requests

        assert first.exit_code == 0, first
        assert hello.read_text() == "new\n"
        assert [c["name"] for c in first.of("tool_call")] == ["Read", "Edit"]
        assert first.of("tool_call")[1]["input"]["new_string"] == "new"
        assert first.of("file_edit") == [{"path": str(hello), "action": "update", "tool": "Edit"}]
        assert "Updating the greeting." in [t["text"] for t in first.of("text")]
        usage = summed(first.of("usage"))
        assert usage["input_tokens"] == sum(r.input_tokens for r in turn_one) == 330
        assert usage["output_tokens"] == sum(r.output_tokens for r in turn_one) == 60
        assert usage["cost_usd"] > 0
        assert first.state == "complete"
        assert first.of("state")[-1]["message"] == "Changed hello.txt."
        assert {r.headers.get("x-api-key") for r in server.requests} == {TASK_KEY}
        [session] = {s["session_id"] for s in first.of("session")}

        follow_up = turn_request(
            SPEC,
            home,
            model_base_url=server.url,
            prompt="Now mark it done.",
            turn=1,
            session_id=session,
        )
        second = await run_turn(AGENT, follow_up, tool_paths)
        turn_two = server.main_requests[len(turn_one) :]

    assert second.exit_code == 0, second
    assert (repo / "done.txt").read_text() == "done\n"
    assert second.of("command") == [{"command": "echo done > done.txt", "exit_code": 0}]
    assert {s["session_id"] for s in second.of("session")} == {session}
    # The resumed conversation carries the first turn: its prompt and its edit.
    history = json.dumps(turn_two[0].body["messages"])
    assert "Change old to new." in history and '"name": "Edit"' in history
    assert [r.step for r in turn_two] == [3, 4]
    usage2 = summed(second.of("usage"))
    assert (usage2["input_tokens"], usage2["output_tokens"]) == (270, 80)
    # The CLI's own total covers both turns; each turn reports only its share.
    [result] = [json.loads(x) for x in second.lines if x.startswith('{"') and '"result"' in x]
    assert usage2["cost_usd"] + usage["cost_usd"] == pytest.approx(result["total_cost_usd"])


async def test_connects_to_the_taskyard_mcp_server(
    repo: Path, home: Path, tool_paths: list[Path]
) -> None:
    with AnthropicServer([say("Nothing to do.")]) as server:
        mcp_url = f"{server.url}/mcp"
        outcome = await run_turn(
            AGENT,
            turn_request(SPEC, home, model_base_url=server.url, prompt="Hi", mcp_url=mcp_url),
            tool_paths,
        )
    assert outcome.state == "complete", outcome
    config = json.loads((home / ".taskyard/claude-mcp.json").read_text())
    assert config == {"mcpServers": {"taskyard": {"type": "http", "url": mcp_url}}}
    calls = [r for r in server.requests if r.path == "/mcp" and r.method == "POST"]
    methods = {json.loads(str(r.body)).get("method") for r in calls}
    assert "initialize" in methods, methods


async def test_a_rejected_credential_fails_the_turn(
    repo: Path, home: Path, tool_paths: list[Path]
) -> None:
    with AnthropicServer([say("unreachable")], api_key="another-key") as server:
        # Template env reaches the CLI: no retries, so the 401 ends the turn at once.
        no_retries = {"CLAUDE_CODE_MAX_RETRIES": "0"}
        outcome = await run_turn(
            AGENT,
            turn_request(SPEC, home, model_base_url=server.url, prompt="Hi", env=no_retries),
            tool_paths,
        )
    assert outcome.state == "failure", outcome
    assert outcome.exit_code != 0
    [error] = outcome.of("error")
    assert error["status"] == 401
    assert not outcome.of("text") and not server.main_requests
