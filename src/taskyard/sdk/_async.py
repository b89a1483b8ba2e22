"""The async client: :class:`AsyncClient` and its ``tasks`` namespace (mirrors ``_sync``)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Sequence
from types import TracebackType
from typing import TypeVar, Unpack

import anyio
import httpx

from taskyard.sdk import _calls as calls
from taskyard.sdk._async_admin import (
    AsyncOrganizations,
    AsyncSecrets,
    AsyncTeams,
    AsyncTemplates,
    AsyncTokens,
    AsyncUsers,
    AsyncWorkflows,
)
from taskyard.sdk._models import FINAL_STATUSES, Event, EventPage, Task, TaskOptions, TaskPage
from taskyard.sdk._wire import (
    RECONNECT_ATTEMPTS,
    STREAM_READ_TIMEOUT,
    Call,
    SSEDecoder,
    TaskyardConnectionError,
    api_error,
    backoff,
    connection_error,
    default_headers,
    needs_tls,
    resolve_token,
    resolve_url,
)

T = TypeVar("T")


class AsyncClient:
    """The async twin of :class:`~taskyard.sdk.Client`: the same namespaces, awaited.

    Args:
        url: Base URL of the server; defaults to ``TASKYARD_URL``, then
            ``http://127.0.0.1:8420``.
        token: API token; defaults to ``TASKYARD_TOKEN``.
        transport: An ``httpx`` async transport (``httpx.ASGITransport(app)`` in tests).
        timeout: Seconds to wait for each ordinary request.

    Use ``async with``, or await :meth:`aclose`, to release its connections.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.url = resolve_url(url)
        self._http = httpx.AsyncClient(
            base_url=self.url,
            headers=default_headers(resolve_token(token)),
            transport=transport,
            timeout=timeout,
            verify=needs_tls(self.url),
        )
        self.tasks = AsyncTasks(self)
        self.workflows = AsyncWorkflows(self)
        self.templates = AsyncTemplates(self)
        self.users = AsyncUsers(self)
        self.tokens = AsyncTokens(self)
        self.secrets = AsyncSecrets(self)
        self.teams = AsyncTeams(self)
        self.organizations = AsyncOrganizations(self)

    async def _send(self, call: Call[T]) -> T:
        """Send one prepared call; raise :class:`TaskyardAPIError` on 4xx/5xx."""
        try:
            response = await self._http.request(
                call.method,
                call.path,
                params=call.params,
                json=call.json,
                content=call.content,
                headers=call.headers,
            )
        except httpx.TransportError as exc:
            raise connection_error(self.url, exc) from exc
        return call.finish(response)

    async def _stream_events(
        self, key: str, after: int = 0, kinds: Sequence[str] | None = None
    ) -> AsyncGenerator[Event, None]:
        """Events of ``key`` after ``after``, live, until the server says the task ended.

        Resumes a stream that breaks after it was established, after the last event seen.
        """
        last, failures, connected = after, 0, False
        timeout = httpx.Timeout(30.0, read=STREAM_READ_TIMEOUT)
        while True:
            try:
                async with self._http.stream(
                    "GET",
                    calls.task_path(key, "events"),
                    headers=calls.SSE_HEADERS,
                    params=calls.events_params(last, kinds),
                    timeout=timeout,
                ) as response:
                    if response.is_error:
                        await response.aread()
                        raise api_error(response)
                    connected, decoder = True, SSEDecoder()
                    async for line in response.aiter_lines():
                        frame = decoder.feed(line)
                        if frame is None:
                            continue
                        if frame.event == "end":
                            return
                        event: Event = frame.json()
                        last, failures = event["id"], 0
                        yield event
                problem: Exception = TaskyardConnectionError(
                    f"The event stream of {key} keeps closing before the task ends."
                )
            except httpx.TransportError as exc:
                if not connected:
                    raise connection_error(self.url, exc) from exc
                problem = connection_error(self.url, exc)
            failures += 1
            if failures > RECONNECT_ATTEMPTS:
                raise problem
            await anyio.sleep(backoff(failures))

    async def aclose(self) -> None:
        """Close the connections this client holds."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncClient(url={self.url!r})"


class AsyncTasks:
    """``client.tasks`` of :class:`AsyncClient`; see :class:`~taskyard.sdk.Tasks`."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(
        self, *, title: str, repository: str, run: bool = False, **options: Unpack[TaskOptions]
    ) -> Task:
        """Create a task; it waits in ``queued`` until :meth:`start` unless ``run`` is true."""
        return await self._client._send(calls.create_task(title, repository, run, options))

    async def create_and_run(
        self, *, title: str, repository: str, **options: Unpack[TaskOptions]
    ) -> Task:
        """Create a task and start it at once."""
        return await self.create(title=title, repository=repository, run=True, **options)

    async def list(
        self,
        *,
        status: str | None = None,
        team: str | None = None,
        origin: str | None = None,
        repository: str | None = None,
        creator: str | None = None,
        limit: int = 50,
        before: int | None = None,
    ) -> TaskPage:
        """One page of tasks, newest first."""
        call = calls.list_tasks(status, team, origin, repository, creator, limit, before)
        return await self._client._send(call)

    async def iter_all(
        self,
        *,
        status: str | None = None,
        team: str | None = None,
        origin: str | None = None,
        repository: str | None = None,
        creator: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Task]:
        """Every matching task, newest first, fetching pages as they are needed."""
        before: int | None = None
        while True:
            page = await self.list(
                status=status,
                team=team,
                origin=origin,
                repository=repository,
                creator=creator,
                limit=page_size,
                before=before,
            )
            for task in page["items"]:
                yield task
            if page["next_before"] is None:
                return
            before = page["next_before"]

    async def get(self, key: str) -> Task:
        """A task by key or id, with its status history and pull requests."""
        return await self._client._send(calls.get_task(key))

    async def events(
        self, key: str, after: int = 0, *, kinds: Sequence[str] | None = None, limit: int = 1000
    ) -> EventPage:
        """The task's events with an id above ``after``, oldest first."""
        return await self._client._send(calls.list_events(key, after, kinds, limit))

    def follow(
        self, key: str, after: int = 0, *, kinds: Sequence[str] | None = None
    ) -> AsyncGenerator[Event, None]:
        """Yield the task's events after ``after``, live, until the task ends (``async for``).

        Call ``await stream.aclose()`` to hang up early.
        """
        return self._client._stream_events(key, after, kinds)

    async def wait(
        self,
        key: str,
        statuses: Iterable[str] = FINAL_STATUSES,
        *,
        stage: str | None = None,
        timeout: float | None = None,
        on_change: Callable[[str, str], object] | None = None,
    ) -> Task:
        """Wait until the task is in one of ``statuses`` (and ``stage``), or has ended.

        ``on_change(status, stage)`` is called with where the task is, then at every
        change (a command line shows progress with it).

        Raises:
            TimeoutError: ``timeout`` seconds passed first.
        """
        with anyio.fail_after(timeout):
            wanted = frozenset(statuses)
            after, history = 0, []
            while True:
                page = await self.events(key, after, kinds=calls.STATE_KINDS, limit=5000)
                history += page["items"]
                after = page["next_after"]
                if len(page["items"]) < 5000:
                    break
            state = calls.state_of(history)
            calls.report(on_change, state)
            if not calls.settled(state, wanted, stage):
                stream = self._client._stream_events(key, after, calls.STATE_KINDS)
                try:
                    async for event in stream:
                        state = calls.report(on_change, calls.state_of([event], *state), state)
                        if calls.settled(state, wanted, stage):
                            break
                finally:
                    # Close the stream here, inside the deadline, not whenever the
                    # garbage collector gets to the abandoned generator.
                    await stream.aclose()
            return await self.get(key)

    async def send(self, key: str, text: str) -> Task:
        """Send the agent a message; it is delivered as the agent's next turn."""
        return await self._client._send(calls.task_action(key, "messages", {"text": text}))

    async def approve(self, key: str, comment: str = "") -> Task:
        """Approve the stage the task waits on."""
        return await self._client._send(calls.task_action(key, "approve", {"comment": comment}))

    async def request_changes(self, key: str, text: str, stage: str = "") -> Task:
        """Send the task back with ``text`` as its prompt."""
        body = {"text": text, "stage": stage}
        return await self._client._send(calls.task_action(key, "request-changes", body))

    async def cancel(self, key: str) -> Task:
        """Stop the task wherever it is."""
        return await self._client._send(calls.task_action(key, "cancel"))

    async def start(self, key: str) -> Task:
        """Start a task created with ``run=False``."""
        return await self._client._send(calls.task_action(key, "start"))

    async def diff(self, key: str) -> str:
        """The task branch's changes against its base, as a unified diff."""
        return await self._client._send(calls.diff(key))
