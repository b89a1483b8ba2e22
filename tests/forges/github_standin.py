"""A GitHub stand-in on loopback: git's smart HTTP protocol (through ``git
http-backend``, as GitHub serves it) and the REST calls a delivery makes, both
behind GitHub's authentication (a Basic ``x-access-token`` for git, a bearer
token for the API). Every request is recorded, headers included."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class Seen:
    method: str
    url: str
    headers: dict[str, str]


@dataclass
class GitHubStandIn:
    root: Path  # bare repositories at <root>/<owner>/<name>.git
    token: str
    url: str = ""  # set once served
    requests: list[Seen] = field(default_factory=list)
    pulls: list[dict[str, Any]] = field(default_factory=list)
    comments: list[tuple[str, int, str]] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/repos/{owner}/{name}/pulls", self._pulls, methods=["GET", "POST"]),
                Route(
                    "/repos/{owner}/{name}/issues/{number:int}/comments",
                    self._comment,
                    methods=["POST"],
                ),
                Route("/{owner}/{repo}/{rest:path}", self._git, methods=["GET", "POST"]),
            ]
        )

    def _record(self, request: Request) -> None:
        self.requests.append(Seen(request.method, str(request.url), dict(request.headers)))

    async def _pulls(self, request: Request) -> Response:
        self._record(request)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse({"message": "Bad credentials"}, 401)
        repository = f"{request.path_params['owner']}/{request.path_params['name']}"
        if request.method == "GET":
            head = request.query_params["head"].split(":", 1)[1]
            return JSONResponse([p for p in self.pulls if p["head"] == head])
        body = await request.json()
        if any(p["head"] == body["head"] for p in self.pulls):
            return JSONResponse({"message": "Validation Failed"}, 422)
        number = len(self.pulls) + 1
        pull = {
            **body,
            "number": number,
            "state": "open",
            "html_url": f"{self.url}/{repository}/pull/{number}",
        }
        self.pulls.append(pull)
        return JSONResponse(pull, 201)

    async def _comment(self, request: Request) -> Response:
        self._record(request)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse({"message": "Bad credentials"}, 401)
        repository = f"{request.path_params['owner']}/{request.path_params['name']}"
        body = (await request.json())["body"]
        self.comments.append((repository, request.path_params["number"], body))
        return JSONResponse({"id": len(self.comments)}, 201)

    async def _git(self, request: Request) -> Response:
        self._record(request)
        basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {basic}":
            return Response("", 401, {"WWW-Authenticate": 'Basic realm="GitHub"'})
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REMOTE_USER": "x-access-token",  # lets git-receive-pack (a push) through
            "REMOTE_ADDR": "127.0.0.1",
            "PATH_INFO": request.url.path,
            "REQUEST_METHOD": request.method,
            "QUERY_STRING": request.url.query,
            "CONTENT_TYPE": request.headers.get("content-type", ""),
            "HTTP_CONTENT_ENCODING": request.headers.get("content-encoding", ""),
            "GIT_PROTOCOL": request.headers.get("git-protocol", ""),
        }
        process = await asyncio.create_subprocess_exec(
            "git",
            "http-backend",
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await process.communicate(await request.body())
        head, _, body = out.partition(b"\r\n\r\n")
        status, headers = 200, {}
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(": ")
            if name.lower() == "status":
                status = int(value.split()[0])
            else:
                headers[name] = value
        return Response(body, status, headers)
