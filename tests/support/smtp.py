"""A real SMTP server on loopback (aiosmtpd) for the email channel's tests.

:func:`smtp_server` runs aiosmtpd in the test's own event loop on a random port. It
offers AUTH (PLAIN, LOGIN) without TLS, as a relay on the same machine may; given
credentials, it accepts only those. Scripted replies let a test make it refuse a
recipient or the data, temporarily (4xx) or for good (5xx).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from taskyard.listen import tcp_listener


@dataclass
class Mailbox:
    port: int = 0
    credentials: tuple[str, str] | None = None
    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    rcpt_replies: list[str] = field(default_factory=list)  # next RCPT TO answers
    data_replies: list[str] = field(default_factory=list)  # next DATA answers

    async def handle_RCPT(  # aiosmtpd calls its hooks by these names
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.rcpt_replies:
            return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append((str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 Message accepted"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        self.logins.append(login)
        return AuthResult(success=self.credentials == (login, password), handled=False)


@asynccontextmanager
async def smtp_server(credentials: tuple[str, str] | None = None) -> AsyncIterator[Mailbox]:
    """aiosmtpd on ``127.0.0.1:<port>``; AUTH only when ``credentials`` are given."""
    mailbox = Mailbox(credentials=credentials)
    sock = tcp_listener("127.0.0.1", 0)
    mailbox.port = sock.getsockname()[1]
    options: dict[str, Any] = {}
    if credentials:
        options = {"authenticator": mailbox.authenticate, "auth_require_tls": False}
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(mailbox, hostname="standin.example", decode_data=False, **options),
        sock=sock,
    )
    try:
        yield mailbox
    finally:
        server.close()
        await server.wait_closed()


@contextmanager
def smtp_server_thread(credentials: tuple[str, str] | None = None) -> Iterator[Mailbox]:
    """:func:`smtp_server` in a thread of its own, for tests whose own thread blocks."""
    ready = threading.Event()
    held: dict[str, Any] = {}

    async def main() -> None:
        held["stop"], held["loop"] = asyncio.Event(), asyncio.get_running_loop()
        async with smtp_server(credentials) as mailbox:
            held["mailbox"] = mailbox
            ready.set()
            await held["stop"].wait()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(30), "the SMTP server did not start"
    try:
        yield held["mailbox"]
    finally:
        held["loop"].call_soon_threadsafe(held["stop"].set)
        thread.join(30)
