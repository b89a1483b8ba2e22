"""git's smart HTTP protocol as GitHub serves it, through ``git http-backend``, behind
GitHub's authentication for git: Basic ``x-access-token:<token>``."""

from __future__ import annotations

import asyncio
import base64
import subprocess
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response


async def smart_http(request: Request, root: Path, token: str) -> Response:
    """Serve a fetch or push of a bare repository under ``root``."""
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    if request.headers.get("authorization") != f"Basic {basic}":
        return Response("", 401, {"WWW-Authenticate": 'Basic realm="GitHub"'})
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "GIT_PROJECT_ROOT": str(root),
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


def head_sha(root: Path, repository: str, ref: str) -> str | None:
    """The commit ``ref`` (a branch, a tag or a sha) names in the repository, if any."""
    if not (root / f"{repository}.git").is_dir():
        return None
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        cwd=root / f"{repository}.git",
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or None
