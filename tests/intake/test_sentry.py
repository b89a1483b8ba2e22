"""Sentry's published webhook payloads, signed as Sentry signs them, sent to a real server."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import select
from tests.intake.conftest import SENTRY_SECRET, Yard, sentry_headers, sentry_payload

from taskyard.db.models import WebhookDelivery
from taskyard.db.session import session_scope

FENCED = re.compile(r"<untrusted-data-([0-9a-f]{24}) [^>]*>\n(.*?)\n</untrusted-data-\1>", re.S)


def instruction_and_context(text: str) -> tuple[str, list[str]]:
    """What is outside every fence, and the fenced texts."""
    return FENCED.sub("", text), [m.group(2) for m in FENCED.finditer(text)]


def deliveries(yard: Yard) -> list[WebhookDelivery]:
    with session_scope(yard.server.settings.resolved_database_url, write=False) as session:
        rows = list(session.scalars(select(WebhookDelivery)))
        session.expunge_all()
    return rows


def test_an_issue_alert_makes_a_fix_task_with_the_report(yard: Yard) -> None:
    source = yard.source("sentry", secret=SENTRY_SECRET, team="TY")
    answer = yard.sentry(source, sentry_payload("event_alert"))
    assert answer.status_code == 201, answer.text
    assert answer.json()["outcome"] == "Task TY-1 was created." and answer.json()["count"] == 1
    task = yard.server.task("TY-1")
    assert task["title"] == "Fix: ReferenceError: heck is not defined"
    assert task["origin"] == "error_tracking"
    sentry = task["origin_context"]["sentry"]
    assert sentry["issue_id"] == "1117540176"
    assert sentry["link"] == "https://sentry.io/organizations/test-org/issues/1117540176/"
    assert task["origin_context"]["source"] == source["slug"]
    instruction, fenced = instruction_and_context(task["description"])
    assert "Fix the error that Sentry reported" in instruction
    assert "heck is not defined" not in instruction  # the report is data, in the fences
    report = "\n".join(fenced)
    assert "?(<anonymous>)" in report  # the culprit
    assert "First seen: 2019-08-19T21:06:17.677000Z" in report
    assert "Link: https://sentry.io/organizations/test-org/issues/1117540176/" in report
    assert "ReferenceError: heck is not defined" in report
    assert "/js/prod/runner-4.1.7.min.js:1 in ?" in report and "<anonymous>:3 in ?" in report


def test_a_new_issue_carries_its_count_and_when_it_was_seen(yard: Yard) -> None:
    source = yard.source("sentry", secret=SENTRY_SECRET)
    answer = yard.sentry(source, sentry_payload("issue_created"), resource="issue")
    assert answer.status_code == 201, answer.text
    task = yard.server.task(answer.json()["task"])
    assert task["title"] == "Fix: ReferenceError: blooopy is not defined"
    report = "\n".join(instruction_and_context(task["description"])[1])
    assert "Events: 1" in report and "First seen: 2019-08-19T20:58:37.391000Z" in report
    assert "Last seen: 2019-08-19T20:58:37.391000Z" in report and "?(runner)" in report
    assert task["origin_context"]["sentry"]["short_id"] == "FRONT-END-9"


def test_the_same_issue_again_adds_to_the_open_task_with_a_count(yard: Yard) -> None:
    source = yard.source("sentry", secret=SENTRY_SECRET)
    assert yard.sentry(source, sentry_payload("event_alert")).status_code == 201
    for count in (2, 3):
        again = yard.sentry(source, sentry_payload("event_alert"))  # a new Request-ID
        assert again.status_code == 200, again.text
        assert again.json() == {
            "delivery": again.json()["delivery"],
            "outcome": f"Task TY-1 is open on this Sentry issue: its count is now {count}.",
            "task": "TY-1",
            "count": count,
        }
    assert [t["key"] for t in yard.tasks()] == ["TY-1"]
    added = [e for e in yard.server.events("TY-1") if e["kind"] == "intake"]
    assert [e["data"]["count"] for e in added] == [2, 3]
    assert added[0]["data"]["title"] == "Fix: ReferenceError: heck is not defined"
    assert not [e for e in yard.server.events("TY-1") if e["kind"] == "message"]
    other = sentry_payload("event_alert")
    other["data"]["event"]["issue_id"] = "42"
    assert yard.sentry(source, other).json()["task"] == "TY-2"  # another issue, another task


def test_a_bad_signature_creates_nothing(yard: Yard) -> None:
    source = yard.source("sentry", secret=SENTRY_SECRET)
    body = json.dumps(sentry_payload("event_alert")).encode()
    forged = sentry_headers(body, "event_alert", secret="not-the-client-secret-at-all")
    answer = yard.post(source, body, forged)
    assert answer.status_code == 401
    assert "Sentry-Hook-Signature does not match" in answer.json()["error"]["message"]
    unsigned = {k: v for k, v in forged.items() if k != "Sentry-Hook-Signature"}
    assert yard.post(source, body, unsigned).status_code == 401
    tampered = sentry_headers(body, "event_alert")
    assert yard.post(source, body.replace(b"heck", b"hack"), tampered).status_code == 401
    assert yard.tasks() == [] and deliveries(yard) == []


def test_a_replayed_delivery_creates_nothing_new(yard: Yard) -> None:
    source = yard.source("sentry", secret=SENTRY_SECRET)
    body = json.dumps(sentry_payload("event_alert")).encode()
    headers = sentry_headers(body, "event_alert")
    assert yard.post(source, body, headers).status_code == 201
    replayed = yard.post(source, body, headers)
    assert replayed.status_code == 200
    assert replayed.json()["outcome"] == "Already received. Task TY-1 was created."
    assert len(yard.tasks()) == 1
    assert not [e for e in yard.server.events("TY-1") if e["kind"] == "intake"]


def test_what_taskyard_does_not_act_on_and_what_it_cannot_read(yard: Yard) -> None:
    source = yard.source("sentry", secret=SENTRY_SECRET)
    metric = yard.sentry(source, {"action": "critical", "data": {}}, resource="metric_alert")
    assert metric.status_code == 200
    assert metric.json()["outcome"].startswith("Ignored: taskyard acts on Sentry's event_alert")
    resolved = sentry_payload("issue_created") | {"action": "resolved"}
    assert yard.sentry(source, resolved, resource="issue").json()["outcome"] == (
        "Ignored: taskyard does not act on Sentry issue resolved."
    )
    broken = yard.sentry(source, {"action": "triggered", "data": {}})
    assert broken.status_code == 400
    assert broken.json()["error"]["message"] == "The Sentry delivery has no data.event object."
    body = b"not json"
    headers = sentry_headers(body, "event_alert")
    assert yard.post(source, body, headers).json()["error"]["message"] == (
        "The delivery's body is not valid JSON in UTF-8: Expecting value: line 1 column 1 (char 0)."
    )
    big = json.dumps({"data": "x" * 1_100_000}).encode()
    assert yard.post(source, big, sentry_headers(big, "event_alert")).status_code == 413
    missing = httpx.post(f"{yard.server.url}/webhooks/intake/no-such-source", json={})
    assert missing.status_code == 404 and "No intake source" in missing.text
    assert yard.tasks() == []


def test_alerts_arriving_at_once_make_one_task(yard: Yard) -> None:
    source = yard.source("sentry", secret=SENTRY_SECRET)
    body = json.dumps(sentry_payload("event_alert")).encode()
    twice = sentry_headers(body, "event_alert")  # one delivery, sent twice
    sends = [twice, twice, *(sentry_headers(body, "event_alert") for _ in range(4))]
    with ThreadPoolExecutor(len(sends)) as pool:
        answers = list(pool.map(lambda headers: yard.post(source, body, headers), sends))
    assert sorted(a.status_code for a in answers) == [200] * 5 + [201]
    assert len(yard.tasks()) == 1
    counts = sorted(a.json()["count"] for a in answers if a.json()["count"])
    assert counts == [1, 2, 3, 4, 5]  # the repeated delivery counted once
