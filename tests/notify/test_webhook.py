"""The outgoing webhook channel against a real receiver on loopback, its signatures
checked by the Standard Webhooks reference verifier (PyPI ``standardwebhooks``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from taskyard.notify.base import ChannelError, Notice
from taskyard.notify.registry import channel_for
from taskyard.notify.webhook import WebhookChannel, new_secret, secret_key
from tests.notify.receiver import HANG, receiver

NOTICE = Notice(
    id="msg_0123",
    event="task.failed",
    subject="TY-4 failed: Fix login",
    text="Reason: tests fail",
    url="https://ty.example/tasks/TY-4",
    task_key="TY-4",
    status="failed",
    occurred_at=dt.datetime(2026, 12, 3, tzinfo=dt.UTC),
    data={"type": "task.failed", "data": {"task": {"key": "TY-4"}, "reason": "tests fail"}},
    thread="abc:1",
)


def test_a_signed_delivery_verifies_with_the_standard_webhooks_verifier() -> None:
    secret = new_secret()
    with receiver() as hook:
        sent = asyncio.run(WebhookChannel().send(NOTICE, {"url": hook.url, "secret": secret}, ""))
        (got,) = hook.answered
    assert sent.status_code == 200
    assert got.headers["webhook-id"] == "msg_0123"
    assert got.headers["webhook-signature"].startswith("v1,")
    payload = Webhook(secret).verify(got.body, got.headers)
    assert payload == {
        "type": "task.failed",
        "data": {"task": {"key": "TY-4"}, "reason": "tests fail"},
    }
    assert json.loads(got.body) == payload
    # Signed with another secret, or changed on the way: refused.
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(got.body, got.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(got.body.replace(b"TY-4", b"TY-5"), got.headers)


def test_the_channel_is_found_by_its_kind() -> None:
    assert isinstance(channel_for("webhook"), WebhookChannel)


@pytest.mark.parametrize(("status", "retry"), [(500, True), (429, True), (404, True), (410, False)])
def test_a_refusal_says_whether_to_try_again(status: int, retry: bool) -> None:
    with receiver(status) as hook, pytest.raises(ChannelError) as caught:
        asyncio.run(WebhookChannel().send(NOTICE, {"url": hook.url, "secret": new_secret()}, ""))
    assert caught.value.retry is retry
    assert caught.value.status_code == status


def test_a_receiver_that_never_answers_times_out_as_retryable() -> None:
    quick = WebhookChannel(httpx.Timeout(0.3))
    with receiver(HANG) as hook, pytest.raises(ChannelError) as caught:
        asyncio.run(quick.send(NOTICE, {"url": hook.url, "secret": new_secret()}, ""))
    assert caught.value.retry


def test_a_malformed_secret_is_refused() -> None:
    for bad in ("", "whsec_", "secret", "whsec_!!!", "whsec_c2hvcnQ="):
        with pytest.raises(ValueError):
            secret_key(bad)
