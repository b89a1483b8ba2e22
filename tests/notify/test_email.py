"""The email channel against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import time
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from taskyard.config import Settings
from taskyard.model.status import TaskStatus
from taskyard.notify.base import ChannelError
from taskyard.notify.email import EmailChannel
from taskyard.notify.registry import channel_for
from taskyard.services.secrets import server_values
from tests.notify.conftest import change_status, new_task, send_all, want_everything
from tests.support.notices import PULL, URL, notice, process_settings
from tests.support.silent import silent_server
from tests.support.smtp import smtp_server, smtp_server_thread

TO = {"address": "ada@example.com"}
PASSWORD = "s3cret-Pa55word"


def channel(port: int, **settings: Any) -> EmailChannel:
    defaults: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_from": "taskyard <taskyard@example.com>",
        "smtp_starttls": False,
        "smtp_timeout": 5.0,
    }
    return EmailChannel(Settings(**{**defaults, **settings}))


def parts(message: EmailMessage) -> tuple[str, str]:
    plain, rich = message.get_body(("plain",)), message.get_body(("html",))
    assert isinstance(plain, EmailMessage) and isinstance(rich, EmailMessage)
    return plain.get_content(), rich.get_content()


def test_email_is_a_registered_channel() -> None:
    assert channel_for("email").kind == "email"


async def test_a_notice_is_a_text_and_html_email_linking_the_task() -> None:
    async with smtp_server() as mailbox:
        sent = await channel(mailbox.port).send(
            notice(event="task.pr_ready", pull_request=PULL), TO, ""
        )

    [(sender, recipients, message)] = mailbox.received
    assert sender == "taskyard@example.com" and recipients == ["ada@example.com"]
    assert message["Subject"] == "TY-4 pull request #12 ready: Fix login"
    assert message["From"] == "taskyard <taskyard@example.com>"
    assert message["To"] == "ada@example.com"
    assert message["Message-ID"] == sent.reference == "<msg_0123456789abcdef@example.com>"
    assert message["References"] == "<thread-7f3c9a-3@example.com>"  # one thread per task
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    plain, rich = parts(message)
    assert "Pull request #12 is ready for review." in plain
    assert f"Open the task: {URL}" in plain and f"Pull request: {PULL}" in plain
    assert f'<a href="{URL}">Open the task</a>' in rich
    assert f'<a href="{PULL}">Pull request</a>' in rich
    assert "<strong>TY-4</strong> Fix login" in rich


async def test_a_relative_task_url_is_not_made_a_link() -> None:
    async with smtp_server() as mailbox:
        await channel(mailbox.port).send(notice(url="/tasks/TY-4"), TO, "")

    plain, rich = parts(mailbox.received[0][2])
    assert "/tasks/TY-4" not in plain and "href" not in rich


async def test_task_text_is_escaped_in_html() -> None:
    title = '<script>alert(1)</script><a href="https://evil.example">x</a>'
    async with smtp_server() as mailbox:
        await channel(mailbox.port).send(notice(title, reason="<img src=x onerror=y>"), TO, "")

    _, rich = parts(mailbox.received[0][2])
    assert "<script>" not in rich and "&lt;script&gt;alert(1)&lt;/script&gt;" in rich
    assert 'href="https://evil.example"' not in rich
    assert "<img" not in rich and "&lt;img src=x onerror=y&gt;" in rich


async def test_a_subject_cannot_add_headers() -> None:
    hostile = notice("Fix\r\nBcc: victim@example.org\r\n\r\nforged body\x00\u2028!")
    async with smtp_server() as mailbox:
        await channel(mailbox.port).send(hostile, TO, "")

    [(_, recipients, message)] = mailbox.received
    assert recipients == ["ada@example.com"]
    assert message["Bcc"] is None
    assert message["Subject"] == "TY-4 waiting: Fix Bcc: victim@example.org forged body !"


@pytest.mark.parametrize(
    "address",
    [
        "ada@example.com\r\nBcc: victim@example.org",
        "ada@example.com, victim@example.org",
        "Ada <ada@example.com>",
        "ada",
        "@example.com",
        "a" * 250 + "@example.com",
        "",
    ],
)
async def test_bad_addresses_are_refused_for_good(address: str) -> None:
    async with smtp_server() as mailbox:
        with pytest.raises(ChannelError) as caught:
            await channel(mailbox.port).send(notice(), {"address": address}, "")
    assert caught.value.retry is False and "not an email address" in caught.value.message
    assert not mailbox.received


async def test_a_sender_with_a_line_break_is_refused() -> None:
    async with smtp_server() as mailbox:
        with pytest.raises(ChannelError) as caught:
            await channel(mailbox.port, smtp_from="t@example.com\r\nBcc: x@example.org").send(
                notice(), TO, ""
            )
    assert caught.value.retry is False and "TASKYARD_SMTP_FROM" in caught.value.message


async def test_auth_with_the_right_password_delivers() -> None:
    async with smtp_server(credentials=("taskyard", PASSWORD)) as mailbox:
        await channel(mailbox.port, smtp_username="taskyard", smtp_password=PASSWORD).send(
            notice(), TO, ""
        )
    assert mailbox.logins == ["taskyard"] and len(mailbox.received) == 1


async def test_a_wrong_password_fails_for_good_without_saying_it() -> None:
    async with smtp_server(credentials=("taskyard", PASSWORD)) as mailbox:
        with pytest.raises(ChannelError) as caught:
            await channel(mailbox.port, smtp_username="taskyard", smtp_password="wrong-one").send(
                notice(), TO, ""
            )
    assert caught.value.retry is False
    assert "TASKYARD_SMTP_PASSWORD" in caught.value.message
    assert "wrong-one" not in caught.value.message and not mailbox.received


@pytest.mark.parametrize(
    ("script", "reply", "retry", "said"),
    [
        ("rcpt_replies", "450 4.2.1 Mailbox busy", True, "for now"),
        ("rcpt_replies", "550 5.1.1 No such user", False, "check the address ada@example.com"),
        ("data_replies", "451 4.3.0 Try again later", True, "for now"),
        ("data_replies", "554 5.7.1 Rejected as spam", False, "for good"),
    ],
)
async def test_temporary_and_permanent_refusals(
    script: str, reply: str, retry: bool, said: str
) -> None:
    async with smtp_server() as mailbox:
        getattr(mailbox, script).append(reply)
        with pytest.raises(ChannelError) as caught:
            await channel(mailbox.port).send(notice(), TO, "")
    assert caught.value.retry is retry
    assert said in caught.value.message and reply.split(" ", 1)[0] in caught.value.message


async def test_a_server_without_starttls_is_refused_when_it_is_required() -> None:
    async with smtp_server() as mailbox:
        with pytest.raises(ChannelError) as caught:
            await channel(mailbox.port, smtp_starttls=True).send(notice(), TO, "")
    assert caught.value.retry is False and "TASKYARD_SMTP_STARTTLS" in caught.value.message
    assert not mailbox.received


async def test_a_username_for_a_server_without_auth_is_refused() -> None:
    async with smtp_server() as mailbox:
        with pytest.raises(ChannelError) as caught:
            await channel(mailbox.port, smtp_username="taskyard", smtp_password=PASSWORD).send(
                notice(), TO, ""
            )
    assert caught.value.retry is False and "TASKYARD_SMTP_USERNAME" in caught.value.message
    assert PASSWORD not in caught.value.message


async def test_email_not_set_up_fails_for_good() -> None:
    with pytest.raises(ChannelError) as caught:
        await EmailChannel(Settings(smtp_host="")).send(notice(), TO, "")
    assert caught.value.retry is False and "TASKYARD_SMTP_HOST" in caught.value.message


async def test_a_server_that_never_answers_times_out() -> None:
    with silent_server() as port:
        started = time.monotonic()
        with pytest.raises(ChannelError) as caught:
            await channel(port, smtp_timeout=0.3).send(notice(), TO, "")
    assert caught.value.retry is True and "within 0.3 s" in caught.value.message
    assert time.monotonic() - started < 5


async def test_a_server_that_went_away_is_retried() -> None:
    async with smtp_server() as mailbox:
        port = mailbox.port
    with pytest.raises(ChannelError) as caught:
        await channel(port).send(notice(), TO, "")
    assert caught.value.retry is True


def test_the_smtp_password_is_masked_like_the_servers_other_secrets() -> None:
    values = server_values(Settings(smtp_password=PASSWORD))
    assert values["TASKYARD_SMTP_PASSWORD"] == PASSWORD  # masked in logs and agents' output


def test_a_tasks_notices_through_the_outbox_are_emails_of_one_thread(
    api: httpx.Client, api_settings: Settings
) -> None:
    with (
        smtp_server_thread() as mailbox,
        process_settings(
            smtp_host="127.0.0.1",
            smtp_port=str(mailbox.port),
            smtp_from="taskyard@example.com",
            smtp_starttls="false",
        ),
    ):
        body = {"kind": "email", "name": "mail", "config": TO}
        assert api.post("/api/v1/notifications/channels", json=body).status_code == 201
        want_everything(api)
        task = new_task(api)
        change_status(api_settings, task["id"], TaskStatus.FAILED, "tests fail")
        send_all(api_settings)

    subjects = [message["Subject"] for _, _, message in mailbox.received]
    assert subjects == [f"{task['key']} created: Fix login", f"{task['key']} failed: Fix login"]
    ids = {message["Message-ID"] for _, _, message in mailbox.received}
    threads = {message["References"] for _, _, message in mailbox.received}
    assert len(ids) == 2 and len(threads) == 1
    assert "Reason: tests fail" in parts(mailbox.received[1][2])[0]


def test_the_api_refuses_an_address_it_could_not_use(api: httpx.Client) -> None:
    config = {"address": "ada@example.com\r\nBcc: victim@example.org"}
    body = {"kind": "email", "name": "mail", "config": config}
    response = api.post("/api/v1/notifications/channels", json=body)
    assert response.status_code == 400
    assert "not an email address" in response.json()["error"]["message"]
