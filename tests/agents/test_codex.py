"""The codex adapter end to end: the real CLI against a scripted Responses API."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from taskyard.agents.codex import KEY_VAR, CodexAgent, split_token
from tests.agents.harness import TASK_KEY, run_turn, spec_for, turn_request
from tests.fakes import call, call_freeform, say
from tests.fakes.openai_server import OpenAIServer

# A model Codex knows, so it offers its freeform apply_patch tool.
AGENT = CodexAgent()
SPEC = spec_for(AGENT, "gpt-5.5")
PATCH = """*** Begin Patch
*** Update File: hello.txt
@@
-old
+new
*** End Patch
"""


async def test_edits_through_its_tools_and_resumes_its_thread(
    repo: Path, home: Path, tool_paths: list[Path]
) -> None:
    script = [
        call_freeform(
            "apply_patch", PATCH, "Editing hello.txt.", input_tokens=100, output_tokens=10
        ),
        say("Changed hello.txt.", input_tokens=110, output_tokens=20),
        call("exec_command", cmd="echo done > done.txt", input_tokens=120, output_tokens=30),
        say("Marked done.", input_tokens=130, output_tokens=40),
    ]
    with OpenAIServer(script) as server:
        first = await run_turn(
            AGENT,
            turn_request(SPEC, home, model_base_url=server.url, prompt="Change old to new."),
            tool_paths,
        )
        turn_one = server.main_requests

        assert first.exit_code == 0, first
        assert (repo / "hello.txt").read_text() == "new\n"
        assert [c["name"] for c in first.of("tool_call")] == ["apply_patch"]
        assert first.of("file_edit") == [
            {"path": str(repo / "hello.txt"), "action": "update", "tool": "apply_patch"}
        ]
        assert [t["text"] for t in first.of("text")] == ["Editing hello.txt.", "Changed hello.txt."]
        [usage] = first.of("usage")
        assert usage["input_tokens"] == sum(r.input_tokens for r in turn_one) == 210
        assert usage["output_tokens"] == sum(r.output_tokens for r in turn_one) == 30
        assert first.state == "complete"
        assert first.of("state")[-1]["message"] == "Changed hello.txt."
        assert {r.headers.get("authorization") for r in server.requests} == {f"Bearer {TASK_KEY}"}
        token = first.of("session")[-1]["session_id"]
        thread, totals = split_token(token)
        assert thread == first.of("session")[0]["session_id"] and totals == (210, 0, 30)

        follow_up = turn_request(
            SPEC,
            home,
            model_base_url=server.url,
            prompt="Now mark it done.",
            turn=1,
            session_id=token,
        )
        second = await run_turn(AGENT, follow_up, tool_paths)
        turn_two = server.main_requests[len(turn_one) :]

    assert second.exit_code == 0, second
    assert (repo / "done.txt").read_text() == "done\n"
    [command] = second.of("command")
    assert "echo done > done.txt" in command["command"] and command["exit_code"] == 0
    assert split_token(second.of("session")[-1]["session_id"])[0] == thread
    # The resumed thread carries the first turn: its prompt and its patch.
    history = json.dumps(turn_two[0].body["input"])
    assert "Change old to new." in history and "*** Update File: hello.txt" in history
    assert [r.step for r in turn_two] == [2, 3]
    # Codex reports the thread's running total; the adapter reports this turn's share.
    [usage2] = second.of("usage")
    assert (usage2["input_tokens"], usage2["output_tokens"]) == (250, 70)


async def test_writes_its_config_and_reaches_the_mcp_server(
    repo: Path, home: Path, tool_paths: list[Path]
) -> None:
    with OpenAIServer([say("Nothing to do.")]) as server:
        mcp_url = f"{server.url}/mcp"
        outcome = await run_turn(
            AGENT,
            turn_request(SPEC, home, model_base_url=server.url, prompt="Hi", mcp_url=mcp_url),
            tool_paths,
        )
    assert outcome.state == "complete", outcome
    config = tomllib.loads((home / ".codex/config.toml").read_text())
    assert config["model_providers"]["taskyard"] == {
        "name": "taskyard",
        "base_url": f"{server.url}/v1",
        "wire_api": "responses",
        "env_key": KEY_VAR,
    }
    assert config["mcp_servers"]["taskyard"] == {"url": mcp_url}
    methods = {json.loads(str(r.body)).get("method") for r in server.requests if r.path == "/mcp"}
    assert "initialize" in methods, methods


async def test_a_rejected_credential_fails_the_turn(
    repo: Path, home: Path, tool_paths: list[Path]
) -> None:
    # Extra CLI arguments reach the CLI: no retries, so the 401 ends the turn at once.
    no_retries = [
        "-c",
        "model_providers.taskyard.stream_max_retries=0",
        "-c",
        "model_providers.taskyard.request_max_retries=0",
    ]
    spec = SPEC.model_copy(update={"args": no_retries})
    with OpenAIServer([say("unreachable")], api_key="another-key") as server:
        outcome = await run_turn(
            AGENT,
            turn_request(spec, home, model_base_url=server.url, prompt="Hi"),
            tool_paths,
        )
    assert outcome.state == "failure", outcome
    assert outcome.exit_code != 0
    fatal = [e for e in outcome.of("error") if e["fatal"]]
    assert len(fatal) == 1 and "401" in fatal[0]["message"]
    assert len(server.requests) == 1 and not server.main_requests
