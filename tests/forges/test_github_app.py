"""GitHub App authentication against a loopback stand-in of GitHub's App endpoints: the
stand-in checks each JSON web token with the App's public key and issues installation
tokens that expire; the forge's client then uses them."""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from taskyard.config import Settings
from taskyard.forges.github import GitHubForge
from taskyard.forges.github_http import MAX_TRIES
from taskyard.model.errors import InvalidInput, Misconfigured, Unavailable
from taskyard.model.forge import ForgeSite
from tests.support.server import serve_app

APP_ID = 4242
INSTALLATION = 77


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def app_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class AppStandIn:
    """GitHub's App endpoints, and an issue comment endpoint that takes their tokens."""

    public_key: rsa.RSAPublicKey
    lifetime: float = 3600.0  # seconds an installation token lives
    throttle: int = 0  # how many comment requests are refused for a rate limit
    throttle_headers: dict[str, str] = field(default_factory=lambda: {"Retry-After": "1"})
    refuse_comments: bool = False
    requests: list[str] = field(default_factory=list)
    issued: dict[str, float] = field(default_factory=dict)  # token -> expiry
    comments: list[str] = field(default_factory=list)
    url: str = ""

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/repos/{owner}/{repo}/installation", self.installation),
                Route(
                    "/app/installations/{id:int}/access_tokens", self.access_token, methods=["POST"]
                ),
                Route(
                    "/repos/{owner}/{repo}/issues/{number:int}/comments",
                    self.comment,
                    methods=["POST"],
                ),
            ]
        )

    def as_app(self, request: Request) -> Response | None:
        """None when the request carries a JSON web token of the App, as GitHub checks it."""
        self.requests.append(f"{request.method} {request.url.path}")
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        try:
            claims = jwt.decode(
                token, self.public_key, algorithms=["RS256"], options={"require": ["iat", "exp"]}
            )
        except jwt.PyJWTError:
            return JSONResponse({"message": "A JSON web token could not be decoded"}, 401)
        if claims.get("iss") != str(APP_ID) or claims["exp"] - claims["iat"] > 600 + 60:
            return JSONResponse({"message": "'Issuer' claim ('iss') must be an Integer"}, 401)
        assert claims["iat"] <= time.time() - 30  # backdated for clock drift
        return None

    async def installation(self, request: Request) -> Response:
        if refused := self.as_app(request):
            return refused
        if request.path_params["repo"] != "shop":
            return JSONResponse({"message": "Not Found"}, 404)
        return JSONResponse({"id": INSTALLATION, "app_id": APP_ID})

    async def access_token(self, request: Request) -> Response:
        if refused := self.as_app(request):
            return refused
        if request.path_params["id"] != INSTALLATION:
            return JSONResponse({"message": "Not Found"}, 404)
        token = f"ghs_installation{len(self.issued):04d}abcdefghijklmnopqrstuvwxyz"
        self.issued[token] = time.time() + self.lifetime
        expires = datetime.fromtimestamp(self.issued[token], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return JSONResponse({"token": token, "expires_at": expires}, 201)

    async def comment(self, request: Request) -> Response:
        self.requests.append(f"{request.method} {request.url.path}")
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if self.issued.get(token, 0) <= time.time():
            return JSONResponse({"message": "Bad credentials"}, 401)
        if self.throttle:
            self.throttle -= 1
            message = "You have exceeded a secondary rate limit."
            return JSONResponse({"message": message}, 403, headers=self.throttle_headers)
        if self.refuse_comments:
            return JSONResponse(
                {"message": "Resource not accessible by integration"},
                403,
                headers={"X-Accepted-GitHub-Permissions": "issues=write; pull_requests=write"},
            )
        self.comments.append((await request.json())["body"])
        return JSONResponse({"id": len(self.comments)}, 201)

    def count(self, what: str) -> int:
        return sum(r.endswith(what) for r in self.requests)


@pytest.fixture
def stand_in(app_key: rsa.RSAPrivateKey) -> Iterator[AppStandIn]:
    stand_in = AppStandIn(app_key.public_key())
    with serve_app(stand_in.app(), "") as client:
        stand_in.url = str(client.base_url).rstrip("/")
        yield stand_in


def settings_for(stand_in: AppStandIn, key: rsa.RSAPrivateKey, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path, github_app_id=APP_ID, github_app_private_key=pem(key),
        github_api_url=stand_in.url, github_token="ghp_unused0123456789abcdefghij",
    )  # fmt: skip


SITE = ForgeSite("github")


async def comment(forge: GitHubForge, settings: Settings, body: str = "hello") -> None:
    async with forge.connect(SITE, settings) as client:
        await client.comment("acme/shop", 5, body)


async def test_an_installation_token_is_made_once_and_used_by_the_api_and_git(
    stand_in: AppStandIn,
    app_key: rsa.RSAPrivateKey,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    forge, settings = GitHubForge(), settings_for(stand_in, app_key, tmp_path)
    await comment(forge, settings, "first")
    await comment(forge, settings, "second ghp_0123456789abcdefghijABCDEFGHIJ0123")
    remote = forge.remote("acme/shop", SITE, settings)
    [token] = stand_in.issued
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    assert remote.env["GIT_CONFIG_VALUE_0"] == f"Authorization: Basic {basic}"
    assert stand_in.count("/installation") == 1 and stand_in.count("/access_tokens") == 1
    assert stand_in.comments == ["first", "second [REDACTED]"]  # what taskyard posts is redacted
    secret_lines = pem(app_key).splitlines()[1:-1]
    assert token not in caplog.text and not any(line in caplog.text for line in secret_lines)
    assert token not in repr(remote) and token not in repr(forge.credentials(SITE, settings))


async def test_a_token_near_its_expiry_is_replaced(
    stand_in: AppStandIn, app_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    stand_in.lifetime = 240  # under the five minutes before expiry a token is replaced
    forge, settings = GitHubForge(), settings_for(stand_in, app_key, tmp_path)
    await comment(forge, settings)
    await comment(forge, settings)
    assert stand_in.count("/access_tokens") == 2 and len(stand_in.comments) == 2
    assert stand_in.count("/installation") == 1  # where the App is installed is kept


async def test_concurrent_callers_wait_for_one_new_token(
    stand_in: AppStandIn, app_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    forge, settings = GitHubForge(), settings_for(stand_in, app_key, tmp_path)
    await asyncio.gather(*(comment(forge, settings) for _ in range(6)))
    assert stand_in.count("/access_tokens") == 1 and len(stand_in.comments) == 6

    app = GitHubForge().credentials(SITE, settings)  # one with no token yet
    assert app is not None
    barrier = threading.Barrier(6)
    tokens: list[str] = []

    def fetch() -> None:
        barrier.wait()
        tokens.append(app.token("acme/shop"))

    threads = [threading.Thread(target=fetch) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(tokens) == 6
    assert set(tokens) == {tokens[0]}  # the first caller's, which the others waited for
    assert stand_in.count("/access_tokens") == 2 and stand_in.count("/installation") == 2


async def test_a_key_that_is_not_the_apps_is_refused_with_what_to_check(
    stand_in: AppStandIn, tmp_path: Path
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings = settings_for(stand_in, other, tmp_path)
    with pytest.raises(InvalidInput, match=r"JSON web token .*TASKYARD_GITHUB_APP_ID \(4242\)"):
        await comment(GitHubForge(), settings)
    with pytest.raises(InvalidInput, match="JSON web token"):
        GitHubForge().remote("acme/shop", SITE, settings)
    assert not stand_in.issued and not stand_in.comments


async def test_a_repository_without_the_app_says_to_install_it(
    stand_in: AppStandIn, app_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    forge, settings = GitHubForge(), settings_for(stand_in, app_key, tmp_path)
    with pytest.raises(InvalidInput, match="App 4242 is not installed on acme/other"):
        forge.remote("acme/other", SITE, settings)


def test_a_missing_or_broken_key_is_a_configuration_error(tmp_path: Path) -> None:
    forge = GitHubForge()
    bare = Settings(data_dir=tmp_path, github_app_id=APP_ID)
    with pytest.raises(Misconfigured, match="TASKYARD_GITHUB_APP_PRIVATE_KEY_FILE"):
        forge.connect(SITE, bare)
    missing = bare.model_copy(update={"github_app_private_key_file": tmp_path / "nope.pem"})
    with pytest.raises(Misconfigured, match="Cannot read"):
        forge.connect(SITE, missing)
    (tmp_path / "app.pem").write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n")
    broken = bare.model_copy(update={"github_app_private_key_file": tmp_path / "app.pem"})
    with pytest.raises(Misconfigured, match="not an unencrypted PEM private key") as refused:
        forge.connect(SITE, broken)
    assert "not a key" not in str(refused.value)


async def test_a_key_file_serves_as_well(
    stand_in: AppStandIn, app_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    (tmp_path / "app.pem").write_text(pem(app_key))
    settings = settings_for(stand_in, app_key, tmp_path).model_copy(
        update={"github_app_private_key": "", "github_app_private_key_file": tmp_path / "app.pem"}
    )
    await comment(GitHubForge(), settings)
    assert stand_in.comments == ["hello"]


async def test_a_secondary_rate_limit_is_waited_out_as_github_asks(
    stand_in: AppStandIn, app_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    forge, settings = GitHubForge(), settings_for(stand_in, app_key, tmp_path)
    stand_in.throttle = 1  # Retry-After: 1
    await comment(forge, settings)
    assert stand_in.count("/comments") == 2 and stand_in.comments == ["hello"]

    stand_in.throttle_headers = {
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(int(time.time())),
    }  # the primary limit, spent until a reset that has come
    stand_in.throttle = 1
    await comment(forge, settings)
    assert stand_in.count("/comments") == 4 and len(stand_in.comments) == 2


async def test_rate_limit_retries_are_bounded(
    stand_in: AppStandIn, app_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    forge, settings = GitHubForge(), settings_for(stand_in, app_key, tmp_path)
    stand_in.throttle, stand_in.throttle_headers = 100, {"Retry-After": "0"}
    with pytest.raises(Unavailable, match=f"rate limit .* after {MAX_TRIES} tries"):
        await comment(forge, settings)
    assert stand_in.count("/comments") == MAX_TRIES

    stand_in.throttle_headers = {"Retry-After": "3600"}  # longer than any call is held
    with pytest.raises(Unavailable, match="asked to wait 3600 s"):
        await comment(forge, settings)
    assert stand_in.count("/comments") == MAX_TRIES + 1


async def test_a_missing_permission_is_named(
    stand_in: AppStandIn, app_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    stand_in.refuse_comments = True
    with pytest.raises(InvalidInput, match="it needs issues=write; pull_requests=write"):
        await comment(GitHubForge(), settings_for(stand_in, app_key, tmp_path))
