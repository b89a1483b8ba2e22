"""User-supplied URLs may not reach the server's own network: refused when a channel is
configured, refused again at send time, never redirected, connected where checked."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from taskyard.api.app import create_app
from taskyard.config import Settings
from taskyard.model.status import TaskStatus
from taskyard.notify.base import ChannelError, tls_context
from taskyard.notify.outbound import Checked, PinnedTransport
from taskyard.notify.slack import SlackChannel
from taskyard.notify.webhook import WebhookChannel, new_secret
from tests.conftest import ADMIN_TOKEN
from tests.notify.conftest import add_webhook, change_status, new_task, send_all
from tests.notify.receiver import receiver
from tests.support.notices import notice, process_settings
from tests.support.server import serve_app

FORBIDDEN = [
    "http://127.0.0.1:9/hook",
    "http://localhost:9/hook",  # a name that resolves to loopback
    "http://[::1]:9/hook",
    "http://[::ffff:127.0.0.1]:9/hook",
    "http://2130706433:9/hook",
    "http://0x7f.1:9/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.5/hook",
    "http://user:pw@example.com/hook",
]


@pytest.fixture
def external_api(api_settings: Settings) -> Iterator[httpx.Client]:
    """The API with the default setting (`external`)."""
    settings = api_settings.model_copy(update={"outbound_allowed_hosts": "external"})
    with serve_app(create_app(settings), ADMIN_TOKEN) as client:
        yield client


@pytest.mark.parametrize("url", FORBIDDEN)
def test_an_internal_url_is_refused_when_configured_and_nothing_is_stored(
    external_api: httpx.Client, url: str
) -> None:
    for kind, config in (
        ("webhook", {"url": url, "secret": new_secret()}),
        ("slack", {"webhook_url": url}),
    ):
        body = {"kind": kind, "name": kind, "config": config}
        response = external_api.post("/api/v1/notifications/channels", json=body)
        assert response.status_code == 400, response.text
        message = response.json()["error"]["message"]
        assert "TASKYARD_OUTBOUND_ALLOWED_HOSTS" in message or "user name" in message
    assert external_api.get("/api/v1/notifications/channels").json() == []


def test_a_changed_url_is_checked_too(external_api: httpx.Client) -> None:
    body = {
        "kind": "webhook",
        "name": "hook",
        "config": {"url": "https://93.184.215.14/hook", "secret": new_secret()},
    }
    created = external_api.post("/api/v1/notifications/channels", json=body)
    assert created.status_code == 201, created.text
    config = {"url": "http://127.0.0.1:9/hook", "secret": new_secret()}
    changed = external_api.patch(
        f"/api/v1/notifications/channels/{created.json()['id']}", json={"config": config}
    )
    assert changed.status_code == 400
    assert "127.0.0.1" in changed.json()["error"]["message"]
    (shown,) = external_api.get("/api/v1/notifications/channels").json()
    assert "93.184.215.14" in shown["summary"]


def test_loopback_is_allowed_when_the_setting_says_so(api: httpx.Client) -> None:
    with receiver() as hook:
        port = hook.url.rsplit(":", 1)[1].split("/")[0]
        add_webhook(api, "literal", hook.url)
        add_webhook(api, "name", f"http://localhost:{port}/")
        add_webhook(api, "decimal", f"http://2130706433:{port}/")
    body = {"kind": "webhook", "name": "meta", "config": {"url": "http://169.254.169.254/"}}
    body["config"]["secret"] = new_secret()
    assert api.post("/api/v1/notifications/channels", json=body).status_code == 400


def test_a_url_refused_at_send_time_fails_for_good_in_the_delivery_log(
    api: httpx.Client, api_settings: Settings
) -> None:
    with receiver() as hook:
        add_webhook(api, "hook", hook.url)  # allowed then (loopback)
        task = new_task(api)
        with process_settings(outbound_allowed_hosts="external"):  # no longer
            change_status(api_settings, task["id"], TaskStatus.WAITING, "waiting")
            send_all(api_settings)
        assert hook.received == []
    (row,) = api.get("/api/v1/notifications/deliveries").json()
    assert (row["status"], row["next_attempt_at"]) == ("failed", None)
    assert "loopback address" in row["last_error"]
    assert "TASKYARD_OUTBOUND_ALLOWED_HOSTS" in row["last_error"]


async def test_each_channel_checks_at_send_time() -> None:
    strict = Settings(outbound_allowed_hosts="external")
    with receiver() as hook:
        for send in (
            WebhookChannel(settings=strict).send(
                notice(), {"url": hook.url, "secret": new_secret()}, ""
            ),
            SlackChannel(strict).send(notice(), {"webhook_url": hook.url + "/x"}, ""),
        ):
            with pytest.raises(ChannelError) as caught:
                await send
            assert caught.value.retry is False
            assert "loopback address" in caught.value.message
        assert hook.received == []


@contextmanager
def redirecting(to: str) -> Iterator[str]:
    """A loopback server answering every POST with a 307 to ``to``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            self.send_response(307)
            self.send_header("Location", to)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


async def test_a_redirect_is_never_followed() -> None:
    with receiver() as target, redirecting(target.url) as url:
        with pytest.raises(ChannelError) as caught:
            await WebhookChannel().send(notice(), {"url": url, "secret": new_secret()}, "")
        assert caught.value.status_code == 307
        with pytest.raises(ChannelError) as slack:
            await SlackChannel(Settings()).send(notice(), {"webhook_url": url}, "")
        assert slack.value.status_code == 307
        await asyncio.sleep(0.1)
        assert target.received == []


async def test_the_connection_goes_to_the_address_checked() -> None:
    # `pinned.invalid` resolves nowhere: an answer proves the checked address was used,
    # with the URL's host in the Host header.
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        transport = PinnedTransport(Checked("pinned.invalid", "127.0.0.1"), tls_context())
        async with httpx.AsyncClient(timeout=30, transport=transport) as client:
            answer = await client.get(f"http://pinned.invalid:{port}/")
            with pytest.raises(httpx.ConnectError, match="was not checked"):
                await client.get(f"http://other.invalid:{port}/")
    finally:
        server.shutdown()
        server.server_close()
    assert answer.status_code == 204 and seen == [f"pinned.invalid:{port}"]
