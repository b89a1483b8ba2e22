"""Every event reaches every channel of the people who want it exactly once, through
the outbox and the sending loop, to real receivers on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from taskyard.config import Settings
from taskyard.db.models import NotificationDelivery
from taskyard.db.session import session_scope
from taskyard.engine.notifications import NotificationLoop
from taskyard.forges.base import RemotePullRequest
from taskyard.gateway.credentials import Grant
from taskyard.model.prices import Usage
from taskyard.model.status import TaskStatus
from taskyard.model.template import Budget
from taskyard.services import deliveries
from taskyard.services.gateway_ledger import DatabaseLedger
from taskyard.services.notification_outbox import PER_CHANNEL
from tests.notify.conftest import (
    add_webhook,
    change_status,
    new_task,
    send_all,
    want_everything,
)
from tests.notify.receiver import HANG, receiver
from tests.support.notices import process_settings
from tests.support.slack import CHANNEL as SLACK_CHANNEL
from tests.support.slack import TOKEN as SLACK_TOKEN
from tests.support.slack import WEBHOOK, serve_slack
from tests.support.smtp import smtp_server_thread


def _events(bodies: list[bytes]) -> Counter[tuple[str, str]]:
    found = [json.loads(b) for b in bodies]
    return Counter((f["type"], f["data"]["task"]["key"]) for f in found)


def _every_event(api: httpx.Client, settings: Settings) -> Counter[tuple[str, str]]:
    """Cause each event once (budget: crossed once in three calls); what is owed."""
    done, failed, cancelled = (new_task(api, t) for t in ("Done", "Broken", "Dropped"))
    change_status(settings, done["id"], TaskStatus.WAITING, "code: waiting for approval")
    draft = deliveries.Draft(0, "acme/shop", RemotePullRequest(7, "https://x/pull/7"))
    deliveries.record_ready(settings, done["id"], draft)
    grant = Grant(done["id"], done["key"], 1, 0, "anthropic", budget=Budget(max_tokens=1000))
    ledger = DatabaseLedger(settings)
    ledger.record_call(grant, Usage(input_tokens=700), "m")  # 70%: nothing yet
    ledger.record_call(grant, Usage(input_tokens=150), "m")  # 85%: nearly spent
    ledger.record_call(grant, Usage(input_tokens=20), "m")  # still past: said once
    change_status(settings, done["id"], TaskStatus.COMPLETED)
    change_status(settings, failed["id"], TaskStatus.FAILED, "tests fail")
    change_status(settings, cancelled["id"], TaskStatus.CANCELLED, "Cancelled by ada")
    return Counter(
        [
            *(("task.created", t["key"]) for t in (done, failed, cancelled)),
            ("task.waiting", done["key"]),
            ("task.pr_ready", done["key"]),
            ("task.budget", done["key"]),
            ("task.completed", done["key"]),
            ("task.failed", failed["key"]),
            ("task.cancelled", cancelled["key"]),
        ]
    )


def test_each_event_reaches_each_channel_exactly_once(
    api: httpx.Client, api_settings: Settings
) -> None:
    with (
        receiver() as first,
        receiver() as second,
        serve_slack() as slack,
        smtp_server_thread() as mailbox,
        process_settings(
            slack_api_url=f"{slack.url}/api",
            smtp_host="127.0.0.1",
            smtp_port=str(mailbox.port),
            smtp_from="taskyard@example.com",
            smtp_starttls="false",
        ),
    ):
        _, first_secret = add_webhook(api, "first", first.url)
        _, second_secret = add_webhook(api, "second", second.url)
        for kind, name, config in (
            ("slack", "hook", {"webhook_url": slack.url + WEBHOOK}),
            ("slack", "bot", {"token": SLACK_TOKEN, "channel": SLACK_CHANNEL}),
            ("email", "mail", {"address": "ada@example.com"}),
        ):
            body = {"kind": kind, "name": name, "config": config}
            assert api.post("/api/v1/notifications/channels", json=body).status_code == 201
        want_everything(api)
        expected = _every_event(api, api_settings)
        assert send_all(api_settings) == 9 * 5
        for hook, secret in ((first, first_secret), (second, second_secret)):
            assert len(hook.received) == 9  # no retry, no duplicate
            assert _events([r.body for r in hook.answered]) == expected
            assert len({r.headers["webhook-id"] for r in hook.answered}) == 9
            for got in hook.answered:
                Webhook(secret).verify(got.body, got.headers)
        assert not {r.headers["webhook-id"] for r in first.answered} & {
            r.headers["webhook-id"] for r in second.answered
        }
        failure = next(json.loads(r.body) for r in first.answered if b"task.failed" in r.body)
        assert failure["data"]["reason"] == "tests fail"
        assert "Reason: tests fail" in failure["data"]["text"]
        # Slack: one post per notice by incoming webhook; by bot, one message per task,
        # posted once and edited for each later notice.
        assert len(slack.hooked) == 9
        assert Counter(slack.calls) == Counter(
            {"chat.postMessage": 3, "chat.update": 6, "webhook": 9}
        )
        assert len(slack.messages) == 3
    subjects = Counter(message["Subject"].split(":")[0] for _, _, message in mailbox.received)
    assert len(mailbox.received) == 9 and max(subjects.values()) == 1
    log = api.get("/api/v1/notifications/deliveries").json()
    assert len(log) == 45 and {d["status"] for d in log} == {"sent"}
    assert {d["last_status_code"] for d in log if d["kind"] == "webhook"} == {200}


def test_quiet_by_default_and_teams_set_defaults(api: httpx.Client, api_settings: Settings) -> None:
    with receiver() as hook:
        add_webhook(api, "mine", hook.url)
        quiet = new_task(api, "Quiet")
        for status in (TaskStatus.WAITING, TaskStatus.FAILED):
            change_status(api_settings, quiet["id"], status, "why")
        send_all(api_settings)
        assert sorted(json.loads(r.body)["type"] for r in hook.answered) == [
            "task.failed",
            "task.waiting",
        ]
        # The team turns "completed" on for its tasks; the person turns "failed" off.
        team = {"preferences": [{"event": "task.completed"}, {"event": "task.created"}]}
        assert api.put("/api/v1/notifications/teams/TY", json=team).status_code == 200
        own = {"preferences": [{"event": "task.failed", "enabled": False}]}
        assert api.put("/api/v1/notifications/preferences", json=own).status_code == 200
        loud = new_task(api, "Loud")
        change_status(api_settings, loud["id"], TaskStatus.FAILED, "no")
        other = new_task(api, "Other")
        change_status(api_settings, other["id"], TaskStatus.COMPLETED)
        send_all(api_settings)
        later = [json.loads(r.body)["type"] for r in hook.answered[2:]]
        assert sorted(later) == ["task.completed", "task.created", "task.created"]


def test_a_receiver_failing_three_times_gets_the_delivery_on_the_fourth(
    api: httpx.Client, api_settings: Settings
) -> None:
    settings = api_settings.model_copy(update={"notify_retry_base_seconds": 0.05})
    with receiver(500, 503, 502) as hook:
        add_webhook(api, "flaky", hook.url)
        task = new_task(api)
        change_status(settings, task["id"], TaskStatus.FAILED, "boom")

        async def run() -> None:
            loop = NotificationLoop(settings)
            running = asyncio.create_task(loop.run())
            await hook.arrived(1)
            loop.stop()
            await running

        asyncio.run(run())
        assert len(hook.received) == 4
        assert len({r.headers["webhook-id"] for r in hook.received}) == 1
    (row,) = api.get("/api/v1/notifications/deliveries").json()
    assert (row["status"], row["attempts"], row["last_status_code"]) == ("sent", 4, 200)
    said = [
        e["data"]["message"]
        for e in api.get(f"/api/v1/tasks/{task['key']}/events").json()["items"]
        if e["kind"] == "notification"
    ]
    assert said == ["Failed, trying again: The receiver answered 500.", "Sent after 4 attempts."]


def test_a_gone_receiver_is_not_retried_and_can_be_replayed(
    api: httpx.Client, api_settings: Settings
) -> None:
    with receiver(410) as hook:
        add_webhook(api, "gone", hook.url)
        task = new_task(api)
        change_status(api_settings, task["id"], TaskStatus.WAITING, "waiting for input")
        send_all(api_settings)
        (row,) = api.get("/api/v1/notifications/deliveries").json()
        assert (row["status"], row["last_status_code"], row["next_attempt_at"]) == (
            "failed",
            410,
            None,
        )
        events = api.get(f"/api/v1/tasks/{task['key']}/events").json()["items"]
        (told,) = [e["data"] for e in events if e["kind"] == "notification"]
        assert told["message"].startswith("Failed for good after 1 attempts")
        assert hook.url not in json.dumps(events)  # where it goes is the person's own
        replayed = api.post(f"/api/v1/notifications/deliveries/{row['id']}/replay")
        assert replayed.status_code == 200 and replayed.json()["status"] == "pending"
        send_all(api_settings)
        assert len(hook.answered) == 1
        assert hook.answered[0].headers["webhook-id"] == hook.received[0].headers["webhook-id"]
    with session_scope(api_settings.resolved_database_url, write=False) as session:
        (stored,) = session.query(NotificationDelivery).all()
        assert (stored.status, stored.attempts) == ("sent", 2)


def test_a_hung_receiver_holds_a_bounded_number_of_sends(
    api: httpx.Client, api_settings: Settings
) -> None:
    with receiver(then=HANG) as hung, receiver() as fast:
        add_webhook(api, "hung", hung.url)
        add_webhook(api, "fast", fast.url)
        on = {"preferences": [{"event": "task.created"}]}
        assert api.put("/api/v1/notifications/preferences", json=on).status_code == 200
        for n in range(PER_CHANNEL + 5):
            new_task(api, f"t{n}")

        async def run() -> None:
            loop = NotificationLoop(api_settings)
            running = asyncio.create_task(loop.run())
            await fast.arrived(PER_CHANNEL + 5)
            # The hung channel's sends started in the same passes, but on a busy machine
            # the last may not have reached its receiver yet.
            await hung.holding(PER_CHANNEL)
            running.cancel()  # its hung sends with it: their claims lapse
            with contextlib.suppress(asyncio.CancelledError):
                await running

        asyncio.run(run())
        # Counted by the receiver, so a slow machine where the hung sends time out
        # (and are tried again) still shows the bound: never more held at once.
        assert hung.most_hanging == PER_CHANNEL


def test_what_a_channel_turned_off_still_owed_is_not_sent(
    api: httpx.Client, api_settings: Settings
) -> None:
    with receiver() as hook:
        channel, _ = add_webhook(api, "off", hook.url)
        task = new_task(api)
        change_status(api_settings, task["id"], TaskStatus.FAILED, "no")
        off = api.patch(f"/api/v1/notifications/channels/{channel}", json={"enabled": False})
        assert off.status_code == 200
        send_all(api_settings)
        assert hook.received == []
    (row,) = api.get("/api/v1/notifications/deliveries").json()
    assert (row["status"], row["last_error"]) == ("failed", "The channel was turned off.")


def test_a_cancelled_loop_stops_even_as_a_send_ends_at_that_moment(
    api: httpx.Client, api_settings: Settings
) -> None:
    """Python 3.11's ``asyncio.wait_for`` hands a task cancelled in the moment its wait
    ended the wait's result: the loop took a worker's cancel for a wake and polled on
    for good (the hung-receiver test above hung one run in six)."""

    async def run() -> None:
        loop = NotificationLoop(api_settings)
        running = asyncio.create_task(loop.run())
        deadline = time.monotonic() + 10
        while not loop._wake._waiters:  # type: ignore[attr-defined]  # idle, between passes
            assert time.monotonic() < deadline, "the loop never waited"
            await asyncio.sleep(0.01)
        loop._wake.set()  # a send ended...
        running.cancel()  # ...as its worker stops
        with pytest.raises(asyncio.CancelledError):
            async with asyncio.timeout(10):
                await running

    asyncio.run(run())
