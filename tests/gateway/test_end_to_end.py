"""Real agent CLIs in the default sandbox, through the engine and the gateway, end to end.

API → Temporal → turn in bubblewrap (network allowlist: no network of its own) →
the CLI reaches the gateway over the bridge with its per-turn credential → the
gateway calls the scripted model API with the organization's real key → the
agent edits through its own tools → delivery to the remote. Then a follow-up
message resumes the agent's session, and the credential dies with the task.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.agents.harness import pinned
from tests.conftest import git
from tests.fakes import ScriptedServer, call, say
from tests.fakes.anthropic_server import AnthropicServer
from tests.fakes.openai_server import OpenAIServer
from tests.gateway.conftest import REAL_ANTHROPIC_KEY, REAL_OPENAI_KEY
from tests.support.server import RunningServer

pytestmark = [
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not installed"),
    pytest.mark.timeout(300),
]

FOLLOW_UP = "Also add a French greeting."
FINISH = [
    say("Added GREETING.md."),
    say("Nothing more to do."),  # the stage prompt again, when the message starts a run
    say("Bonjour !"),
]


def push_template(server: RunningServer, name: str, kind: str, version: str, model: str) -> None:
    # The default sandbox: bubblewrap, network allowlist with nothing allowed.
    body = f"name: {name}\nagent:\n  kind: {kind}\n  version: '{version}'\n  model: {model}\n"
    response = server.http.post("/api/v1/templates", content=body)
    assert response.status_code == 201, response.text


def agent_events(server: RunningServer, key: str, kind: str) -> list[dict[str, Any]]:
    return [
        e["data"] for e in server.events(key) if e["kind"] == "agent" and e["data"]["type"] == kind
    ]


def files_under(*roots: Path) -> Iterator[bytes]:
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                yield path.read_bytes()


def run_and_check(
    server: RunningServer,
    fake: ScriptedServer,
    remote: Path,
    real_key: str,
    key_var: str,
    edit_tool: str,
) -> tuple[str, str]:
    """Create the task, check its first run; returns the task key and the turn's credential."""
    task = server.create_task(
        title="Greet people",
        description="Add GREETING.md saying hello.",
        repository=str(remote),
        template="agent",
        workflow="gated",
    )
    key = task["key"]
    waiting = server.wait_for(key, "waiting", timeout=120)

    # Delivered: the agent's own edit tool wrote the file, the branch is on the remote.
    assert git("show", f"{task['branch']}:GREETING.md", cwd=remote) == "hello\n"
    names = [c["name"] for c in agent_events(server, key, "tool_call")]
    assert edit_tool in names, names
    assert any(e["path"].endswith("GREETING.md") for e in agent_events(server, key, "file_edit"))
    # Tokens: what the model API billed (side requests included), no more, no less.
    assert_billed(waiting, fake)

    # The API saw the real key; the agent had only its credential.
    assert fake.requests and {_key_of(r.headers) for r in fake.requests} == {real_key}
    home = server.settings.data_dir / "homes" / "1" / key
    env = dict(
        line.split("=", 1) for line in (home / "env.txt").read_text().splitlines() if "=" in line
    )
    credential = env[key_var]
    assert credential.startswith("tyc_") and real_key not in env.values()
    checkout = server.settings.data_dir / "checkouts" / "1" / key
    assert not any(real_key.encode() in data for data in files_under(home, checkout))
    everything = json.dumps(server.events(key))
    assert real_key not in everything and credential not in everything
    return key, credential


def assert_billed(task: dict[str, Any], fake: ScriptedServer) -> None:
    """The task's usage is what the endpoint billed, as the gateway metered it."""
    billed = fake.requests
    assert (task["input_tokens"], task["output_tokens"]) == (
        sum(r.input_tokens for r in billed),
        sum(r.output_tokens for r in billed),
    )
    assert task["cost_usd"] > 0


def follow_up_and_finish(server: RunningServer, fake: ScriptedServer, key: str) -> None:
    before, asked = server.last_event_id(key), len(fake.main_requests)
    response = server.http.post(f"/api/v1/tasks/{key}/messages", json={"text": FOLLOW_UP})
    assert response.status_code == 202, response.text
    waiting = server.wait_for(key, "waiting", after=before, timeout=120)
    later = fake.main_requests[asked:]
    # The follow-up resumed the agent's session: its conversation holds the first turn.
    [answering] = [r for r in later if FOLLOW_UP in json.dumps(r.body)]
    history = json.dumps(answering.body)
    assert "Add GREETING.md saying hello." in history and "GREETING.md" in history
    assert_billed(waiting, fake)
    assert server.http.post(f"/api/v1/tasks/{key}/approve", json={}).status_code == 202
    server.wait_for(key, "completed")


