"""The gateway's books: every model call metered as it streams, priced, and the budgets
kept at the next call, against the scripted model APIs and a real database."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from taskyard.config import Settings
from taskyard.db.models import Event, Task
from taskyard.db.session import session_scope
from taskyard.gateway import Gateway
from taskyard.gateway.metering import CallMeter
from taskyard.model import prices
from taskyard.model.prices import Usage, cost_of, price_of
from taskyard.model.template import Budget, ModelPrice
from taskyard.services import stops
from tests.fakes import say
from tests.gateway.conftest import Upstreams, issue, running_gateway
from tests.gateway.test_model_proxy import post_message

SONNET = price_of("anthropic", "claude-sonnet-4-5")


def sse(*events: dict[str, Any]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def fed(meter: CallMeter, body: bytes, size: int) -> Usage:
    """Feed ``body`` in pieces of ``size`` bytes, cut anywhere, as a network would."""
    for i in range(0, len(body), size):
        meter.feed(body[i : i + size])
    return meter.usage()


@pytest.mark.parametrize("size", [1, 7, 4096])
def test_anthropic_streams_are_metered_from_start_and_delta(size: int) -> None:
    usage = {"input_tokens": 10, "cache_read_input_tokens": 200, "output_tokens": 1}
    body = sse(
        {"type": "message_start", "message": {"model": "claude-sonnet-4-5-2025", "usage": usage}},
        {"type": "content_block_delta", "index": 0, "delta": {"text": "usage: 5"}},
        {"type": "message_delta", "usage": {"output_tokens": 42}},
        {"type": "message_stop"},
    )
    meter = CallMeter("anthropic", "claude-sonnet-4-5", streamed=True)
    assert fed(meter, body, size) == Usage(210, 200, 0, 42)
    assert meter.model == "claude-sonnet-4-5-2025" and meter.seen


def test_an_anthropic_stream_cut_short_counts_what_it_reported() -> None:
    start = {"model": "m", "usage": {"input_tokens": 205, "output_tokens": 1}}
    meter = CallMeter("anthropic", "m", streamed=True)
    meter.feed(sse({"type": "message_start", "message": start})[:-1])  # no final newline
    assert meter.usage() == Usage(205, 0, 0, 1)


def test_openai_responses_and_chat_completions_are_metered() -> None:
    usage = {"input_tokens": 300, "input_tokens_details": {"cached_tokens": 100}}
    completed = {"type": "response.completed", "response": {"model": "gpt-4.1", "usage": usage}}
    created = {"type": "response.created", "response": {"model": "gpt-4.1", "usage": None}}
    meter = CallMeter("openai", "gpt-4.1", streamed=True)
    assert fed(meter, sse(created, {**completed, "response": {**completed["response"]}}), 5) == (
        Usage(300, 100, 0, 0)
    )
    chat = {"model": "gpt-4o", "usage": {"prompt_tokens": 50, "completion_tokens": 9}}
    meter = CallMeter("openai", "", streamed=False)
    assert fed(meter, json.dumps(chat).encode(), 3) == Usage(50, 0, 0, 9)
    stream = b'data: {"choices": [], "usage": null}\n\ndata: ' + json.dumps(chat).encode()
    meter = CallMeter("openai", "", streamed=True)
    assert fed(meter, stream + b"\n\ndata: [DONE]\n\n", 11) == Usage(50, 0, 0, 9)


def test_gemini_usage_metadata_is_metered() -> None:
    chunk = {"usageMetadata": {"promptTokenCount": 80, "candidatesTokenCount": 5}}
    last = {
        "modelVersion": "gemini-2.5-pro",
        "usageMetadata": {
            "promptTokenCount": 80,
            "candidatesTokenCount": 20,
            "thoughtsTokenCount": 7,
            "cachedContentTokenCount": 40,
        },
    }
    body = b"".join(b"data: " + json.dumps(c).encode() + b"\r\n\r\n" for c in (chunk, last))
    meter = CallMeter("google", "gemini-2.5-pro", streamed=True)
    assert fed(meter, body, 9) == Usage(80, 40, 0, 27)
    unstreamed = CallMeter("google", "", streamed=False)
    assert fed(unstreamed, json.dumps([chunk, last]).encode(), 64) == Usage(80, 40, 0, 27)


def test_an_answer_without_usage_is_not_a_billed_call() -> None:
    meter = CallMeter("anthropic", "", streamed=False)
    meter.feed(b"<html>Bad gateway</html>")
    meter.usage()
    assert not meter.seen


def test_prices_come_from_one_table_by_longest_prefix_and_templates_join_it() -> None:
    assert price_of("openai", "gpt-4.1-mini-2025-04-14") == prices.TABLE["openai"]["gpt-4.1-mini"]
    assert price_of("openai", "gpt-4.1") == prices.TABLE["openai"]["gpt-4.1"]
    assert price_of("anthropic", "claude-haiku-4-5-20251001") is not None
    assert price_of("anthropic", "gpt-4.1") is None, "prices are per provider"
    assert price_of("openai", "my-finetune") is None
    mine = ModelPrice(input=1, output=2)
    assert price_of("openai", "my-finetune-v2", {"my-finetune": mine}) == mine
    assert price_of("openai", "gpt-4.1", {"gpt-4.1": mine}) == mine, "the template's win ties"
    assert price_of("openai", "gpt-4o", {"gpt": mine}) == prices.TABLE["openai"]["gpt-4o"]
    assert price_of("openai", "gpt-3.5-turbo", {"gpt": mine}) == mine


def test_cost_prices_cached_and_written_input_apart() -> None:
    assert SONNET is not None
    usage = Usage(input_tokens=1_000_000, cached_input_tokens=500_000, output_tokens=100_000)
    # 500k fresh at $3, 500k cached at $0.30, 100k out at $15 per million.
    assert cost_of(usage, SONNET) == pytest.approx(1.5 + 0.15 + 1.5)
    written = Usage(input_tokens=1_000_000, cache_write_tokens=1_000_000)
    assert cost_of(written, SONNET) == pytest.approx(3.75)
    assert cost_of(written, ModelPrice(input=2, output=0)) == pytest.approx(2.0)


def totals(settings: Settings, task_id: int) -> tuple[int, int, float, str]:
    with session_scope(settings.resolved_database_url) as session:
        row = session.get(Task, task_id)
        assert row is not None
        return row.input_tokens, row.output_tokens, row.cost_usd, row.stop_reason


def usage_events(settings: Settings, task_id: int) -> list[dict[str, Any]]:
    with session_scope(settings.resolved_database_url) as session:
        query = select(Event.data).where(Event.task_id == task_id, Event.kind == "usage")
        return list(session.scalars(query.order_by(Event.id)))


async def until(check: Any, timeout: float = 10) -> Any:
    """Poll ``check`` (in a thread) until it returns something truthy, or fail."""
    deadline = time.monotonic() + timeout
    while not (value := await asyncio.to_thread(check)):
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)
    return value


async def test_every_call_is_booked_with_its_cost(
    gateway: Gateway, task: Task, gw_settings: Settings, upstreams: Upstreams
) -> None:
    upstreams.anthropic.script = [say("one", input_tokens=205, output_tokens=42)]
    credential = issue(gateway, task)
    await post_message(gateway, credential, stream=True, tools=[{"name": "t"}])
    await post_message(gateway, credential)  # a side request, unstreamed: billed too
    [main, side] = await until(lambda: len(e := usage_events(gw_settings, task.id)) == 2 and e)
    assert (main["input_tokens"], main["output_tokens"]) == (205, 42)
    assert SONNET is not None
    assert main["cost_usd"] == pytest.approx(cost_of(Usage(205, 0, 0, 42), SONNET))
    billed = upstreams.anthropic.requests
    assert totals(gw_settings, task.id)[:2] == (
        sum(r.input_tokens for r in billed),
        sum(r.output_tokens for r in billed),
    )
    assert totals(gw_settings, task.id)[2] == pytest.approx(main["cost_usd"] + side["cost_usd"])


async def test_the_call_after_a_budget_is_reached_is_refused(
    gateway: Gateway, task: Task, gw_settings: Settings, upstreams: Upstreams
) -> None:
    credential = issue(gateway, task, budget=Budget(max_tokens=15))  # a call bills 10
    for _ in range(2):
        response, body = await post_message(gateway, credential)
        assert response.status_code == 200, body
    await until(lambda: totals(gw_settings, task.id)[3])
    response, body = await post_message(gateway, credential)
    assert response.status_code == 403
    message = response.json()["error"]["message"]
    assert message == "Budget reached: max_tokens (15). This task's model calls are refused."
    assert len(upstreams.anthropic.requests) == 2, "the refused call never left"
    assert totals(gw_settings, task.id)[3] == "max_tokens (15)"


async def test_a_budget_spent_before_the_turn_refuses_its_first_call(
    gateway: Gateway, task: Task, gw_settings: Settings, upstreams: Upstreams
) -> None:
    with session_scope(gw_settings.resolved_database_url) as session:
        row = session.get(Task, task.id)
        assert row is not None
        row.cost_usd = 0.5
    credential = issue(gateway, task, budget=Budget(max_cost_usd=0.5))
    response, _ = await post_message(gateway, credential)
    assert response.status_code == 403 and "max_cost_usd (0.5)" in response.text
    assert upstreams.anthropic.requests == []


async def test_a_cancel_recorded_anywhere_refuses_the_next_call(
    gateway: Gateway, task: Task, gw_settings: Settings, upstreams: Upstreams
) -> None:
    credential = issue(gateway, task)
    assert (await post_message(gateway, credential))[0].status_code == 200
    with session_scope(gw_settings.resolved_database_url) as session:  # as the API does
        row = session.get(Task, task.id)
        assert row is not None
        stops.request_stop(session, row, stops.Stop("cancel", "Cancelled by ada"))
    response, _ = await post_message(gateway, credential)
    assert response.status_code == 403
    assert "cancelled (Cancelled by ada)" in response.json()["error"]["message"]
    assert len(upstreams.anthropic.requests) == 1
    async with httpx.AsyncClient(timeout=30, base_url=gateway.url) as client:
        ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        assert (await client.post(f"/mcp/{credential}", json=ping)).status_code == 401


async def test_a_cost_budget_needs_a_price_for_the_model(
    gateway: Gateway, task: Task, upstreams: Upstreams
) -> None:
    credential = issue(gateway, task, budget=Budget(max_cost_usd=1))
    response, _ = await post_message(gateway, credential, model="claude-unknown-9")
    assert response.status_code == 403
    assert "No price is known for model 'claude-unknown-9'" in response.text
    assert upstreams.anthropic.requests == []


async def test_a_call_the_agent_hangs_up_on_is_booked(gw_settings: Settings, task: Task) -> None:
    """A killed agent's last call counts what the API had reported when it was cut."""

    class Endless(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            start = {"model": "claude-sonnet-4-5", "usage": {"input_tokens": 205}}
            yield sse({"type": "message_start", "message": start})
            await asyncio.Event().wait()  # a model that never finishes
            yield b""

    def upstream(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Endless())

    async with running_gateway(gw_settings, upstream) as gateway:
        async with (
            httpx.AsyncClient(timeout=30, base_url=gateway.url) as client,
            client.stream(
                "POST",
                "/anthropic/v1/messages",
                json={"model": "claude-sonnet-4-5", "stream": True},
                headers={"x-api-key": issue(gateway, task)},
            ) as response,
        ):
            await anext(response.aiter_raw())
        [booked] = await until(lambda: usage_events(gw_settings, task.id))
    assert (booked["input_tokens"], booked["output_tokens"]) == (205, 0)
