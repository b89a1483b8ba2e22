"""Email over SMTP (aiosmtplib): one message per notice, to the user's ``address``.

The server is the administrator's (``TASKYARD_SMTP_*``). Port 465 speaks TLS from the
first byte; any other port requires STARTTLS unless ``TASKYARD_SMTP_STARTTLS`` is false.
SMTP says itself whether trying again may help: a 4xx reply is temporary and retried,
a 5xx one is permanent and reported with what to fix. The password is only ever handed
to aiosmtplib, never put in a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import aiosmtplib

from taskyard.config import Settings, get_settings
from taskyard.notify.base import ChannelError, Notice, Sent
from taskyard.notify.email_message import address, compose, sender

IMPLICIT_TLS_PORT = 465


class EmailChannel:
    kind: ClassVar[str] = "email"

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings

    async def send(self, notice: Notice, target: Mapping[str, str], previous: str) -> Sent:
        settings = self._settings or get_settings()
        if not settings.smtp_host:
            raise ChannelError(
                "Email is not set up on this server: an administrator sets "
                "TASKYARD_SMTP_HOST and TASKYARD_SMTP_FROM (see docs/notifications.md).",
                retry=False,
            )
        try:
            origin = sender(settings.smtp_from)
            to = address(target.get("address", ""))
        except ValueError as exc:
            raise ChannelError(str(exc), retry=False) from exc
        message = compose(notice, origin, to)
        implicit_tls = settings.smtp_port == IMPLICIT_TLS_PORT
        try:
            await aiosmtplib.send(
                message,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username or None,
                password=settings.smtp_password or None,
                use_tls=implicit_tls,
                start_tls=settings.smtp_starttls and not implicit_tls,
                timeout=settings.smtp_timeout,
            )
        except aiosmtplib.SMTPException as exc:
            raise failure(exc, settings) from exc
        return Sent(reference=str(message["Message-ID"]))


def failure(exc: aiosmtplib.SMTPException, settings: Settings) -> ChannelError:
    """What a failed exchange means for the user, and whether to try again."""
    server = f"{settings.smtp_host}:{settings.smtp_port}"
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):
        return ChannelError(
            f"The SMTP server {server} did not answer within {settings.smtp_timeout:g} s.",
            retry=True,
        )
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        exc = exc.recipients[0]  # one recipient per message
    if type(exc) in (aiosmtplib.SMTPException, aiosmtplib.SMTPNotSupported):
        # aiosmtplib's own refusals to go on: the server lacks STARTTLS or AUTH.
        return ChannelError(
            f"The SMTP server {server} cannot do what taskyard is set to ask "
            f"({exc.message}): check TASKYARD_SMTP_PORT, TASKYARD_SMTP_STARTTLS and "
            "whether the server wants TASKYARD_SMTP_USERNAME.",
            retry=False,
        )
    if not isinstance(exc, aiosmtplib.SMTPResponseException):  # the connection failed
        return ChannelError(f"The SMTP server {server} failed: {exc.message}"[:500], retry=True)
    said = f"{exc.code} {exc.message}"[:300]
    retry = 400 <= exc.code < 500
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        fix = "check TASKYARD_SMTP_USERNAME and TASKYARD_SMTP_PASSWORD"
    elif isinstance(exc, aiosmtplib.SMTPRecipientRefused):
        fix = f"check the address {exc.recipient} in your notification settings"
    elif isinstance(exc, aiosmtplib.SMTPSenderRefused):
        fix = "check TASKYARD_SMTP_FROM: the server does not let taskyard send as it"
    else:
        fix = "see the server's reply"
    verdict = "for now" if retry else "for good"
    return ChannelError(
        f"The SMTP server {server} refused the email {verdict} ({said}): {fix}.", retry=retry
    )
