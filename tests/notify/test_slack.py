"""The Slack channel against a Slack stand-in on loopback (Web API and incoming webhook)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from taskyard.config import Settings
from taskyard.model.status import TaskStatus
from taskyard.notify.base import ChannelError
from taskyard.notify.registry import channel_for
from taskyard.notify.slack import SlackChannel, destination
from tests.notify.conftest import change_status, new_task, send_all, want_everything
from tests.support.notices import PULL, URL, notice, process_settings
from tests.support.silent import silent_server
from tests.support.slack import (
    ARCHIVED,
    CHANNEL,
    OUTSIDE,
    TOKEN,
    WEBHOOK,
    SlackStandIn,
    serve_slack,
)

LINK = re.compile(r"<([^>]*)>")


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with serve_slack() as standin:
        yield standin


def channel_of(slack: SlackStandIn, timeout: float = 10.0) -> SlackChannel:
    return SlackChannel(Settings(slack_api_url=f"{slack.url}/api", slack_timeout=timeout))


def bot(channel: str = CHANNEL, token: str = TOKEN) -> dict[str, str]:
    return {"token": token, "channel": channel}


def texts(message: dict[str, Any]) -> list[str]:
    """Every mrkdwn string of a message: its fallback and each block's texts."""
    found = [message["text"]]
    for block in message["blocks"]:
        found += [block["text"]["text"]] if "text" in block else []
        found += [field["text"] for field in block.get("fields", [])]
        found += [element["text"] for element in block.get("elements", [])]
    return found


def test_slack_is_a_registered_channel() -> None:
    assert channel_for("slack").kind == "slack"


async def test_webhook_posts_a_readable_message(slack: SlackStandIn) -> None:
    sent = await channel_of(slack).send(
        notice(event="task.pr_ready", pull_request=PULL), {"webhook_url": slack.url + WEBHOOK}, ""
    )

    assert sent.reference == "" and sent.status_code == 200
    [message] = slack.hooked
    shown = "\n".join(texts(message))
    assert f"*<{URL}|TY-4>* Fix login" in shown  # the key links to the task, then its title
    assert "*State*\nwaiting" in shown and "*Stage*\nreview" in shown
    assert "Pull request #12 is ready for review." in shown
    assert f"<{PULL}|Pull request>" in shown and f"<{URL}|Open the task>" in shown
    assert message["text"].startswith("TY-4 pull request #12 ready: Fix login")
    assert message["unfurl_links"] is False


async def test_a_status_change_shows_its_reason(slack: SlackStandIn) -> None:
    failed = notice(event="task.failed", status="failed", stage="code", reason="Tests failed")
    await channel_of(slack).send(failed, {"webhook_url": slack.url + WEBHOOK}, "")

    shown = texts(slack.hooked[0])
    assert "*Reason*\nTests failed" in shown
    assert not any("Status: failed" in text for text in shown)  # the fields say it once


async def test_bot_posts_once_then_updates_that_message_in_place(slack: SlackStandIn) -> None:
    channel = channel_of(slack)
    first = await channel.send(notice(), bot(), "")
    later = notice(event="task.pr_ready", status="working", stage="code", pull_request=PULL)
    second = await channel.send(later, bot(), first.reference)

    assert slack.calls == ["chat.postMessage", "chat.update"]
    assert second.reference == first.reference
    [message] = slack.messages.values()
    assert message.ts == first.reference and message.channel == CHANNEL and message.edits == 1
    assert "*State*\nworking" in texts({"text": message.text, "blocks": message.blocks})


async def test_a_deleted_message_is_posted_anew(slack: SlackStandIn) -> None:
    sent = await channel_of(slack).send(notice(), bot(), "1700000000.000999")

    assert slack.calls == ["chat.update", "chat.postMessage"]
    assert sent.reference in slack.messages and sent.reference != "1700000000.000999"


