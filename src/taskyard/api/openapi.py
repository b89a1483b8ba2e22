"""What the OpenAPI description says beyond each route's own signature.

Every route lists the errors it can answer, derived from what it depends on, so
a new route is described truthfully without anyone remembering to: 400 and 413
everywhere (the edge checks every request), 401/403/404 where a token is needed,
503 where the engine is. Validation errors are answered 400, never 422.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer

from taskyard.api.outputs import ErrorOut

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An API token (`ty_...`), sent as `Authorization: Bearer <token>`.",
)

MEANING = {
    400: "The request is malformed or breaks a rule; the message says what to fix.",
    401: "No token, or a token that is invalid or revoked.",
    403: "The token lacks a scope this needs.",
    404: "No such thing in the caller's organization.",
    409: "The request clashes with the current state.",
    413: "The request body is larger than the server accepts.",
    503: "The engine (Temporal) cannot be reached; try again.",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that can also answer ``statuses``."""
    return {status: {"model": ErrorOut, "description": MEANING[status]} for status in statuses}


def links(status: int, field: str, *targets: tuple[str, str, str]) -> dict[int | str, Any]:
    """``responses=`` linking what ``status`` returns to the operations it can be used with.

    Each target is ``(method, path, parameter)``; the parameter gets the body's ``field``.
    Clients (and Schemathesis' stateful tests) follow these from a creation onwards.
    """
    found = {}
    for method, path, parameter in targets:
        pointer = path.replace("~", "~0").replace("/", "~1")
        name = f"{method.title()}{''.join(p.title() for p in path.split('/')[3:] if '{' not in p)}"
        found[name] = {
            "operationRef": f"#/paths/{pointer}/{method.lower()}",
            "parameters": {parameter: f"$response.body#/{field}"},
        }
    return {status: {"links": found}}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def _statuses(
    route: APIRoute, principal: Callable[..., Any], engine: Callable[..., Any]
) -> set[int]:
    calls = set(_calls(route.dependant))
    statuses = {400, 413}
    if principal in calls:
        statuses |= {401, 403, 404}
    if engine in calls:
        statuses.add(503)
    return statuses


def declare_errors(
    router: APIRouter, principal: Callable[..., Any], engine: Callable[..., Any]
) -> None:
    """Declare the errors of each of ``router``'s routes (before it is included)."""
    for route in router.routes:
        if isinstance(route, APIRoute):
            declared = errors(*_statuses(route, principal, engine))
            route.responses = {**declared, **route.responses}


def describe(app: FastAPI) -> None:
    """Describe the API without FastAPI's 422: validation errors are answered 400."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
            for path in schema["paths"].values():
                for operation in path.values():
                    responses = operation.get("responses", {})
                    responses.pop("422", None)
                    # Errors are JSON even where the route answers text (metrics, diff).
                    for status, response in responses.items():
                        if int(status) >= 400:
                            response["content"] = error
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
