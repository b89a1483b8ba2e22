"""Deliveries an attacker or a broken sender makes: each a clear 4xx, never a 500, and
nothing half-written; what a stored delivery was refused for is recorded on it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from tests.intake.conftest import SENTRY_SECRET, Yard, sentry_headers, sentry_payload

from taskyard.db.models import WebhookDelivery
from taskyard.db.session import session_scope
from taskyard.model.errors import InvalidInput
from taskyard.model.inputs import load_object

MAPPED = {"title": "$.t", "team": "$.team", "repository": "$.repo", "dedup_key": "$.k"}


def bearer(source: dict[str, Any], **more: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "Authorization": f"Bearer {source['secret']}",
            **more}  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (b"[" * 10_000 + b"]" * 10_000, "nested deeper than 32 levels"),
        (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "nested deeper than 32 levels"),
        (b'{"t": 1e999999}', "NaN and Infinity"),
        (b'{"t": NaN}', "NaN is not a number JSON can carry"),
        (b'{"t": ' + b"9" * 5000 + b"}", "Exceeds the limit (4300 digits)"),
        (b'{"t": "\xff\xfe"}', "not valid JSON in UTF-8"),
        (b'{"t": "a\\u0000b"}', "must not contain NUL"),
        (b'{"t": "\\ud800"}', "lone surrogate"),
        (b"[1, 2]", "must be a JSON object, not an array"),
        (b'"text"', "must be a JSON object, not a string"),
        (b"", "not valid JSON in UTF-8: Expecting value"),
    ],
)
def test_the_shared_delivery_parser_refuses_saying_what(raw: bytes, said: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        load_object(raw, "The delivery's body")
    assert said in refused.value.message


def test_hostile_bodies_and_headers_are_refused_cleanly(yard: Yard) -> None:
    source = yard.source("webhook", mapping=MAPPED)
    deep = yard.post(source, b"[" * 10_000 + b"]" * 10_000, bearer(source))
    assert deep.status_code == 400 and "nested deeper" in deep.text
    nul = yard.post(source, b'{"t": "a\\u0000b"}', bearer(source))
    assert nul.status_code == 400 and "NUL" in nul.text
    huge_id = yard.post(source, b'{"t": "x"}', bearer(source, **{"Webhook-Id": "a" * 5000}))
    assert huge_id.status_code == 400 and "not a delivery id" in huge_id.text
    # Header values that are not ASCII, in the proofs: a 401, not a crash.
    odd = {"Content-Type": "application/json", "X-Taskyard-Signature": b"sha256=\xe9\xff"}
    assert yard.post(source, b'{"t": "x"}', odd).status_code == 401  # type: ignore[arg-type]
    odd = {"Content-Type": "application/json", "Authorization": b"Bearer \xe9\xe9"}
    assert yard.post(source, b'{"t": "x"}', odd).status_code == 401  # type: ignore[arg-type]

    def chunks() -> Any:  # no Content-Length: counted as it comes
        for _ in range(1100):
            yield b" " * 1024
        yield b'{"t": "x"}'

    url = f"{yard.server.url}{source['url']}"
    chunked = httpx.post(url, content=chunks(), headers=bearer(source), timeout=30)
    assert chunked.status_code == 413
    long_slug = httpx.post(f"{yard.server.url}/webhooks/intake/{'a' * 5000}", json={})
    assert long_slug.status_code == 400
    assert httpx.post(f"{yard.server.url}/webhooks/intake/%ff%E2%80%AE", json={}).status_code == 404
    assert yard.tasks() == []


def test_sentry_fields_of_the_wrong_types_still_make_a_task(yard: Yard) -> None:
    source = yard.source("sentry", secret=SENTRY_SECRET)
    payload = sentry_payload("event_alert")
    event = payload["data"]["event"]
    frames = {"values": [{"stacktrace": {"frames": {"a": 1}}}]}
    event |= {"title": 404, "culprit": None, "count": "many", "issue_id": {"id": 7},
              "web_url": 5, "exception": frames}  # fmt: skip
    made = yard.sentry(source, payload)
    assert made.status_code == 201, made.text
    assert yard.server.task(made.json()["task"])["title"] == "Fix: 404"
    no_action = yard.sentry(source, {**payload, "action": 5})
    assert no_action.status_code == 200
    assert no_action.json()["outcome"].endswith("event_alert deliveries without an action.")
    body = json.dumps({"action": "triggered", "data": [1]}).encode()
    listed = yard.post(source, body, sentry_headers(body, "event_alert"))
    assert listed.status_code == 400
    assert listed.json()["error"]["message"] == "The Sentry delivery has no data object."


def test_a_mapping_naming_what_is_not_allowed_is_refused_and_recorded(yard: Yard) -> None:
    source = yard.source("webhook", mapping=MAPPED)
    for body, said in [
        ({"t": "a", "repo": "/etc"}, "outside the directories this server allows"),
        ({"t": "b", "team": "NOPE"}, "The delivery names what the organization lacks"),
        ({"t": "c", "team": "T" * 400}, "The delivery gives the task's team"),
    ]:
        headers = bearer(source, **{"Webhook-Id": body["t"]})
        answer = yard.post(source, json.dumps(body).encode(), headers)
        assert answer.status_code == 400 and said in answer.text, answer.text
    with session_scope(yard.server.settings.resolved_database_url, write=False) as session:
        rows = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        assert [r.outcome.split(":")[0] for r in rows] == ["Refused"] * 3
        assert all(r.handled_at is None for r in rows)
    assert yard.tasks() == []
    # Once the organization has the team, the same delivery sent again is handled.
    assert yard.http.post("/api/v1/teams", json={"key": "NOPE", "name": "N"}).status_code == 201
    again = yard.post(source, b'{"t": "b", "team": "NOPE"}', bearer(source, **{"Webhook-Id": "b"}))
    assert again.status_code == 201 and again.json()["task"] == "NOPE-1"


def test_a_mapped_title_and_key_of_any_size_are_clipped(yard: Yard) -> None:
    source = yard.source("webhook", mapping=MAPPED)
    body = {"t": "T" * 100_000 + "\u202e\x01", "k": {"nested": ["x"] * 1000}}
    made = yard.post(source, json.dumps(body).encode(), bearer(source))
    assert made.status_code == 201, made.text
    assert len(yard.server.task(made.json()["task"])["title"]) <= 300