@pytest.mark.parametrize(
    "title",
    [
        "<!channel> deploy now",
        "<https://evil.example|Open the task> & <@U0ADMIN>",
        "&lt;!here&gt; already escaped",
        "*bold* _it_ `code` <!subteam^S123>",
    ],
)
async def test_task_text_cannot_link_or_mention(slack: SlackStandIn, title: str) -> None:
    hostile = notice(title, reason=title, stage=title)
    await channel_of(slack).send(hostile, {"webhook_url": slack.url + WEBHOOK}, "")
    await channel_of(slack).send(hostile, bot(), "")

    posted = [{"text": m.text, "blocks": m.blocks} for m in slack.messages.values()]
    escaped = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for message in [*slack.hooked, *posted]:
        shown = texts(message)
        assert escaped in shown[1]  # the heading shows the title as typed
        for text in shown:
            # The only control sequences are the task's own links and the date token.
            for inside in LINK.findall(text):
                assert inside.startswith((f"{URL}|", "!date^")), (inside, text)


async def test_long_text_stays_within_slacks_limits(slack: SlackStandIn) -> None:
    long = notice("&" * 5000, reason="<" * 10_000, stage="s" * 3000)
    await channel_of(slack).send(long, bot(), "")  # the stand-in refuses what Slack would

    [message] = slack.messages.values()
    heading = message.blocks[0]["text"]["text"]
    assert heading.endswith("&amp;…") and len(heading) < 400  # cut between entities


@pytest.mark.parametrize(
    ("target", "said"),
    [
        (bot(token="xoxb-wrong-token"), "Bot User OAuth Token"),
        (bot(channel="C0NOSUCH01"), "no channel C0NOSUCH01"),
        (bot(channel=OUTSIDE), "/invite"),
        (bot(channel=ARCHIVED), "archived"),
    ],
)
async def test_web_api_errors_say_what_to_fix(
    slack: SlackStandIn, target: dict[str, str], said: str
) -> None:
    with pytest.raises(ChannelError) as caught:
        await channel_of(slack).send(notice(), target, "")
    assert said in caught.value.message and caught.value.retry is False
    assert not slack.messages


async def test_a_removed_webhook_is_not_retried(slack: SlackStandIn) -> None:
    with pytest.raises(ChannelError) as caught:
        await channel_of(slack).send(notice(), {"webhook_url": f"{slack.url}/services/T/B/x"}, "")
    assert caught.value.retry is False and caught.value.status_code == 404
    assert "no_service" in caught.value.message and "new incoming webhook" in caught.value.message


@pytest.mark.parametrize(
    ("target", "said"),
    [
        ({}, "webhook_url, or a bot token"),
        ({"webhook_url": "hooks.slack.com/services/x"}, "incoming webhook's URL"),
        (bot(channel="#general"), "by its id"),
        (bot(token="xoxb bad\r\nX-Injected: 1"), "Bot User OAuth Token"),
    ],
)
def test_bad_destinations_are_refused_before_sending(target: dict[str, str], said: str) -> None:
    with pytest.raises(ValueError, match=re.escape(said)):
        destination(target)


async def test_a_bad_destination_fails_for_good(slack: SlackStandIn) -> None:
    with pytest.raises(ChannelError) as caught:
        await channel_of(slack).send(notice(), bot(channel="#general"), "")
    assert caught.value.retry is False and not slack.calls


@pytest.mark.parametrize("webhook", [True, False])
async def test_a_short_rate_limit_is_waited_out(slack: SlackStandIn, webhook: bool) -> None:
    slack.throttle(times=1, retry_after=0)
    target = {"webhook_url": slack.url + WEBHOOK} if webhook else bot()
    await channel_of(slack).send(notice(), target, "")

    assert len(slack.calls) == 2 and len(slack.hooked) + len(slack.messages) == 1


async def test_a_long_rate_limit_is_retried_later(slack: SlackStandIn) -> None:
    slack.throttle(times=1, retry_after=30)
    with pytest.raises(ChannelError) as caught:
        await channel_of(slack).send(notice(), bot(), "")
    assert caught.value.retry is True and caught.value.status_code == 429
    assert "wait 30 s" in caught.value.message and slack.calls == ["chat.postMessage"]


