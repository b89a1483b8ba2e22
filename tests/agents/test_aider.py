"""The aider adapter: real Aider against a scripted Chat Completions API, and its parser."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from taskyard.agents.aider import MESSAGE_FILE, PRICES, AiderAgent, AiderTurn
from taskyard.agents.base import AgentEvent
from tests.agents.harness import TASK_KEY, run_turn, spec_for, turn_request
from tests.fakes import say
from tests.fakes.chat_completions_server import ChatCompletionsServer

# A model Aider and LiteLLM know: the diff edit format, and a price to compute a cost.
AGENT = AiderAgent()
SPEC = spec_for(AGENT, "gpt-4.1")
EDIT = """I will change the greeting.

hello.txt
```
<<<<<<< SEARCH
old
=======
new
>>>>>>> REPLACE
```
"""
# An empty SEARCH section makes a new file.
CREATE = """Marking it done.

done.txt
```
<<<<<<< SEARCH
=======
done
>>>>>>> REPLACE
```
"""


async def test_edits_the_checkout_and_continues_its_chat(
    repo: Path, home: Path, tool_paths: list[Path]
) -> None:
    script = [
        say(EDIT, input_tokens=1234, output_tokens=56),
        say(CREATE, input_tokens=2345, output_tokens=67),
    ]
    with ChatCompletionsServer(script) as server:
        # Aider adds the files a prompt names to its chat, and edits only those freely.
        turn = turn_request(
            SPEC, home, "Change old to new in hello.txt.", model_base_url=server.url
        )
        first = await run_turn(AGENT, turn, tool_paths)
        turn_one = server.main_requests

        assert first.exit_code == 0, first
        assert (repo / "hello.txt").read_text() == "new\n"
        assert first.of("file_edit") == [{"path": "hello.txt", "action": "update", "tool": "aider"}]
        assert [t["text"] for t in first.of("text")] == [EDIT.strip()]
        # Exact counts, where the printed line rounds them ("Tokens: 1.2k sent").
        assert first.of("usage") == [
            {
                "input_tokens": 1234,
                "output_tokens": 56,
                "cached_input_tokens": 0,
                "cost_usd": pytest.approx(1234 * 2e-6 + 56 * 8e-6),  # LiteLLM's gpt-4.1 price
            }
        ]
        assert first.state == "complete"
        assert first.of("state")[-1]["message"] == EDIT.strip()
        assert [r.body["model"] for r in turn_one] == ["gpt-4.1"]
        assert {r.headers.get("authorization") for r in server.requests} == {f"Bearer {TASK_KEY}"}
        [session] = {s["session_id"] for s in first.of("session")}
        assert (home / f".aider/sessions/{session}.md").is_file()

        follow_up = replace(turn, prompt="Now create done.txt.", turn=1, session_id=session)
        second = await run_turn(AGENT, follow_up, tool_paths)
        turn_two = server.main_requests[len(turn_one) :]

    assert second.exit_code == 0, second
    assert (repo / "done.txt").read_text() == "done\n"
    assert second.of("file_edit") == [{"path": "done.txt", "action": "update", "tool": "aider"}]
    assert {s["session_id"] for s in second.of("session")} == {session}
    # The restored chat carries the first turn: its prompt and its reply.
    history = json.dumps(turn_two[0].body["messages"])
    assert "Change old to new in hello.txt." in history and "I will change the greeting." in history
    assert [r.step for r in turn_two] == [1]
    [usage] = second.of("usage")
    assert (usage["input_tokens"], usage["output_tokens"]) == (2345, 67)


async def test_a_rejected_credential_fails_the_turn(
    repo: Path, home: Path, tool_paths: list[Path]
) -> None:
    with ChatCompletionsServer([say("unreachable")], api_key="another-key") as server:
        outcome = await run_turn(
            AGENT, turn_request(SPEC, home, model_base_url=server.url), tool_paths
        )
    # Aider exits 0 all the same; its output tells.
    assert outcome.state == "failure", outcome
    [error] = outcome.of("error")
    assert error["status"] == 401 and error["fatal"]
    assert "Incorrect API key provided." in error["message"]
    assert not outcome.of("usage") and not server.main_requests


def test_the_fake_streams_and_leaves_side_prompts_out_of_the_script() -> None:
    summary = {"role": "system", "content": "*Briefly* summarize this partial conversation."}
    user = {"role": "user", "content": "hi"}
    body = {"messages": [user], "stream": True, "stream_options": {"include_usage": True}}
    with ChatCompletionsServer([say("Hello there.")]) as server, httpx.Client(timeout=30) as client:
        url = f"{server.url}/v1/chat/completions"
        side = client.post(url, json={"messages": [summary, user]}).json()
        streamed = client.post(url, json=body).text.strip().split("\n\n")
        said = {"role": "assistant", "content": "Hello there."}
        again = client.post(url, json={"messages": [user, said, user]}).json()
    assert side["choices"][0]["message"]["content"] == "Fake summary"
    assert streamed[-1] == "data: [DONE]"
    chunks = [json.loads(c.removeprefix("data: ")) for c in streamed[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "Hello there." and chunks[-1]["usage"]["prompt_tokens"] == 120
    assert "script exhausted at step 1" in again["choices"][0]["message"]["content"]
    assert [r.step for r in server.requests] == [None, 0, 1]


# --- Invocation and parser, on lines recorded from Aider 0.86.2 -----------------------


def test_invocation_starts_a_new_chat_unless_resuming_one(tmp_path: Path) -> None:
    req = turn_request(
        SPEC.model_copy(update={"args": ["--edit-format", "whole"]}),
        tmp_path / "home",
        model_base_url="http://proxy:9/openai/",
        env={"OPENAI_BASE_URL": "https://api.openai.com/v1", "FOO": "bar"},
    )
    first = AGENT.start_turn(req)
    assert isinstance(first, AiderTurn)
    argv = first.invocation.argv
    assert argv[argv.index("--message-file") + 1] == str(req.home / MESSAGE_FILE)
    history = argv[argv.index("--chat-history-file") + 1]
    assert history == str(req.home / f".aider/sessions/{first.session_id}.md")
    assert "--restore-chat-history" not in argv
    assert argv[argv.index("--model") + 1] == "openai/gpt-4.1"
    assert argv[argv.index("--analytics-log") + 1] == "/dev/stdout"
    assert {"--yes-always", "--no-auto-commits", "--no-dirty-commits"} <= set(argv)
    assert argv[-2:] == ["--edit-format", "whole"]
    env = first.invocation.env
    assert env["AIDER_OPENAI_API_BASE"] == "http://proxy:9/openai/v1"
    assert env["AIDER_OPENAI_API_KEY"] == TASK_KEY and env["FOO"] == "bar"
    assert "OPENAI_BASE_URL" not in env  # LiteLLM would prefer it to the proxy
    assert first.invocation.files[MESSAGE_FILE] == "Do it."
    command = AGENT.start_turn(replace(req, prompt="/run rm -rf ~")).invocation
    assert command.files[MESSAGE_FILE] == " /run rm -rf ~"  # a request, not a command
    assert json.loads(first.invocation.files[PRICES])  # non-empty: no download

    again = AGENT.start_turn(replace(req, session_id=first.session_id, turn=1))
    assert "--restore-chat-history" in again.invocation.argv
    assert history in again.invocation.argv
    # A session id names a file: anything else starts a new chat.
    other = AGENT.start_turn(replace(req, session_id="../../etc/passwd"))
    assert isinstance(other, AiderTurn) and other.session_id != "../../etc/passwd"
    assert "--restore-chat-history" not in other.invocation.argv


def feed(*lines: dict[str, Any] | str, exit_code: int = 0) -> list[AgentEvent]:
    turn = AGENT.start_turn(turn_request(SPEC, Path("/h")))
    raw = [line if isinstance(line, str) else json.dumps(line) for line in lines]
    return [e for line in raw for e in turn.parse(line)] + turn.finish(exit_code)


def analytics(event: str, **properties: Any) -> dict[str, Any]:
    return {"event": event, "properties": properties, "user_id": "u", "time": 1}


def of(events: list[AgentEvent], kind: str) -> list[dict[str, Any]]:
    return [e.data for e in events if e.type == kind]


def test_retries_are_warnings_and_rounded_tokens_stand_in_for_the_log() -> None:
    events = feed(
        "Aider v0.86.2",
        analytics("message_send_starting"),
        "litellm.RateLimitError: RateLimitError: OpenAIException - Slow down.",
        "The API provider has rate limited you. Try again later or check your quotas.",
        "Retrying in 0.2 seconds...",
        "Done it.",
        "",
        "Tokens: 1.2k sent, 1.1k cache hit, 56 received. Cost: $0.0031 message, $0.01 session.",
        "The LLM did not conform to the edit format.",
    )
    [retry, reflect] = of(events, "error")
    assert retry["status"] == 429 and not retry["fatal"] and "Slow down." in retry["message"]
    assert reflect == {"message": "The LLM did not conform to the edit format.", "fatal": False}
    assert of(events, "text") == [{"text": "Done it."}]
    assert of(events, "usage") == [
        {"input_tokens": 1200, "output_tokens": 56, "cached_input_tokens": 1100, "cost_usd": 0.0031}
    ]
    assert of(events, "state")[-1] == {"state": "complete", "message": "Done it."}
    assert of(events, "output") == [{"line": "Aider v0.86.2"}]


def test_an_error_it_gives_up_on_fails_the_turn_despite_exit_code_zero() -> None:
    events = feed(
        analytics("message_send_starting"),
        "litellm.InternalServerError: InternalServerError: OpenAIException - Connection error.",
        "The API provider's servers are down or overloaded.",
        "",
        analytics("exit", reason="Completed --message"),
    )
    [error] = of(events, "error")
    assert error["fatal"] and "status" not in error  # a refused connection has no status
    assert of(events, "state")[-1]["state"] == "failure"
    assert "Connection error." in of(events, "state")[-1]["message"]


def test_an_early_exit_fails_with_its_reason() -> None:
    events = feed(analytics("exit", reason="Repository sanity check failed"), exit_code=1)
    assert [e.type for e in events] == ["session", "state", "state"]
    assert of(events, "state")[-1] == {
        "state": "failure",
        "message": "Repository sanity check failed",
    }
