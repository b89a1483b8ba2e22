"""A GitHub stand-in on loopback: the REST API as GitHub's OpenAPI description says
it is, GraphQL for what REST cannot do, git's smart HTTP protocol, and job logs as
GitHub Actions serves them, behind GitHub's authentication.

Every REST request is matched to an operation of the description and its path,
query and body validated; one the description does not allow is answered as GitHub
does (404, 422) and kept in ``records.violations``, as are the stand-in's own answers
that break the description. :func:`serve_github` fails the test at its end if any.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.support.github import files, issues, oauth, pulls, repos
from tests.support.github.answers import Answer, GitHubError
from tests.support.github.checks import check_request
from tests.support.github.description import Description, Operation, github_description
from tests.support.github.git import smart_http
from tests.support.github.oauth import OAuthStandIn
from tests.support.github.records import Records, Seen, Violation
from tests.support.server import serve_app

HANDLERS = {
    **repos.HANDLERS,
    **issues.HANDLERS,
    **pulls.HANDLERS,
    **oauth.HANDLERS,
    **files.HANDLERS,
}
JWT_OPERATIONS = {"apps/create-installation-access-token"}  # an App's JWT, not a token
JWT = re.compile(r"[\w-]+\.[\w-]+\.[\w-]+")
SECONDARY_LIMIT = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)
LIMIT = 5000  # requests an hour, as GitHub allows a token


@dataclass
class GitHubStandIn:
    root: Path  # bare repositories at <root>/<owner>/<name>.git
    token: str
    login: str = "taskyard-bot"  # whom the token belongs to
    url: str = ""  # set once served
    records: Records = field(default_factory=Records)
    oauth: OAuthStandIn = field(default_factory=OAuthStandIn)
    description: Description = field(default_factory=github_description)
    _throttled: list[tuple[int, bool]] = field(default_factory=list)  # (seconds, primary)

    def throttle(self, times: int = 1, retry_after: int = 1, primary: bool = False) -> None:
        """Answer the next ``times`` API requests with a secondary rate limit (403 with
        ``Retry-After``), or with the primary one (403, no requests remaining until
        ``x-ratelimit-reset``)."""
        self._throttled += [(retry_after, primary)] * times

    def _limited(self) -> Answer:
        seconds, primary = self._throttled.pop(0)
        if not primary:
            return GitHubError(403, SECONDARY_LIMIT).answer({"Retry-After": str(seconds)})
        headers = {**self._quota(), "x-ratelimit-remaining": "0"}
        headers["x-ratelimit-reset"] = str(int(time.time()) + seconds)
        return GitHubError(403, f"API rate limit exceeded for user {self.login}.").answer(headers)

    def _quota(self) -> dict[str, str]:
        """The rate limit headers GitHub sends with every API answer."""
        used = len(self.records.requests)
        return {
            "x-ratelimit-limit": str(LIMIT),
            "x-ratelimit-remaining": str(max(0, LIMIT - used)),
            "x-ratelimit-used": str(used),
            "x-ratelimit-reset": str(int(time.time()) + 3600),
            "x-ratelimit-resource": "core",
        }

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/{owner}/{repo}.git/{rest:path}", self._git, methods=["GET", "POST"]),
                Route("/_logs/{job_id:int}", self._log),  # what a log redirect points to
                Route("/graphql", self._graphql, methods=["POST"]),
                # GitHub's OAuth web flow: on the web host, not in the REST description.
                *oauth.routes(self),
                Route(
                    "/{path:path}", self._rest, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]
                ),
            ]
        )

    def _violation(self, request: Request, problem: str) -> None:
        self.records.violations.append(Violation(request.method, request.url.path, problem))

    async def _record(self, request: Request) -> bytes:
        body = await request.body()
        self.records.requests.append(
            Seen(request.method, str(request.url), dict(request.headers), body)
        )
        return body

    def _authorized(self, request: Request, jwt: bool = False) -> None:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        if not credential or scheme.lower() not in ("bearer", "token"):
            raise GitHubError(401, "Requires authentication")
        if jwt and not JWT.fullmatch(credential):
            raise GitHubError(401, "A JSON web token could not be decoded")
        tokens = [self.token, *self.records.installation_tokens, *self.oauth.tokens]
        if not jwt and credential not in tokens:
            raise GitHubError(401, "Bad credentials")

    async def _rest(self, request: Request) -> Response:
        body = await self._record(request)
        # Undecoded: a branch in a path parameter comes with its slashes as %2F.
        raw = request.scope.get("raw_path") or request.url.path.encode()
        matched = self.description.match(request.method, raw.decode())
        try:
            if matched is None:
                self._violation(request, "no operation of GitHub's description has this path")
                raise GitHubError(404, "Not Found")
            operation, path = matched
            self._authorized(request, jwt=operation.id in JWT_OPERATIONS)
            if self._throttled:
                return _respond(self._limited())
            call = check_request(
                self.description, operation, path, request.query_params.multi_items(), body
            )
            call.url = str(request.url)
            for problem in call.invalid + call.ignored:
                self._violation(request, f"{operation.id}: {problem}")
            if call.invalid:
                raise GitHubError(422, "Invalid request.\n\n" + "\n".join(call.invalid))
            handler = HANDLERS.get(operation.id)
            if handler is None:
                self._violation(request, f"{operation.id} is not stood in")
                raise GitHubError(404, "Not Found")
            answer = handler(self, call)
        except GitHubError as error:
            answer = error.answer()
        if matched is not None and answer.json is not None:
            self._check_answer(request, matched[0], answer)
        answer.headers = {**self._quota(), **answer.headers}
        return _respond(answer)

    def _check_answer(self, request: Request, operation: Operation, answer: Answer) -> None:
        """Hold the stand-in's own answer to the description, when it describes the status."""
        if str(answer.status) not in self.description.at(f"{operation.pointer}/responses")[1]:
            return
        schema = self.description.json_schema(f"{operation.pointer}/responses/{answer.status}")
        for problem in self.description.problems(schema, answer.json, "answer") if schema else []:
            self._violation(request, f"the stand-in's {operation.id} {problem}")

    async def _graphql(self, request: Request) -> Response:
        body = await self._record(request)
        try:
            self._authorized(request)
            answer = pulls.graphql(self, json.loads(body))
        except GitHubError as error:
            answer = error.answer()
        except ValueError:
            answer = Answer(400, {"message": "Problems parsing JSON"})
        if "errors" in (answer.json or {}):
            self._violation(request, f"graphql: {answer.json['errors']}")
        return _respond(answer)

    async def _log(self, request: Request) -> Response:
        await self._record(request)
        job = request.path_params["job_id"]
        run = next((r for r in self.records.check_runs if r.id == job), None)
        return PlainTextResponse(run.log if run else "", 200 if run else 404)

    async def _git(self, request: Request) -> Response:
        await self._record(request)
        return await smart_http(request, self.root, self.token)


def _respond(answer: Answer) -> Response:
    if answer.json is None:
        return Response(b"", answer.status, answer.headers)
    return JSONResponse(answer.json, answer.status, answer.headers)


@contextmanager
def serve_github(root: Path, token: str) -> Iterator[GitHubStandIn]:
    """Serve a stand-in for the repositories under ``root``; at the end, fail if any
    request (or answer) broke GitHub's description."""
    standin = GitHubStandIn(root, token)
    with serve_app(standin.app(), "") as client:
        standin.url = str(client.base_url).rstrip("/")
        yield standin
    violations = "\n".join(f"{v.method} {v.path}: {v.problem}" for v in standin.records.violations)
    assert not violations, f"requests GitHub's description does not allow:\n{violations}"
