"""Slack: a notice as a readable message, by one of two ways a user sets up.

* ``webhook_url``: an incoming webhook (``https://hooks.slack.com/services/…``, or a
  Slack-compatible service's). It can only post, so every notice is a new message.
* ``token`` and ``channel``: a bot token (``xoxb-…``, scope ``chat:write``) and a
  channel id. The first notice of a task's thread is posted with ``chat.postMessage``;
  its ``ts`` comes back as ``previous`` and later ones edit that message in place with
  ``chat.update``, so a task is one message that always shows its latest state.

Slack answers the Web API with HTTP 200 and ``{"ok": false, "error": …}`` on failure:
each error is mapped to a retry, or to a message saying what the user must fix.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from taskyard.config import Settings, get_settings
from taskyard.notify.base import ChannelError, Notice, Sent, tls_context
from taskyard.notify.outbound import pinned
from taskyard.notify.slack_errors import api_error, http_error, retry_wait
from taskyard.notify.slack_message import blocks, fallback

CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,40}")
TOKEN = re.compile(r"[\x21-\x7e]{8,512}")  # printable, no spaces: a header value as is
MAX_URL = 2000
MAX_TRIES = 3  # requests per call while Slack asks to slow down briefly
MAX_WAIT = 5.0  # seconds waited in place; a longer Retry-After is left to the sending loop
GONE = {"message_not_found", "cant_update_message", "edit_window_closed"}  # post anew


@dataclass(frozen=True)
class Webhook:
    url: str


@dataclass(frozen=True)
class Bot:
    token: str
    channel: str


def destination(target: Mapping[str, str]) -> Webhook | Bot:
    """Where ``target`` says to post; ``ValueError`` saying what to fix if it cannot be."""
    url = target.get("webhook_url", "")
    if url:
        if len(url) > MAX_URL or not re.fullmatch(r"https?://[^\s/]+/\S*", url):
            raise ValueError(
                "A Slack webhook_url is the incoming webhook's URL, "
                "https://hooks.slack.com/services/…, as Slack shows it."
            )
        return Webhook(url)
    token, channel = target.get("token", ""), target.get("channel", "")
    if not token and not channel:
        raise ValueError("Slack needs a webhook_url, or a bot token and a channel id.")
    if not TOKEN.fullmatch(token):
        raise ValueError("A Slack token is the app's Bot User OAuth Token (xoxb-…).")
    if not CHANNEL_ID.fullmatch(channel):
        raise ValueError(
            "A Slack channel is given by its id (C…, G… or D…, at the bottom of the "
            "channel's details), not its name: messages are edited by id."
        )
    return Bot(token, channel)


class SlackChannel:
    kind: ClassVar[str] = "slack"

    def __init__(
        self,
        settings: Settings | None = None,
        transport: httpx.AsyncBaseTransport | None = None,  # a seam for tests
    ) -> None:
        self._settings = settings
        self._transport = transport

    async def send(self, notice: Notice, target: Mapping[str, str], previous: str) -> Sent:
        try:
            where = destination(target)
        except ValueError as exc:
            raise ChannelError(str(exc), retry=False) from exc
        message: dict[str, Any] = {"text": fallback(notice), "blocks": blocks(notice)}
        settings = self._settings or get_settings()
        transport = self._transport
        if isinstance(where, Webhook):  # a user's URL; the Web API's is the administrator's
            reaching = await pinned(where.url, settings.allowed_hosts)  # checked at each send
            transport = transport or reaching
        async with httpx.AsyncClient(
            timeout=settings.slack_timeout,
            transport=transport,
            verify=tls_context(),
            follow_redirects=False,
        ) as client:
            if isinstance(where, Webhook):
                await _post(client, where.url, {**message, "unfurl_links": False}, {})
                return Sent(status_code=200)
            api = _WebApi(client, settings.slack_api_url.rstrip("/"), where)
            if previous:
                try:
                    await api.call("chat.update", {**message, "ts": previous})
                    return Sent(reference=previous, status_code=200)
                except _Gone:
                    pass  # deleted, or no longer editable: the task gets a new message
            answer = await api.call("chat.postMessage", {**message, "unfurl_links": False})
            return Sent(reference=str(answer.get("ts", "")), status_code=200)


class _Gone(Exception):
    """The message to update is gone or may no longer be edited."""


@dataclass
class _WebApi:
    client: httpx.AsyncClient
    base: str
    bot: Bot

    async def call(self, method: str, arguments: dict[str, Any]) -> Mapping[str, Any]:
        """Slack's answer to ``method``; ``ChannelError`` (or ``_Gone``) when not ``ok``."""
        headers = {"Authorization": f"Bearer {self.bot.token}"}
        body = {"channel": self.bot.channel, **arguments}
        response = await _post(self.client, f"{self.base}/{method}", body, headers)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise ChannelError(
                f"Slack's {method} answered something other than JSON: check "
                "TASKYARD_SLACK_API_URL.",
                retry=True,
            )
        if answer.get("ok") is True:
            return answer
        error = str(answer.get("error", "unknown"))[:100]
        if error in GONE and method == "chat.update":
            raise _Gone(error)
        raise api_error(method, error, self.bot.channel)


async def _post(
    client: httpx.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    """POST ``body`` as JSON, waiting out a short rate limit; the 200 answer, or raises."""
    content = json.dumps(body).encode()
    headers = {**headers, "Content-Type": "application/json; charset=utf-8"}
    attempt = 1
    while True:
        try:
            response = await client.post(url, content=content, headers=headers)
        except httpx.TimeoutException as exc:
            raise ChannelError(
                f"Slack did not answer within {client.timeout.read} s.", retry=True
            ) from exc
        except httpx.HTTPError as exc:
            raise ChannelError(f"Slack could not be reached: {exc}"[:300], retry=True) from exc
        wait = retry_wait(response)
        if wait is None or wait > MAX_WAIT or attempt == MAX_TRIES:
            break
        attempt += 1
        await asyncio.sleep(wait)
    if response.status_code == 200:
        return response
    raise http_error(response, wait)
