"""The gemini adapter: the real CLI against a scripted Gemini API, and its parser."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from taskyard.agents.base import AgentEvent
from taskyard.agents.gemini import SETTINGS, GeminiAgent, GeminiTurn
from tests.agents.harness import TASK_KEY, run_turn, spec_for, turn_request
from tests.fakes import call, say
from tests.fakes.gemini_server import GeminiServer

# A model named explicitly: with none, the CLI first asks a router model to pick one.
AGENT = GeminiAgent()
SPEC = spec_for(AGENT, "gemini-2.5-pro")


async def test_edits_through_its_tools_and_resumes_its_session(
    repo: Path, home: Path, tool_paths: list[Path]
) -> None:
    hello = repo / "hello.txt"
    edit = {"file_path": str(hello), "old_string": "old", "new_string": "new", "instruction": "x"}
    script = [
        call("read_file", file_path=str(hello), input_tokens=100, output_tokens=10),
        call("replace", "Updating the greeting.", input_tokens=110, output_tokens=20, **edit),
        say("Changed hello.txt.", input_tokens=120, output_tokens=30),
        call("run_shell_command", command="echo done > done.txt", input_tokens=130),
        say("Marked done.", input_tokens=140, output_tokens=50),
    ]
    with GeminiServer(script) as server:
        turn = turn_request(SPEC, home, "Change old to new.", model_base_url=server.url)
        first = await run_turn(AGENT, turn, tool_paths)
        turn_one = server.main_requests

        assert first.exit_code == 0, first
        assert hello.read_text() == "new\n"
        assert [c["name"] for c in first.of("tool_call")] == ["read_file", "replace"]
        assert first.of("tool_call")[1]["input"] == edit
        assert first.of("file_edit") == [
            {"path": str(hello), "action": "update", "tool": "replace"}
        ]
        # Text streamed in word-sized deltas arrives as one event per message.
        assert [t["text"] for t in first.of("text")] == [
            "Updating the greeting.",
            "Changed hello.txt.",
        ]
        [usage] = first.of("usage")
        assert usage["input_tokens"] == sum(r.input_tokens for r in turn_one) == 330
        assert usage["output_tokens"] == sum(r.output_tokens for r in turn_one) == 60
        assert first.state == "complete"
        assert first.of("state")[-1]["message"] == "Changed hello.txt."
        keys = {r.headers.get("x-goog-api-key") for r in server.requests}
        assert keys == {TASK_KEY}
        [session] = {s["session_id"] for s in first.of("session")}

        follow_up = replace(turn, prompt="Now mark it done.", turn=1, session_id=session)
        second = await run_turn(AGENT, follow_up, tool_paths)
        turn_two = server.main_requests[len(turn_one) :]

    assert second.exit_code == 0, second
    assert (repo / "done.txt").read_text() == "done\n"
    assert second.of("command") == [{"command": "echo done > done.txt", "exit_code": 0}]
    assert {s["session_id"] for s in second.of("session")} == {session}
    # The resumed conversation carries the first turn: its prompt and its edit.
    history = json.dumps(turn_two[0].body["contents"])
    assert "Change old to new." in history and '"name": "replace"' in history
    assert [r.step for r in turn_two] == [3, 4]
    [usage2] = second.of("usage")
    assert (usage2["input_tokens"], usage2["output_tokens"]) == (270, 80)


async def test_writes_its_settings_and_reaches_the_mcp_server(
    repo: Path, home: Path, tool_paths: list[Path]
) -> None:
    with GeminiServer([say("Nothing to do.")]) as server:
        mcp_url = f"{server.url}/mcp"
        turn = turn_request(SPEC, home, model_base_url=server.url, mcp_url=mcp_url)
        outcome = await run_turn(AGENT, turn, tool_paths)
    assert outcome.state == "complete", outcome
    settings = json.loads((home / SETTINGS).read_text())
    assert settings["mcpServers"] == {"taskyard": {"httpUrl": mcp_url}}
    assert settings["security"]["auth"] == {"selectedType": "gemini-api-key"}
    calls = [r for r in server.requests if r.path == "/mcp" and r.method == "POST"]
    assert "initialize" in {json.loads(str(r.body)).get("method") for r in calls}


async def test_a_rejected_credential_fails_the_turn(
    repo: Path, home: Path, tool_paths: list[Path]
) -> None:
    with GeminiServer([say("unreachable")], api_key="another-key") as server:
        outcome = await run_turn(
            AGENT, turn_request(SPEC, home, model_base_url=server.url), tool_paths
        )
    assert outcome.state == "failure", outcome
    assert outcome.exit_code != 0
    [error] = outcome.of("error")
    assert error["status"] == 401 and error["fatal"]
    assert not outcome.of("text") and not server.main_requests


def test_the_fake_answers_side_requests_with_json_fitting_their_schema() -> None:
    props = {"reason": {"type": "STRING"}, "next_speaker": {"type": "STRING", "enum": ["user"]}}
    props |= {"score": {"type": "INTEGER"}, "tags": {"type": "ARRAY"}, "ok": {"type": "BOOLEAN"}}
    schema = {"type": "OBJECT", "properties": props}
    body = {"contents": [{"role": "user", "parts": [{"text": "go"}]}], "tools": [{}]}
    with (
        GeminiServer([say("Hi there.")]) as server,
        httpx.Client(timeout=30, base_url=server.url) as client,
    ):
        config = {"responseJsonSchema": schema}
        side = client.post("/v1beta/models/f:generateContent", json={"generationConfig": config})
        main = client.post("/v1beta/models/p:streamGenerateContent?alt=sse", json=body)
        counted = client.post("/v1beta/models/p:countTokens", json=body).json()
    answer = json.loads(side.json()["candidates"][0]["content"]["parts"][0]["text"])
    assert answer == {"reason": "fake", "next_speaker": "user", "score": 1, "tags": [], "ok": False}
    chunks = [json.loads(c.removeprefix("data: ")) for c in main.text.split("\r\n\r\n") if c]
    parts = [p for c in chunks for p in c["candidates"][0]["content"]["parts"]]
    assert "".join(p["text"] for p in parts) == "Hi there." and len(chunks) == 3
    assert chunks[-1]["usageMetadata"]["promptTokenCount"] == 120 and counted["totalTokens"]
    assert [(r.main, r.step) for r in server.requests] == [(False, None), (True, 0), (False, None)]


# --- Invocation and parser, on lines recorded from Gemini CLI 0.61.0 -------------------


def test_invocation(tmp_path: Path) -> None:
    spec = SPEC.model_copy(update={"args": ["--include-directories", "/x"]})
    req = turn_request(
        spec,
        tmp_path / "home",
        session_id="4178817f",
        model_base_url="http://proxy:9/gemini",
        env={"FOO": "bar", "GEMINI_CLI_HOME": "/elsewhere"},
    )
    invocation = AGENT.start_turn(req).invocation
    assert invocation.argv == [
        "gemini",
        "--output-format",
        "stream-json",
        "--approval-mode",
        "yolo",
        "--model",
        "gemini-2.5-pro",
        "--resume",
        "4178817f",
        "--include-directories",
        "/x",
    ]
    assert invocation.stdin == "Do it."
    env = invocation.env
    assert env["GOOGLE_GEMINI_BASE_URL"] == "http://proxy:9/gemini"
    assert env["GEMINI_API_KEY"] == TASK_KEY and env["FOO"] == "bar"
    assert env["GEMINI_CLI_HOME"] == str(req.home) and env["GEMINI_CLI_NO_RELAUNCH"] == "true"
    settings = json.loads(invocation.files[SETTINGS])
    assert settings["security"]["folderTrust"] == {"enabled": False}
    assert settings["privacy"] == {"usageStatisticsEnabled": False}
    assert "mcpServers" not in settings


def test_without_a_proxy_the_template_chooses_the_auth(tmp_path: Path) -> None:
    req = turn_request(SPEC, tmp_path / "home", model_api_key="", env={"GEMINI_API_KEY": "own"})
    invocation = AGENT.start_turn(req).invocation
    assert "auth" not in json.loads(invocation.files[SETTINGS])["security"]
    assert invocation.env["GEMINI_API_KEY"] == "own"
    assert "GOOGLE_GEMINI_BASE_URL" not in invocation.env


def feed(*lines: dict[str, Any] | str) -> tuple[GeminiTurn, list[AgentEvent]]:
    turn = GeminiAgent().start_turn(turn_request(SPEC, Path("/h")))
    assert isinstance(turn, GeminiTurn)
    raw = [line if isinstance(line, str) else json.dumps(line) for line in lines]
    return turn, [e for line in raw for e in turn.parse(line)]


def of(events: list[AgentEvent], kind: str) -> list[dict[str, Any]]:
    return [e.data for e in events if e.type == kind]


def use(tool_id: str, name: str, **parameters: Any) -> dict[str, Any]:
    return {"type": "tool_use", "tool_name": name, "tool_id": tool_id, "parameters": parameters}


def result(tool_id: str, status: str = "success", **fields: Any) -> dict[str, Any]:
    return {"type": "tool_result", "tool_id": tool_id, "status": status, **fields}


def test_shell_exit_codes_show_only_without_output() -> None:
    _, events = feed(
        use("a", "run_shell_command", command="exit 3"),
        result("a", output="Command exited with code: 3"),
        use("b", "run_shell_command", command="true"),
        result("b", output=""),
        use("c", "run_shell_command", command="ls"),
        result("c", output="a\nb"),
        use("d", "run_shell_command", command="rm -rf /"),
        result("d", "error", error={"type": "invalid_tool_params", "message": "Refused."}),
    )
    assert [c["exit_code"] for c in of(events, "command")] == [3, 0, None, None]
    assert of(events, "tool_result")[3] == {"id": "d", "output": "Refused.", "is_error": True}


def test_edits_count_once_they_succeed() -> None:
    _, events = feed(
        use("a", "replace", file_path="/w/new.py", old_string="", new_string="x"),
        result("a"),
        use("b", "write_file", file_path="/w/a.txt", content="a"),
        result("b"),
        use("c", "replace", file_path="/w/a.txt", old_string="zz", new_string="y"),
        result("c", "error", error={"type": "edit_no_occurrence_found", "message": "No match."}),
    )
    assert of(events, "file_edit") == [
        {"path": "/w/new.py", "action": "create", "tool": "replace"},
        {"path": "/w/a.txt", "action": "update", "tool": "write_file"},
    ]


def test_a_failed_result_reports_the_last_error_and_thinking_counts_as_output() -> None:
    stats = {"total_tokens": 500, "input_tokens": 300, "output_tokens": 50, "cached": 100}
    turn, events = feed(
        "Ripgrep is not available. Falling back to GrepTool.",
        {"type": "message", "role": "assistant", "content": "Half", "delta": True},
        {"type": "error", "severity": "error", "message": "Invalid stream: empty response."},
        {"type": "result", "status": "error", "stats": stats},
    )
    assert [e.type for e in events] == ["output", "text", "error", "usage", "error", "state"]
    assert of(events, "usage") == [
        {"input_tokens": 300, "output_tokens": 200, "cached_input_tokens": 100}
    ]
    assert of(events, "error")[1] == {"message": "Invalid stream: empty response.", "fatal": True}
    assert turn.finish(1) == []  # the result said it all


def test_dying_before_a_result_fails_the_turn() -> None:
    turn, events = feed({"type": "message", "role": "assistant", "content": "Working"})
    assert events == []
    tail = turn.finish(41)
    assert [e.type for e in tail] == ["text", "state"]
    assert tail[-1].data["state"] == "failure"
