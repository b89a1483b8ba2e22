"""``POST /webhooks/github``: signed deliveries only, each stored and handled once."""

from __future__ import annotations

import hashlib
import hmac
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from taskyard.api.app import create_app
from taskyard.config import Settings
from taskyard.db.models import WebhookDelivery
from taskyard.db.session import migrate, session_scope
from taskyard.model.github import SOURCE, GitHubEvent
from taskyard.services import webhooks
from tests.api.conftest import api_settings
from tests.conftest import ADMIN_TOKEN
from tests.github.conftest import ALICE, REPO, SECRET, Yard, outcome
from tests.support.github.webhooks import Delivery, example_payload, sign, webhook
from tests.support.server import serve_app, start_server

__all__ = ["api_settings"]


def labelled(secret: str = SECRET, label: str = "taskyard") -> Delivery:
    return webhook("issues", "labeled", secret, repository=REPO, label=label, sender=ALICE)


def with_body(delivery: Delivery, body: bytes, secret: str = SECRET) -> Delivery:
    """``delivery`` carrying ``body``, signed as GitHub would."""
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {**delivery.headers, "X-Hub-Signature-256": signature}
    return replace(delivery, body=body, headers=headers)


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=" + "0" * 64, "sha1=abc", "sha256=" + "Z" * 64],
)
def test_a_missing_or_wrong_signature_is_refused_and_nothing_stored(
    yard: Yard, signature: str | None
) -> None:
    delivery = labelled()
    headers = dict(delivery.headers)
    del headers["X-Hub-Signature-256"]
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    response = yard.send(replace(delivery, headers=headers))
    assert response.status_code == 401, response.text
    assert "X-Hub-Signature-256" in response.json()["error"]["message"]
    assert yard.deliveries() == []


def test_a_delivery_signed_with_another_secret_is_refused(yard: Yard) -> None:
    response = yard.send(labelled(secret="not-the-secret"))
    assert response.status_code == 401
    assert "does not match" in response.json()["error"]["message"]
    assert yard.deliveries() == []


def test_without_a_configured_secret_every_delivery_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    with start_server(settings, ADMIN_TOKEN) as server:
        for secret in ("", SECRET):
            delivery = labelled(secret=secret)
            response = httpx.post(
                f"{server.url}/webhooks/github", content=delivery.body, headers=delivery.headers
            )
            assert response.status_code == 401
            assert "TASKYARD_GITHUB_WEBHOOK_SECRET" in response.json()["error"]["message"]


def test_a_ping_is_answered_and_recorded(yard: Yard) -> None:
    delivery = sign("ping", example_payload("ping"), SECRET)
    response = yard.send(delivery)
    assert response.status_code == 200
    assert response.json() == {
        "delivery": delivery.id,
        "outcome": "Ping: the webhook reaches taskyard.",
    }
    [row] = yard.deliveries()
    assert (row.event, row.outcome) == ("ping", "Ping: the webhook reaches taskyard.")


@pytest.mark.parametrize(("event", "action"), [("star", "created"), ("issues", "opened")])
def test_an_event_taskyard_does_not_act_on_is_acknowledged_and_ignored(
    yard: Yard, event: str, action: str
) -> None:
    delivery = webhook(event, action, SECRET, repository=REPO, sender=ALICE)
    response = yard.send(delivery)
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == f"Ignored: taskyard does not act on {event} {action}."
    [row] = yard.deliveries()
    assert row.handled_at is not None and row.delivery_id == delivery.id
    assert yard.tasks() == []


def test_an_unknown_event_name_is_acknowledged(yard: Yard) -> None:
    delivery = sign("brand_new_event", {"action": "happened", "zen": "x"}, SECRET)
    response = yard.send(delivery)
    assert response.status_code == 200
    assert "does not act on brand_new_event happened" in response.json()["outcome"]


