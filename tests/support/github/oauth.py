"""GitHub's OAuth web flow, stood in: ``/login/oauth/authorize`` and
``/login/oauth/access_token`` on the web host (they are not part of the REST API, so
GitHub's OpenAPI description does not describe them), and ``GET /user`` for the tokens
they give.

A test says who signs in at GitHub (``signs_in``; None: the person cancels). Codes are
single use and tied to the ``redirect_uri`` they were given for; errors come back as
GitHub sends them, with status 200 and an ``error`` field.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.support.github import answers
from tests.support.github.answers import Answer, GitHubError, example
from tests.support.github.checks import Call

if TYPE_CHECKING:
    from tests.support.github.standin import GitHubStandIn

ERROR_URI = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors"


@dataclass
class OAuthStandIn:
    client_id: str = "Ov23liStandIn0123456"
    client_secret: str = "standin-oauth-client-secret-0123456789abcdef"
    signs_in: str | None = None  # the login of whoever signs in next; None: they cancel
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (login, uri)
    tokens: dict[str, str] = field(default_factory=dict)  # access token -> login


def routes(standin: GitHubStandIn) -> list[Route]:
    async def authorize(request: Request) -> Response:
        await standin._record(request)
        return _authorize(standin.oauth, request)

    async def access_token(request: Request) -> Response:
        body = await standin._record(request)
        return _access_token(standin.oauth, request, body)

    return [
        Route("/login/oauth/authorize", authorize),
        Route("/login/oauth/access_token", access_token, methods=["POST"]),
    ]


def _authorize(oauth: OAuthStandIn, request: Request) -> Response:
    query = request.query_params
    redirect_uri, state = query.get("redirect_uri", ""), query.get("state", "")
    if query.get("client_id") != oauth.client_id or not redirect_uri:
        return PlainTextResponse("The client_id or redirect_uri is not valid.", 404)
    if oauth.signs_in is None:
        back = {
            "error": "access_denied",
            "error_description": "The user has denied your application access.",
            "state": state,
        }
    else:
        code = secrets.token_hex(10)
        oauth.codes[code] = (oauth.signs_in, redirect_uri)
        back = {"code": code, "state": state}
    return RedirectResponse(f"{redirect_uri}?{urlencode(back)}", 302)


def _access_token(oauth: OAuthStandIn, request: Request, body: bytes) -> Response:
    form = dict(parse_qsl(body.decode(errors="replace")))
    if (form.get("client_id"), form.get("client_secret")) != (
        oauth.client_id,
        oauth.client_secret,
    ):
        answer = _error(
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
        )
    elif (given := oauth.codes.pop(form.get("code", ""), None)) is None:
        answer = _error("bad_verification_code", "The code passed is incorrect or expired.")
    elif form.get("redirect_uri", given[1]) != given[1]:
        answer = _error(
            "redirect_uri_mismatch",
            "The redirect_uri MUST match the registered callback URL for this application.",
        )
    else:
        token = f"gho_{secrets.token_hex(18)}"
        oauth.tokens[token] = given[0]
        answer = {"access_token": token, "token_type": "bearer", "scope": ""}
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(answer)
    # GitHub's default answer is form-encoded.
    return Response(urlencode(answer), media_type="application/x-www-form-urlencoded")


def _error(error: str, description: str) -> dict[str, str]:
    return {"error": error, "error_description": description, "error_uri": ERROR_URI}


def authenticated_user(standin: GitHubStandIn, call: Call) -> Answer:
    """``GET /user``: whom the request's token belongs to."""
    # The stand-in serves one request at a time, and recorded this one last.
    _, _, token = standin.records.requests[-1].headers.get("authorization", "").partition(" ")
    login = standin.login if token == standin.token else standin.oauth.tokens.get(token)
    if login is None:  # an installation's token is not a person's
        raise GitHubError(403, "Resource not accessible by integration")
    data = example(standin, "users/get-authenticated")
    return Answer(200, answers.overlay(data, answers.user(standin, login)))


HANDLERS: dict[str, Callable[[GitHubStandIn, Call], Answer]] = {
    "users/get-authenticated": authenticated_user,
}
