"""The model proxy against the scripted model APIs: key swap, streaming, refusals."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from taskyard.config import Settings
from taskyard.db.models import Task
from taskyard.gateway import Gateway
from tests.gateway.conftest import (
    REAL_ANTHROPIC_KEY,
    REAL_OPENAI_KEY,
    Upstreams,
    finish,
    issue,
    running_gateway,
)

MESSAGE = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Hi"}],
}


async def post_message(
    gateway: Gateway, credential: str, **body: Any
) -> tuple[httpx.Response, bytes]:
    async with httpx.AsyncClient(timeout=30, base_url=gateway.url) as client:
        response = await client.post(
            "/anthropic/v1/messages?beta=true",
            json={**MESSAGE, **body},
            headers={"x-api-key": credential, "anthropic-version": "2023-06-01"},
        )
    return response, response.content


async def test_anthropic_calls_go_out_with_the_real_key_and_stream_back(
    gateway: Gateway, task: Task, upstreams: Upstreams
) -> None:
    credential = issue(gateway, task)
    response, body = await post_message(gateway, credential, stream=True)

    assert response.status_code == 200, body
    assert response.headers["content-type"].startswith("text/event-stream")
    assert b"event: message_start" in body and b"event: message_stop" in body
    [seen] = upstreams.anthropic.requests
    assert seen.path == "/v1/messages"
    assert seen.headers["x-api-key"] == REAL_ANTHROPIC_KEY
    assert seen.headers["anthropic-version"] == "2023-06-01"
    assert credential not in json.dumps(seen.headers)
    assert REAL_ANTHROPIC_KEY.encode() not in body
    assert REAL_ANTHROPIC_KEY not in json.dumps(dict(response.headers))


async def test_openai_calls_take_a_bearer_credential(
    gateway: Gateway, task: Task, upstreams: Upstreams
) -> None:
    credential = issue(gateway, task, "openai")
    async with httpx.AsyncClient(timeout=30, base_url=gateway.url) as client:
        response = await client.post(
            "/openai/v1/responses",
            json={"model": "gpt-5.5", "input": "Hi"},
            headers={"Authorization": f"Bearer {credential}"},
        )
    assert response.status_code == 200, response.text
    assert response.json()["object"] == "response"
    # The key came from the server-wide setting: the organization has no OPENAI_API_KEY.
    [seen] = upstreams.openai.requests
    assert (seen.path, seen.headers["authorization"]) == (
        "/v1/responses",
        f"Bearer {REAL_OPENAI_KEY}",
    )


async def test_gemini_calls_take_a_goog_api_key(gw_settings: Settings, task: Task) -> None:
    seen: list[httpx.Request] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"candidates": []})

    settings = gw_settings.model_copy(
        update={"gemini_base_url": "https://gemini.example", "gemini_api_key": "AIza-real"}
    )
    async with (
        running_gateway(settings, upstream) as gateway,
        httpx.AsyncClient(timeout=30, base_url=gateway.url) as client,
    ):
        response = await client.post(
            "/google/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
            json={"contents": []},
            headers={"x-goog-api-key": issue(gateway, task, "google")},
        )
    assert response.status_code == 200, response.text
    [request] = seen
    assert str(request.url) == (
        "https://gemini.example/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    )
    assert request.headers["x-goog-api-key"] == "AIza-real"


async def test_nothing_is_added_or_carried_over_between_requests(
    gw_settings: Settings, task: Task
) -> None:
    seen: list[httpx.Request] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, headers={"set-cookie": "session=abc"}, json={})

    async with running_gateway(gw_settings, upstream) as gateway:
        credential = issue(gateway, task)
        for _ in range(2):
            await post_message(gateway, credential)
    # No cookie jar shared between requests (and so between tasks).
    assert [r.headers.get("cookie") for r in seen] == [None, None]


async def test_upstream_errors_come_back_as_they_are(
    gateway: Gateway, task: Task, gw_settings: Settings
) -> None:
    credential = issue(gateway, task)
    async with httpx.AsyncClient(timeout=30, base_url=gateway.url) as client:
        response = await client.get("/anthropic/nowhere", headers={"x-api-key": credential})
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found_error"


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-api-key": "tyc_not-issued"}, {"x-api-key": REAL_ANTHROPIC_KEY}],
    ids=["none", "unknown", "real-key"],
)
async def test_unknown_credentials_get_401(
    gateway: Gateway, task: Task, upstreams: Upstreams, headers: dict[str, str]
) -> None:
    async with httpx.AsyncClient(timeout=30, base_url=gateway.url) as client:
        response = await client.post("/anthropic/v1/messages", json=MESSAGE, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
    assert upstreams.anthropic.requests == []


async def test_a_revoked_credential_stops_working(
    gateway: Gateway, task: Task, upstreams: Upstreams
) -> None:
    credential = issue(gateway, task)
    assert (await post_message(gateway, credential))[0].status_code == 200
    gateway.credentials.revoke(credential)
    assert (await post_message(gateway, credential))[0].status_code == 401
    assert len(upstreams.anthropic.requests) == 1


async def test_a_finished_tasks_credentials_are_revoked(
    gateway: Gateway, task: Task, gw_settings: Settings, upstreams: Upstreams
) -> None:
    credential = issue(gateway, task)
    other = issue(gateway, task, "openai")
    await asyncio.to_thread(finish, gw_settings, task.id)

    response, body = await post_message(gateway, credential)
    assert response.status_code == 401 and b"The task has ended" in body
    assert len(gateway.credentials) == 0, "every credential of the task is dropped"
    assert gateway.credentials.lookup(other) is None
    assert upstreams.anthropic.requests == []


async def test_a_credential_reaches_only_its_own_provider(
    gateway: Gateway, task: Task, upstreams: Upstreams
) -> None:
    credential = issue(gateway, task, "openai")
    response, _ = await post_message(gateway, credential)
    assert response.status_code == 403
    assert upstreams.anthropic.requests == []
    nothing = issue(gateway, task, "")  # an agent that needs no model
    assert (await post_message(gateway, nothing))[0].status_code == 403


async def test_pages_of_other_origins_are_refused(gateway: Gateway, task: Task) -> None:
    credential = issue(gateway, task)
    async with httpx.AsyncClient(timeout=30, base_url=gateway.url) as client:
        response = await client.post(
            "/anthropic/v1/messages",
            json=MESSAGE,
            headers={"x-api-key": credential, "Origin": "https://evil.example"},
        )
    assert response.status_code == 403


async def test_an_unreachable_upstream_is_a_502(gw_settings: Settings, task: Task) -> None:
    closed = gw_settings.model_copy(update={"anthropic_base_url": "http://127.0.0.1:9"})
    async with running_gateway(closed) as gateway:
        response, body = await post_message(gateway, issue(gateway, task))
    assert response.status_code == 502, body
    assert REAL_ANTHROPIC_KEY.encode() not in body


async def test_streams_pass_through_as_they_arrive(gw_settings: Settings, task: Task) -> None:
    """The first event reaches the agent while the upstream still holds back the rest."""
    release = asyncio.Event()

    async def events() -> AsyncIterator[bytes]:
        yield b"event: one\ndata: {}\n\n"
        await release.wait()
        yield b"event: two\ndata: {}\n\n"

    def upstream(request: httpx.Request) -> httpx.Response:
        assert request.headers["x-api-key"] == REAL_ANTHROPIC_KEY
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=events())

    async with (
        running_gateway(gw_settings, upstream) as gateway,
        httpx.AsyncClient(timeout=30, base_url=gateway.url) as client,
        client.stream(
            "POST",
            "/anthropic/v1/messages",
            json={**MESSAGE, "stream": True},
            headers={"x-api-key": issue(gateway, task)},
        ) as response,
    ):
        chunks = response.aiter_raw()
        first = await asyncio.wait_for(anext(chunks), 10)
        release.set()
        rest = b"".join([chunk async for chunk in chunks])
    assert first == b"event: one\ndata: {}\n\n"
    assert rest == b"event: two\ndata: {}\n\n"


async def test_an_agent_hanging_up_releases_the_upstream(gw_settings: Settings, task: Task) -> None:
    released = asyncio.Event()

    class Endless(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield b"event: one\ndata: {}\n\n"
            await asyncio.Event().wait()  # a model that never finishes
            yield b""

        async def aclose(self) -> None:
            released.set()

    def upstream(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Endless())

    async with running_gateway(gw_settings, upstream) as gateway:
        async with (
            httpx.AsyncClient(timeout=30, base_url=gateway.url) as client,
            client.stream(
                "POST",
                "/anthropic/v1/messages",
                json={**MESSAGE, "stream": True},
                headers={"x-api-key": issue(gateway, task)},
            ) as response,
        ):
            await anext(response.aiter_raw())
        await asyncio.wait_for(released.wait(), 10)


async def test_keys_and_credentials_stay_out_of_the_logs(
    gateway: Gateway, task: Task, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    credential = issue(gateway, task)
    await post_message(gateway, credential, stream=True)
    await post_message(gateway, "tyc_wrong")
    gateway.credentials.revoke(credential)
    await post_message(gateway, credential)
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert caplog.records, "httpx and the gateway log at debug level"
    assert REAL_ANTHROPIC_KEY not in logged
    assert credential not in logged
