"""The scripted model servers speak the wire protocols the CLIs expect."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.fakes import call, call_freeform, say
from tests.fakes.anthropic_server import AnthropicServer
from tests.fakes.openai_server import OpenAIServer, replies_in

TOOLS = [{"name": "Write", "input_schema": {"type": "object"}}]


def sse(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) pairs of a server-sent event stream."""
    events = []
    for chunk in response.text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in chunk.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def test_anthropic_streams_tool_use_and_ignores_side_requests() -> None:
    write = call("Write", "Writing.", file_path="/w/a.txt", content="a\n")
    with AnthropicServer([write, say("Done.")]) as server:
        client = httpx.Client(timeout=30, base_url=server.url)
        # A side request (a title, say): no tools. It gets an answer, the script stays put.
        side = client.post("/v1/messages", json={"model": "haiku", "messages": [], "max_tokens": 5})
        assert side.json()["content"][0]["type"] == "text"
        user = {"role": "user", "content": "go"}
        body = {"model": "m", "messages": [user], "tools": TOOLS, "stream": True}
        events = sse(client.post("/v1/messages", json=body))
        side_stream = client.post("/v1/messages", json={"messages": [user], "stream": True})
        assert sse(side_stream)[-1][0] == "message_stop"
        history = [user, {"role": "assistant", "content": []}, user]
        last = client.post("/v1/messages", json={**body, "messages": history, "stream": False})
        assert client.head("/api/hello").status_code == 200
        assert client.get("/v1/unknown").status_code == 404
        client.close()

    assert [name for name, _ in events] == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[0][1]["message"]["usage"]["input_tokens"] == 120
    assert events[5][1]["content_block"]["name"] == "Write"
    partial = "".join(
        d["delta"]["partial_json"]
        for n, d in events
        if n == "content_block_delta" and d["delta"]["type"] == "input_json_delta"
    )
    assert json.loads(partial) == write.input
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"
    assert events[-2][1]["usage"]["output_tokens"] == 30
    assert last.json()["content"] == [{"type": "text", "text": "Done."}]
    assert [(r.main, r.step) for r in server.requests if r.path == "/v1/messages"] == [
        (False, None),
        (True, 0),
        (False, None),
        (True, 1),
    ]


def test_anthropic_rejects_other_credentials() -> None:
    server = AnthropicServer([say("hi")], api_key="right")
    with (
        server,
        httpx.Client(timeout=30, base_url=server.url, headers={"x-api-key": "wrong"}) as client,
    ):
        response = client.post("/v1/messages", json={"messages": [], "tools": TOOLS})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
    assert server.main_requests == []


def test_openai_streams_function_and_freeform_calls() -> None:
    script = [call("exec_command", "Running.", cmd="ls"), call_freeform("apply_patch", "*** Begin")]
    tools = [{"type": "function", "name": "exec_command"}]
    with OpenAIServer(script) as server, httpx.Client(timeout=30, base_url=server.url) as client:
        user = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]}
        body = {"model": "m", "input": [user], "tools": tools, "stream": True}
        first = sse(client.post("/v1/responses", json=body))
        side = client.post("/v1/responses", json={"input": [user]})
        assert side.json()["output"][0]["type"] == "message"
        history = [user, *first[-1][1]["response"]["output"]]
        history.append({"type": "function_call_output", "call_id": "c", "output": "a"})
        second = sse(client.post("/v1/responses", json={**body, "input": history}))

    names = [name for name, _ in first]
    assert names[:2] == ["response.created", "response.in_progress"]
    assert "response.output_text.delta" in names
    assert names[-1] == "response.completed"
    assert [e["sequence_number"] for _, e in first] == list(range(1, len(first) + 1))
    message, function = first[-1][1]["response"]["output"]
    assert message["content"][0]["text"] == "Running."
    arguments = "".join(e["delta"] for n, e in first if n.endswith("arguments.delta"))
    assert json.loads(arguments) == {"cmd": "ls"} == json.loads(function["arguments"])
    assert first[-1][1]["response"]["usage"]["total_tokens"] == 150
    [freeform] = second[-1][1]["response"]["output"]
    assert freeform["type"] == "custom_tool_call" and freeform["input"] == "*** Begin"
    assert [(r.main, r.step) for r in server.requests] == [(True, 0), (False, None), (True, 1)]


def test_replies_count_runs_of_model_items() -> None:
    user = {"type": "message", "role": "user"}
    reply = [
        {"type": "reasoning"},
        {"type": "message", "role": "assistant"},
        {"type": "function_call"},
    ]
    output = {"type": "function_call_output"}
    assert replies_in([user]) == 0
    assert replies_in([user, *reply, output]) == 1
    assert replies_in([user, *reply, output, {"type": "message", "role": "assistant"}, user]) == 2