@pytest.mark.parametrize(
    ("answer", "retry"),
    [
        (httpx.Response(500, text="oops"), True),
        (httpx.Response(200, json={"ok": False, "error": "fatal_error"}), True),
        (httpx.Response(200, text="<html>a proxy's page</html>"), True),
        (httpx.Response(200, json={"ok": False, "error": "missing_scope"}), False),
        (httpx.Response(200, json={"ok": False, "error": "something_new"}), False),
    ],
)
async def test_retry_classification(answer: httpx.Response, retry: bool) -> None:
    transport = httpx.MockTransport(lambda request: answer)
    channel = SlackChannel(Settings(), transport=transport)
    with pytest.raises(ChannelError) as caught:
        await channel.send(notice(), bot(), "")
    assert caught.value.retry is retry


async def test_a_slack_that_never_answers_times_out() -> None:
    with silent_server() as port:
        channel = SlackChannel(
            Settings(slack_api_url=f"http://127.0.0.1:{port}/api", slack_timeout=0.3)
        )
        started = time.monotonic()
        with pytest.raises(ChannelError) as caught:
            await channel.send(notice(), bot(), "")
    assert caught.value.retry is True and "within 0.3 s" in caught.value.message
    assert time.monotonic() - started < 5


def add_slack(api: httpx.Client, config: dict[str, str]) -> None:
    body = {"kind": "slack", "name": "slack", "config": config}
    response = api.post("/api/v1/notifications/channels", json=body)
    assert response.status_code == 201, response.text


def test_a_tasks_notices_through_the_outbox_are_one_message(
    api: httpx.Client, api_settings: Settings, slack: SlackStandIn
) -> None:
    with process_settings(slack_api_url=f"{slack.url}/api"):
        add_slack(api, bot())
        want_everything(api)
        task = new_task(api)
        send_all(api_settings)
        change_status(api_settings, task["id"], TaskStatus.WAITING, "code: waiting for approval")
        send_all(api_settings)
        change_status(api_settings, task["id"], TaskStatus.FAILED, "tests fail")
        send_all(api_settings)

    assert slack.calls == ["chat.postMessage", "chat.update", "chat.update"]
    [message] = slack.messages.values()
    shown = texts({"text": message.text, "blocks": message.blocks})
    assert "*State*\nfailed" in shown and "*Reason*\ntests fail" in shown


def test_notices_owed_at_once_still_make_one_message_showing_the_last(
    api: httpx.Client, api_settings: Settings, slack: SlackStandIn
) -> None:
    with process_settings(slack_api_url=f"{slack.url}/api"):
        add_slack(api, bot())
        want_everything(api)
        task = new_task(api)
        change_status(api_settings, task["id"], TaskStatus.WAITING, "code: waiting for approval")
        change_status(api_settings, task["id"], TaskStatus.FAILED, "tests fail")
        send_all(api_settings)

    [message] = slack.messages.values()
    assert "*State*\nfailed" in texts({"text": message.text, "blocks": message.blocks})


@pytest.mark.parametrize(
    ("config", "said"),
    [
        (bot(channel="#general"), "not its name"),
        ({"webhook_url": "https://hooks.slack.com/services/T/B/x y"}, "incoming webhook's URL"),
    ],
)
def test_the_api_refuses_a_slack_destination_it_could_not_use(
    api: httpx.Client, config: dict[str, str], said: str
) -> None:
    body = {"kind": "slack", "name": "slack", "config": config}
    response = api.post("/api/v1/notifications/channels", json=body)
    assert response.status_code == 400 and said in response.json()["error"]["message"]


async def test_a_relative_task_url_is_not_made_a_link(slack: SlackStandIn) -> None:
    relative = notice(url="/tasks/TY-4")  # TASKYARD_PUBLIC_URL unset
    await channel_of(slack).send(relative, {"webhook_url": slack.url + WEBHOOK}, "")

    shown = texts(slack.hooked[0])
    assert shown[1].startswith("*TY-4* Fix login")
    assert all(inside.startswith("!date^") for text in shown for inside in LINK.findall(text))
