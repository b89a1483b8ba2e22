"""Support tickets, with the source's secret as a bearer token or a signature."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from tests.intake.conftest import Yard
from tests.intake.test_sentry import instruction_and_context

TICKET = {
    "ticket": {
        "number": "4711",
        "subject": "Checkout button does nothing on Safari",
        "customer": {"name": "Ada Lovelace", "email": "ada@example.com"},
        "priority": "high",
        "body": "Since Tuesday, pressing Pay on Safari 17 does nothing. Chrome works.",
        "url": "https://support.example.com/tickets/4711",
    }
}


def bearer(secret: str, **extra: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "Authorization": f"Bearer {secret}", **extra}


def send(yard: Yard, source: dict[str, Any], ticket: dict[str, Any]) -> Any:
    return yard.post(source, json.dumps(ticket).encode(), bearer(source["secret"]))


def test_a_ticket_makes_a_support_task(yard: Yard) -> None:
    source = yard.source("support")
    assert len(source["secret"]) >= 32  # made by taskyard, shown this once
    answer = send(yard, source, TICKET)
    assert answer.status_code == 201, answer.text
    task = yard.server.task(answer.json()["task"])
    assert task["title"] == "Support: Checkout button does nothing on Safari"
    assert task["origin"] == "support_queue"
    assert task["origin_context"]["ticket"] == {
        "number": "4711",
        "url": "https://support.example.com/tickets/4711",
    }
    instruction, fenced = instruction_and_context(task["description"])
    assert "support ticket" in instruction and "Safari" not in instruction
    quoted = "\n".join(fenced)
    assert "Customer: Ada Lovelace ada@example.com" in quoted and "Priority: high" in quoted
    assert "pressing Pay on Safari 17" in quoted


def test_the_same_ticket_again_adds_to_its_open_task(yard: Yard) -> None:
    source = yard.source("support")
    assert send(yard, source, TICKET).status_code == 201
    again = send(yard, source, TICKET["ticket"])  # the ticket at the top of the body
    assert again.status_code == 200 and again.json()["count"] == 2
    assert again.json()["outcome"] == "Task TY-1 is open on this ticket: its count is now 2."
    assert len(yard.tasks()) == 1


def test_a_signed_ticket_is_taken_and_a_wrong_secret_is_not(yard: Yard) -> None:
    source = yard.source("support")
    body = json.dumps(TICKET).encode()
    signature = hmac.new(source["secret"].encode(), body, hashlib.sha256).hexdigest()
    signed = {"Content-Type": "application/json", "X-Taskyard-Signature": f"sha256={signature}"}
    wrong = yard.post(source, body.replace(b"4711", b"4712"), signed)
    assert wrong.status_code == 401 and "X-Taskyard-Signature" in wrong.text
    assert yard.post(source, body, bearer("x" * 43)).status_code == 401
    nothing = yard.post(source, body, {"Content-Type": "application/json"})
    assert nothing.status_code == 401 and "Authorization: Bearer" in nothing.text
    assert yard.tasks() == []
    assert yard.post(source, body, signed).status_code == 201


def test_a_ticket_without_a_subject_is_refused_saying_so(yard: Yard) -> None:
    source = yard.source("support")
    answer = send(yard, source, {"number": 1, "body": "help"})
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "A support ticket needs a 'subject' and a 'number'."
    assert yard.tasks() == []


def test_the_source_is_listed_without_its_secret(yard: Yard) -> None:
    source = yard.source("support", slug="helpdesk")
    assert source["url"] == "/webhooks/intake/helpdesk"
    listed = yard.http.get("/api/v1/intake/sources").json()
    assert [s["slug"] for s in listed] == ["helpdesk"]
    shown = yard.http.get("/api/v1/intake/sources/helpdesk").json()
    assert "secret" not in shown and "secret" not in listed[0]
    assert source["secret"] not in yard.http.get("/api/v1/intake/sources").text
    taken = yard.http.post(
        "/api/v1/intake/sources",
        json={"kind": "support", "name": "again", "slug": "helpdesk", "repository": "a/b"},
    )
    assert taken.status_code == 409
    assert yard.http.delete("/api/v1/intake/sources/helpdesk").status_code == 204
    gone = send(yard, source, TICKET)
    assert gone.status_code == 404 and yard.tasks() == []
    actions = [e["action"] for e in yard.http.get("/api/v1/audit").json()["items"]]
    assert {"intake_source.created", "intake_source.deleted"} <= set(actions)
