"""Generic webhooks: a mapping checked when the source is configured, applied per delivery."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.intake.conftest import Yard
from tests.intake.test_sentry import instruction_and_context

from taskyard.model import mapping
from taskyard.model.errors import InvalidInput

ALERT = {
    "alert": {"id": "pager-77", "title": "Disk almost full on db-1", "service": "billing"},
    "details": [{"text": "/var is 97% full"}],
    "routing": {"team": "OPS"},
}
MAPPING = {
    "title": "[{{ $.alert.service }}] {{ $.alert.title }}",
    "description": "$.details[0].text",
    "team": "$.routing.team",
    "dedup_key": "$.alert.id",
}


def send(yard: Yard, source: dict[str, Any], body: dict[str, Any], **headers: str) -> Any:
    headers |= {"Content-Type": "application/json", "Authorization": f"Bearer {source['secret']}"}
    return yard.post(source, json.dumps(body).encode(), headers)


def test_a_mapped_delivery_makes_a_task_in_the_mapped_team(yard: Yard) -> None:
    made = yard.http.post("/api/v1/teams", json={"key": "OPS", "name": "Operations"})
    assert made.status_code == 201, made.text
    source = yard.source("webhook", mapping=MAPPING, prompt="Free up the disk safely.")
    answer = send(yard, source, ALERT)
    assert answer.status_code == 201, answer.text
    task = yard.server.task(answer.json()["task"])
    assert task["key"] == "OPS-1" and task["title"] == "[billing] Disk almost full on db-1"
    assert task["origin"] == "webhook"
    instruction, fenced = instruction_and_context(task["description"])
    assert "Free up the disk safely." in instruction and "97%" not in instruction
    assert "/var is 97% full" in fenced
    same = send(yard, source, ALERT)  # no delivery id: the same body is the same delivery
    assert same.status_code == 200 and same.json()["outcome"].startswith("Already received.")
    again = send(yard, source, ALERT, **{"Webhook-Id": "msg_2"})
    assert again.json()["task"] == "OPS-1" and again.json()["count"] == 2
    assert send(yard, source, {**ALERT, "alert": {"title": "x", "id": "other"}}).status_code == 201


def test_a_delivery_the_mapping_finds_no_title_in_is_refused(yard: Yard) -> None:
    source = yard.source("webhook", mapping={"title": "$.alert.title"})
    answer = send(yard, source, {"alert": {"name": "no title here"}})
    assert answer.status_code == 400
    assert "no title where the mapping looks for it ($.alert.title)" in answer.text
    unknown = send(yard, yard.source("webhook", mapping={"title": "$.t", "team": "$.team"}),
                   {"t": "a title", "team": "NOPE"})  # fmt: skip
    assert unknown.status_code == 400 and "NOPE" in unknown.text
    assert yard.tasks() == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"mapping": {"title": "$.a..b"}}, "is not a path taskyard reads at character 4"),
        ({"mapping": {"title": "$.a[?(@.x)]"}}, "is not a path taskyard reads"),
        ({"mapping": {"title": "{{ $.a "}}, "has no matching"),
        ({"mapping": {"title": "{{ a.b }}"}}, "paths start with '$'"),
        ({"mapping": {"description": "$.d"}}, "must say where the title is"),
        ({"mapping": {"title": "$.t", "owner": "$.o"}}, "The mapping names 'owner'"),
        ({"mapping": {"title": "$" + ".a" * 17}}, "at most 16 steps"),
        ({"mapping": {"title": "$.t"}, "team": "NOPE"}, "NOPE"),
        ({"mapping": {"title": "$.t"}, "repository": ""}, "Name the tasks' 'repository'"),
        ({"mapping": {"title": "$.t"}, "secret": "short"}, "at least 16 characters"),
        ({"kind": "sentry"}, "needs 'secret'"),
        ({"kind": "support", "mapping": {"title": "$.t"}}, "for webhook sources"),
        ({"mapping": {"title": "$.t"}, "slug": "Bad Slug"}, "A slug is 3 to 64"),
    ],
)
def test_a_bad_source_is_refused_when_configured(
    yard: Yard, body: dict[str, Any], message: str
) -> None:
    fields = {"kind": "webhook", "name": "alerts", "repository": yard.repository, **body}
    answer = yard.http.post("/api/v1/intake/sources", json=fields)
    assert answer.status_code == 400, answer.text
    assert message in answer.json()["error"]["message"]
    assert yard.http.get("/api/v1/intake/sources").json() == []


def test_expressions_are_bounded_walks() -> None:
    document = {"a": [{"b": "x" * 100}, {"c": {"d": 1.5}}], "odd key": True, "n": None}
    assert mapping.evaluate(mapping.parse("$.a[1].c", "t"), document, 100) == '{"d":1.5}'
    assert mapping.evaluate(mapping.parse("$['odd key']", "t"), document, 100) == "true"
    assert mapping.evaluate(mapping.parse("$.a[9].b", "t"), document, 100) == ""
    assert mapping.evaluate(mapping.parse("$.n", "t"), document, 100) == ""
    template = mapping.parse("<{{ $.a[0].b }}>{{$.a[1].c.d}}", "t")
    assert mapping.evaluate(template, document, 10) == "<xxxxxxxxx"
    assert mapping.evaluate(mapping.parse("WEB", "t"), document, 10) == "WEB"
    with pytest.raises(InvalidInput, match="at most 20 paths"):
        mapping.parse("{{ $.a }}" * 21, "t")
    with pytest.raises(InvalidInput, match="longer than 2000"):
        mapping.parse("$.a" * 1000, "t")


def test_without_a_dedup_key_each_delivery_makes_its_task(yard: Yard) -> None:
    source = yard.source("webhook", mapping={"title": "$.alert.title"}, slug="alerts")
    first = send(yard, source, ALERT, **{"Webhook-Id": "msg_1"})
    second = send(yard, source, ALERT, **{"Webhook-Id": "msg_2"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert [t["title"] for t in yard.tasks()] == ["Disk almost full on db-1"] * 2
    bad_id = send(yard, source, ALERT, **{"Webhook-Id": "not an id"})
    assert bad_id.status_code == 400 and "webhook-id header is not a delivery id" in bad_id.text
