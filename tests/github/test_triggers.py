"""GitHub triggers through the API: defaults, validation, isolation, audit."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import api, api_settings, other_org_token

__all__ = ["api", "api_settings", "other_org_token"]

URL = "/api/v1/github/triggers"


def create(api: httpx.Client, **body: Any) -> httpx.Response:
    return api.post(URL, json={"repository": "acme/shop", **body})


def test_label_and_comment_triggers_have_their_defaults(api: httpx.Client) -> None:
    label = create(api, kind="label")
    assert label.status_code == 201, label.text
    assert (label.json()["kind"], label.json()["value"]) == ("label", "taskyard")
    comment = create(api, kind="comment", prompt="Fix #{number}: {comment}")
    assert comment.json()["value"] == "/taskyard"
    paths = create(api, kind="paths", paths=["docs/**", "*.md"], team="TY")
    assert paths.json()["paths"] == ["docs/**", "*.md"] and paths.json()["team"] == "TY"
    listed = api.get(URL, params={"repository": "ACME/shop"}).json()
    assert [t["kind"] for t in listed] == ["label", "comment", "paths"]
    assert api.get(URL, params={"repository": "acme/other"}).json() == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"kind": "labels"}, "Unknown trigger kind 'labels'"),
        ({"kind": "assigned"}, "names the GitHub login"),
        ({"kind": "assigned", "value": "not a login"}, "names the GitHub login"),
        ({"kind": "comment", "value": "two words"}, "without spaces"),
        ({"kind": "label", "value": "x" * 51}, "1 to 50 characters"),
        ({"kind": "paths"}, "'paths' is given for a paths trigger"),
        ({"kind": "label", "paths": ["src/**"]}, "'paths' is given for a paths trigger"),
        ({"kind": "paths", "paths": ["src/[abc"]}, "opens '[' without closing it"),
        ({"kind": "paths", "paths": ["/etc/passwd"]}, "relative to the repository's root"),
        ({"kind": "paths", "paths": ["../up/**"]}, "relative to the repository's root"),
        ({"kind": "paths", "paths": [""]}, "1 to 300 characters"),
        ({"kind": "paths", "paths": ["a"] * 51}, "paths"),
        ({"kind": "label", "repository": "not-a-repo"}, "is not a GitHub repository"),
        ({"kind": "label", "prompt": "Do {thing}"}, "uses {thing}"),
        ({"kind": "label", "prompt": "Do {title!r}"}, "uses {title}"),
        ({"kind": "label", "prompt": "Do {title"}, "not valid"),
        ({"kind": "label", "prompt": "x" * 10_001}, "prompt"),
        ({"kind": "label", "team": "NOPE"}, "NOPE"),
        ({"kind": "label", "template": "missing"}, "missing"),
        ({"kind": "label", "workflow": "missing"}, "missing"),
        ({"kind": "label", "colour": "red"}, "unknown field"),
    ],
)
def test_bad_triggers_are_400_saying_what_to_fix(
    api: httpx.Client, body: dict[str, Any], problem: str
) -> None:
    response = create(api, **body)
    assert response.status_code == 400, response.text
    assert problem in response.json()["error"]["message"]
    assert api.get(URL).json() == []


def test_the_same_trigger_twice_is_a_conflict(api: httpx.Client) -> None:
    assert create(api, kind="label", value="Bug").status_code == 201
    again = create(api, kind="label", value="Bug")
    assert again.status_code == 409
    assert "already has a label trigger 'Bug'" in again.json()["error"]["message"]


def test_triggers_are_deleted_audited_and_kept_to_their_organization(
    api: httpx.Client, other_org_token: str
) -> None:
    made = create(api, kind="label").json()
    rival = {"Authorization": f"Bearer {other_org_token}"}
    assert api.get(URL, headers=rival).json() == []
    stolen = api.delete(f"{URL}/{made['id']}", headers=rival)
    assert stolen.status_code == 404
    assert api.delete(f"{URL}/{made['id']}").status_code == 204
    assert api.delete(f"{URL}/{made['id']}").status_code == 404
    assert api.get(URL).json() == []
    actions = [e["action"] for e in api.get("/api/v1/audit").json()["items"]]
    assert {"github_trigger.created", "github_trigger.deleted"} <= set(actions)
