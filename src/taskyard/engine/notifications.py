"""The notifications' loop: every worker sends what the outbox owes, none twice at once.

Each pass claims the deliveries that are due (:mod:`taskyard.services.notification_outbox`,
a lease per delivery) and hands each to its channel as a task of its own, so a receiver
that never answers holds up nothing but its own delivery, for at most
:data:`SEND_TIMEOUT`. The task whose event it is never waits for any of this: its
notices were written with the event and leave afterwards, from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from taskyard.config import Settings
from taskyard.model.errors import TaskyardError
from taskyard.model.redaction import redact_credentials
from taskyard.notify.base import ChannelError
from taskyard.notify.registry import channel_for
from taskyard.services import notification_outbox as outbox
from taskyard.services.notification_outbox import Due

log = logging.getLogger(__name__)

BATCH = 50  # deliveries claimed per pass
IN_FLIGHT = 200  # sends at once per worker; more wait for the next pass, unclaimed
SEND_TIMEOUT = 30.0  # seconds one send may take, whatever the channel does
LEASE = timedelta(seconds=SEND_TIMEOUT * 4)  # > SEND_TIMEOUT: a live claim never lapses
POLL = 0.5  # seconds between passes


class NotificationLoop:
    """Sends owed notifications until :meth:`stop`."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._stopping = asyncio.Event()
        self._sending: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()  # a send ended (room for more, a thread's next), or stop

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                try:
                    if await self.run_once():
                        continue  # a backlog: the next pass at once
                except Exception:  # the database away for a moment: the next pass tries again
                    log.warning("notifications: a pass failed", exc_info=True)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(POLL):
                        await self._wake.wait()
            if self._sending:
                await asyncio.wait(self._sending)
        finally:
            for sending in self._sending:
                sending.cancel()  # their claims lapse: the next worker sends them

    async def run_once(self) -> int:
        """Claim what is due and start sending it; returns how many were claimed."""
        room = IN_FLIGHT - len(self._sending)
        if room <= 0:
            return 0
        dues = await asyncio.to_thread(outbox.claim_due, self._settings, min(BATCH, room), LEASE)
        for due in dues:
            sending = asyncio.create_task(self._send(due))
            self._sending.add(sending)
            sending.add_done_callback(self._sent)
        return len(dues)

    def _sent(self, sending: asyncio.Task[None]) -> None:
        self._sending.discard(sending)
        self._wake.set()

    async def drain(self) -> None:
        """Wait for the sends started so far (tests; a stopping worker)."""
        while self._sending:
            await asyncio.wait(set(self._sending))

    async def _send(self, due: Due) -> None:
        settings = self._settings
        if due.unusable:
            await asyncio.to_thread(outbox.failed, settings, due, due.unusable, None, False)
            return
        try:
            channel = channel_for(due.kind)
            async with asyncio.timeout(SEND_TIMEOUT):
                result = await channel.send(due.notice, due.target, due.previous)
        except ChannelError as exc:
            await self._failed(due, exc.message, exc.status_code, exc.retry)
        except TimeoutError:
            await self._failed(due, f"No answer within {SEND_TIMEOUT:g} s.", None, True)
        except TaskyardError as exc:  # the channel kind is not installed, or its config is bad
            await self._failed(due, exc.message, None, False)
        except Exception as exc:  # a channel's bug must not stop the loop
            await self._failed(due, f"{type(exc).__name__}: {exc}", None, True)
        else:
            await asyncio.to_thread(
                outbox.sent, settings, due, result.reference, result.status_code
            )

    async def _failed(self, due: Due, error: str, code: int | None, retry: bool) -> None:
        # A channel's error may quote its target (a URL with a token in it).
        said = redact_credentials(error)
        for value in due.target.values():
            if len(value) >= 8:
                said = said.replace(value, "***")
        log.warning(
            "notification %s (%s, %s) failed (attempt may retry: %s): %s",
            due.id,
            due.kind,
            due.notice.event,
            retry,
            said,
        )
        await asyncio.to_thread(outbox.failed, self._settings, due, said, code, retry)
