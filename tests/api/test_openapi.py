"""The OpenAPI description tells the truth about errors, auth, bodies and times."""

from __future__ import annotations

import re
from typing import Any

import httpx

UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def operations(api: httpx.Client) -> list[tuple[str, str, dict[str, Any]]]:
    spec = api.get("/openapi.json").json()
    return [(m, p, op) for p, item in spec["paths"].items() for m, op in item.items()]


def test_every_operation_lists_its_errors_with_the_error_schema(api: httpx.Client) -> None:
    for method, path, operation in operations(api):
        responses = operation["responses"]
        assert "422" not in responses, (method, path)
        assert {"400", "413"} <= set(responses), (method, path)
        if operation.get("security") == [{"bearer": []}]:
            assert {"401", "403", "404"} <= set(responses), (method, path)
        elif operation.get("security"):  # a signature: only whether it verifies
            assert "401" in responses, (method, path)
        for status, response in responses.items():
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, status)


def test_every_route_but_health_and_webhooks_needs_the_bearer_scheme(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearer"]["description"],
    }
    for method, path, operation in operations(api):
        security = operation.get("security")
        if path == "/webhooks/github":  # GitHub signs its deliveries: it sends no token
            assert security == [{"githubSignature": []}], security
        elif path == "/webhooks/intake/{slug}":  # a source's signature, or its own secret
            proofs = [{"sentrySignature": []}, {"intakeSecret": []}, {"intakeSignature": []}]
            assert security == proofs, security
        else:
            assert (security == [{"bearer": []}]) == (path != "/healthz"), path
        if path != "/healthz":
            assert httpx.request(method, f"{api.base_url}{path}").status_code in (400, 401, 404)


def test_the_template_push_documents_its_yaml_body(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()
    content = spec["paths"]["/api/v1/templates"]["post"]["requestBody"]["content"]
    assert content["application/yaml"]["schema"] == {"type": "string"}
    assert content["application/json"]["schema"]["required"] == ["source"]


def test_times_are_utc_with_z_on_reads_as_on_writes(api: httpx.Client) -> None:
    created = api.post("/api/v1/tasks", json={"title": "t", "repository": "a/b", "run": False})
    key = created.json()["key"]
    shown = api.get(f"/api/v1/tasks/{key}").json()
    listed = api.get("/api/v1/tasks").json()["items"][0]
    times = [created.json()["created_at"], shown["created_at"], shown["updated_at"]]
    times += [listed["created_at"], shown["status_history"][0]["at"]]
    times += [e["created_at"] for e in api.get(f"/api/v1/tasks/{key}/events").json()["items"]]
    times += [u["created_at"] for u in api.get("/api/v1/users").json()]
    times += [t["created_at"] for t in api.get("/api/v1/tokens").json()]
    assert times and all(UTC.match(t) for t in times), times
    api.post(f"/api/v1/tasks/{key}/cancel")
    with api.stream(
        "GET", f"/api/v1/tasks/{key}/events", headers={"Accept": "text/event-stream"}
    ) as stream:
        frames = stream.read().decode()
    assert re.search(r'"created_at": "[^"]+Z"', frames), frames