@pytest.mark.parametrize(
    ("header", "value", "problem"),
    [
        ("X-GitHub-Event", None, "X-GitHub-Event header is missing"),
        ("X-GitHub-Delivery", None, "X-GitHub-Delivery header is missing"),
        ("X-GitHub-Delivery", "../../etc", "X-GitHub-Delivery header is missing or not"),
        ("Content-Type", "application/x-www-form-urlencoded", "content type to application/json"),
    ],
)
def test_missing_or_bad_headers_are_400_saying_which(
    yard: Yard, header: str, value: str | None, problem: str
) -> None:
    delivery = labelled()
    headers = {k: v for k, v in delivery.headers.items() if k != header}
    if value is not None:
        headers[header] = value
    response = yard.send(replace(delivery, headers=headers))
    assert response.status_code == 400
    assert problem in response.json()["error"]["message"]
    assert yard.deliveries() == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"action": "labeled", "x": "\\u0000"}', "NUL"),
        (b'{"action": 7}', "'action' must be a short string"),
    ],
)
def test_a_signed_body_that_is_not_a_storable_json_object_is_400(
    yard: Yard, body: bytes, problem: str
) -> None:
    response = yard.send(with_body(labelled(), body))
    assert response.status_code == 400
    assert problem in response.json()["error"]["message"]
    assert yard.deliveries() == []


def test_an_oversized_delivery_is_413_and_not_read(yard: Yard) -> None:
    limit = yard.server.settings.github_webhook_max_bytes
    payload = {**labelled().payload, "padding": "x" * limit}
    response = yard.send(with_body(labelled(), json.dumps(payload).encode()))
    assert response.status_code == 413
    assert f"larger than {limit} bytes" in response.json()["error"]["message"]
    assert yard.deliveries() == []


def test_a_delivery_larger_than_other_requests_may_be_is_accepted(yard: Yard) -> None:
    """Webhooks have their own cap: a push with many commits is bigger than an API call."""
    payload = {**labelled().payload, "padding": "x" * 1_500_000}
    response = yard.send(with_body(labelled(), json.dumps(payload).encode()))
    assert response.status_code == 202, response.text


def test_a_replayed_delivery_creates_one_task(yard: Yard) -> None:
    yard.trigger(kind="label")
    delivery = labelled()
    first = yard.send(delivery)
    assert first.status_code == 202
    assert first.json()["outcome"] == "Accepted: the engine handles it."
    assert yard.outcome(delivery.id) == "Task TY-1 was created."
    again = yard.send(delivery)
    assert again.status_code == 200
    assert again.json()["outcome"] == "Already received. Task TY-1 was created."
    assert [t["key"] for t in yard.tasks()] == ["TY-1"]
    assert len(yard.deliveries()) == 1


def test_the_same_delivery_arriving_at_once_creates_one_task(yard: Yard) -> None:
    yard.trigger(kind="label")
    delivery = labelled()
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: yard.send(delivery), range(6)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 5 + [202], [a.text for a in answers]
    assert yard.outcome(delivery.id) == "Task TY-1 was created."
    assert [t["key"] for t in yard.tasks()] == ["TY-1"]
    assert len(yard.deliveries()) == 1


def test_a_delivery_stored_but_never_handed_to_the_engine_is_handled_at_start(
    hook_settings: Settings,
) -> None:
    """The server stopped between storing a delivery and starting its handling."""
    migrate(hook_settings.resolved_database_url)
    delivery = labelled()
    event = GitHubEvent(delivery.id, "issues", "labeled", delivery.payload)
    with session_scope(hook_settings.resolved_database_url) as session:
        assert webhooks.receive(session, SOURCE, event).new
    with start_server(hook_settings, ADMIN_TOKEN):
        handled = outcome(hook_settings, delivery.id)
    assert handled == f"Ignored: no trigger on {REPO} fires on issues labeled."


def test_without_an_engine_a_delivery_to_handle_is_503_and_not_stored(
    api_settings: Settings,
) -> None:
    settings = api_settings.model_copy(update={"github_webhook_secret": SECRET})
    with serve_app(create_app(settings), "unused") as client:
        refused = client.post(
            "/webhooks/github", content=labelled().body, headers=labelled().headers
        )
        ping = sign("ping", example_payload("ping"), SECRET)
        answered = client.post("/webhooks/github", content=ping.body, headers=ping.headers)
    assert refused.status_code == 503, refused.text
    assert answered.status_code == 200  # nothing for the engine to do
    with session_scope(settings.resolved_database_url, write=False) as session:
        assert [row.event for row in session.scalars(select(WebhookDelivery))] == ["ping"]