def assert_dead(gateway_url: str, credential: str, path: str, headers: dict[str, str]) -> None:
    """Once the task is over, its credential opens nothing."""
    with httpx.Client(timeout=30, base_url=gateway_url) as client:
        model = client.post(path, json={"model": "m", "input": "hi"}, headers=headers)
        mcp = client.post(f"/mcp/{credential}", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert (model.status_code, mcp.status_code) == (401, 401)


def _key_of(headers: dict[str, str]) -> str:
    return headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")


def test_claude_code_through_the_gateway(
    e2e: RunningServer, anthropic: AnthropicServer, remote_repo: Path
) -> None:
    push_template(e2e, "agent", "claude-code", pinned("claude-code"), "claude-sonnet-4-5")
    checkout = e2e.settings.data_dir / "checkouts" / "1" / "TY-1"
    anthropic.script = [
        call("Bash", command='env > "$HOME/env.txt"', description="Look around"),
        call("mcp__taskyard__report_status", state="working", summary="Writing the greeting"),
        call("Write", file_path=str(checkout / "GREETING.md"), content="hello\n"),
        *FINISH,
    ]
    key, credential = run_and_check(
        e2e, anthropic, remote_repo, REAL_ANTHROPIC_KEY, "ANTHROPIC_API_KEY", "Write"
    )
    # The status tool is offered up front, not deferred behind Claude Code's ToolSearch.
    offered = [t["name"] for t in anthropic.main_requests[0].body["tools"]]
    assert "mcp__taskyard__report_status" in offered, offered
    # The agent's own report went through the status MCP endpoint.
    reported = [e for e in agent_events(e2e, key, "state") if e.get("reported")]
    assert reported == [
        {"type": "state", "state": "working", "message": "Writing the greeting", "reported": True}
    ]
    follow_up_and_finish(e2e, anthropic, key)
    assert e2e.runtime.gateway is not None
    assert_dead(
        e2e.runtime.gateway.url, credential, "/anthropic/v1/messages", {"x-api-key": credential}
    )


def test_claude_code_finds_the_status_tool_through_tool_search(
    e2e: RunningServer, anthropic: AnthropicServer, remote_repo: Path
) -> None:
    """A template that turns Claude Code's ToolSearch back on: the tool is deferred, and the
    model loads it by searching, as the real model does, then reports through it."""
    body = (
        f"name: agent\nagent:\n  kind: claude-code\n  version: '{pinned('claude-code')}'\n"
        "  model: claude-sonnet-4-5\nenv: {ENABLE_TOOL_SEARCH: 'true'}\n"
    )
    assert e2e.http.post("/api/v1/templates", content=body).status_code == 201
    anthropic.script = [
        call("ToolSearch", query="select:mcp__taskyard__report_status"),
        call("mcp__taskyard__report_status", state="working", summary="Found it"),
        say("Done."),
    ]
    key = e2e.create_task(
        title="Report", repository=str(remote_repo), template="agent", workflow="gated"
    )["key"]
    e2e.wait_for(key, "waiting", timeout=120)
    first, after_search = anthropic.main_requests[:2]
    named = [[t.get("name") for t in r.body["tools"]] for r in (first, after_search)]
    assert "mcp__taskyard__report_status" not in named[0] and "ToolSearch" in named[0]
    assert "mcp__taskyard__report_status" in named[1], named[1]
    reported = [e for e in agent_events(e2e, key, "state") if e.get("reported")]
    assert [e["message"] for e in reported] == ["Found it"]


def test_codex_through_the_gateway(
    e2e: RunningServer, openai: OpenAIServer, remote_repo: Path
) -> None:
    # A model for which Codex lists MCP tools up front (for newer ones it defers them
    # behind its tool_search, which the scripted API cannot drive) and edits by its
    # apply_patch command.
    push_template(e2e, "agent", "codex", pinned("codex"), "gpt-4.1")
    patch = "*** Begin Patch\n*** Add File: GREETING.md\n+hello\n*** End Patch\n"
    openai.script = [
        call("exec_command", cmd='env > "$HOME/env.txt"'),
        call("exec_command", cmd=f"apply_patch <<'EOF'\n{patch}EOF\n"),
        *FINISH,
    ]
    key, credential = run_and_check(
        e2e, openai, remote_repo, REAL_OPENAI_KEY, "TASKYARD_MODEL_API_KEY", "apply_patch"
    )
    # Codex initialized the status MCP endpoint and listed its tool for the model.
    offered = [t for t in openai.main_requests[0].body["tools"] if t.get("name") == "mcp__taskyard"]
    assert [t["name"] for t in offered[0]["tools"]] == ["report_status"]
    follow_up_and_finish(e2e, openai, key)
    assert e2e.runtime.gateway is not None
    assert_dead(
        e2e.runtime.gateway.url,
        credential,
        "/openai/v1/responses",
        {"Authorization": f"Bearer {credential}"},
    )


def test_a_task_without_a_model_key_fails_with_what_to_do(
    server: RunningServer, remote_repo: Path
) -> None:
    push_template(server, "agent", "claude-code", pinned("claude-code"), "claude-sonnet-4-5")
    key = server.create_task(title="No key", repository=str(remote_repo), template="agent")["key"]
    task = server.wait_for(key, "failed")
    assert "No Anthropic API key" in task["status_message"]
    assert "ANTHROPIC_API_KEY" in task["status_message"]
