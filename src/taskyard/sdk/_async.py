"""The client: :class:`AsyncClient` and its ``tasks`` namespace."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Sequence
from types import TracebackType
from typing import TypeVar, Unpack

import anyio
import httpx

from taskyard.sdk import _calls as calls
from taskyard.sdk._async_admin import (
    AsyncGitHubTriggers,
    AsyncIntakeSources,
    AsyncNotifications,
    AsyncOrganizations,
    AsyncSchedules,
    AsyncSecrets,
    AsyncTeams,
    AsyncTemplates,
    AsyncTokens,
    AsyncUsers,
    AsyncWorkflows,
)
from taskyard.sdk._models import (
    FINAL_STATUSES,
    Created,
    Event,
    EventPage,
    Task,
    TaskFilters,
    TaskOptions,
    TaskPage,
)
from taskyard.sdk._wire import (
    RECONNECT_ATTEMPTS,
    Call,
    SSEDecoder,
    api_error,
    backoff,
    check_deadline,
    connection_error,
    default_headers,
    needs_tls,
    resolve_token,
    resolve_url,
    stream_timeout,
)
from taskyard.sdk.errors import TaskyardConnectionError

T = TypeVar("T")


class AsyncClient:
    """A client of the taskyard REST API.

    Args:
        url: Base URL of the server; defaults to ``TASKYARD_URL``, then
            ``http://127.0.0.1:8420``.
        token: API token; defaults to ``TASKYARD_TOKEN``.
        transport: An ``httpx`` transport to send requests through instead of the
            network (``httpx.MockTransport``, or an in-process app's in tests).
        timeout: Seconds to wait for each ordinary request.

    Use it as a context manager, or call :meth:`aclose`, to release its connections.
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
        self.github_triggers = AsyncGitHubTriggers(self)
        self.schedules = AsyncSchedules(self)
        self.notifications = AsyncNotifications(self)
        self.intake_sources = AsyncIntakeSources(self)

    async def _send(self, call: Call[T]) -> T:
        """Send one prepared call; raise a :class:`TaskyardAPIError` on 4xx/5xx."""
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
        self,
        key: str,
        after: int = 0,
        kinds: Sequence[str] | None = None,
        deadline: float | None = None,
    ) -> AsyncGenerator[Event]:
        """Events of ``key`` after ``after``, live, until the server says the task ended.

        A stream that breaks after it was established is resumed after the last event
        seen (a proxy's idle cut, a server restart); ``deadline`` is a ``time.monotonic()``
        value past which :class:`TimeoutError` is raised.
        """
        last, failures, connected = after, 0, False
        while True:
            try:
                async with self._http.stream(
                    "GET",
                    calls.task_path(key, "events"),
                    headers=calls.SSE_HEADERS,
                    params=calls.events_params(last, kinds),
                    timeout=stream_timeout(deadline),
                ) as response:
                    if response.is_error:
                        await response.aread()
                        raise api_error(response)
                    connected, decoder = True, SSEDecoder()
                    async for line in response.aiter_lines():
                        check_deadline(deadline)
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
                check_deadline(deadline)  # a read timing out at the deadline is the deadline
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
    """``client.tasks``: create tasks, read them and their events, act on them."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(
        self, *, title: str, repository: str, run: bool = False, **options: Unpack[TaskOptions]
    ) -> Task:
        """Create a task; it waits in ``queued`` until :meth:`start` unless ``run`` is true.

        Args:
            title: One line saying what to do.
            repository: ``org/repo``, or an absolute path / ``file://`` URL of a local repo.
            run: Start the task at once (what :meth:`create_and_run` does).
            **options: Any of :class:`TaskOptions`: ``description`` (the agent's
                instructions), ``team``, ``origin`` (default ``"sdk"``), ``origin_context``,
                ``creator``, ``reviewers`` (usernames asked to review it), ``template``,
                ``template_version``, ``agent``, ``parameters``, ``workflow``, ``base_branch``.
        """
        return await self._client._send(calls.create_task(title, repository, run, options))

    async def create_and_run(
        self, *, title: str, repository: str, **options: Unpack[TaskOptions]
    ) -> Task:
        """Create a task and start it at once; see :meth:`create` for the arguments."""
        return await self.create(title=title, repository=repository, run=True, **options)

    async def create_in_thread(
        self,
        thread: str,
        *,
        title: str,
        repository: str,
        run: bool = True,
        **options: Unpack[TaskOptions],
    ) -> Created:
        """Create a task on ``thread`` unless the organization has an open one there.

        A thread names the conversation a task answers (``github:acme/shop#12``). While a
        task of the thread is open, its description (the title when it has none) goes to
        that task as a message, queued if the agent is busy, and no task is made; once it
        ends, the next call starts a new task. Two calls at once make one task. The other
        arguments are :meth:`create`'s, but the task runs unless ``run`` is false.

        Returns:
            ``(task, created)``: the new task and ``True``, or the open task and ``False``.
        """
        call = calls.create_in_thread(thread, title, repository, run, options)
        return await self._client._send(call)

    async def list(
        self, *, limit: int = 50, before: int | None = None, **filters: Unpack[TaskFilters]
    ) -> TaskPage:
        """One page of tasks, newest first, filtered by any of :class:`TaskFilters`
        (``status``, ``team``, ``origin``, ``repository``, ``creator``)."""
        return await self._client._send(calls.list_tasks(filters, limit, before))

    async def iter_all(
        self, *, page_size: int = 100, **filters: Unpack[TaskFilters]
    ) -> AsyncIterator[Task]:
        """Every matching task, newest first, fetching pages as they are needed."""
        before: int | None = None
        while True:
            page = await self.list(limit=page_size, before=before, **filters)
            for task in page["items"]:
                yield task
            if page["next_before"] is None:
                return
            before = page["next_before"]

    async def get(self, key: str) -> Task:
        """A task by key (``TY-42``) or id, with its status history and pull requests."""
        return await self._client._send(calls.get_task(key))

    async def events(
        self, key: str, after: int = 0, *, kinds: Sequence[str] | None = None, limit: int = 1000
    ) -> EventPage:
        """The task's events with an id above ``after`` (at most ``limit``), oldest first."""
        return await self._client._send(calls.list_events(key, after, kinds, limit))

    def follow(
        self, key: str, after: int = 0, *, kinds: Sequence[str] | None = None
    ) -> AsyncGenerator[Event]:
        """Yield the task's events after ``after``, live, until the task ends.

        Past events come first, then new ones as they happen. A stream that breaks is
        resumed after the last event yielded. Call ``aclose()`` on the generator (or
        break out of the loop) to hang up early.

        Args:
            key: The task's key or id.
            after: Only events with a higher id (0: from the start).
            kinds: Only events of these kinds (``["status", "output"]``).
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
        """Wait until the task is in one of ``statuses`` (and ``stage``, if given).

        It follows the task's live status events (no polling) and returns the task as
        :meth:`get` does. It also returns when the task ends in another status, since it
        cannot get anywhere else then: check ``task["status"]``. ``on_change(status,
        stage)`` is called with where the task is, then at every change (a command line
        shows progress with it).

        Raises:
            TimeoutError: ``timeout`` seconds passed first (no read of the live stream
                outlasts them).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        wanted = frozenset(statuses)
        after, history = 0, []
        while True:  # the status history so far: where the task is now, and from where to follow
            page = await self.events(key, after, kinds=calls.STATE_KINDS, limit=5000)
            history += page["items"]
            after = page["next_after"]
            if len(page["items"]) < 5000:
                break
        state = calls.state_of(history)
        calls.report(on_change, state)
        if not calls.settled(state, wanted, stage):
            stream = self._client._stream_events(key, after, calls.STATE_KINDS, deadline)
            try:
                async for event in stream:
                    state = calls.report(on_change, calls.state_of([event], *state), state)
                    if calls.settled(state, wanted, stage):
                        break
            finally:
                await stream.aclose()  # hang up now rather than when the generator is collected
        return await self.get(key)

    async def send(self, key: str, text: str) -> Task:
        """Send the agent a message; it is delivered as the agent's next turn."""
        return await self._client._send(calls.task_action(key, "messages", {"text": text}))

    async def approve(self, key: str, comment: str = "") -> Task:
        """Approve the stage the task waits on, so it goes on to the next."""
        return await self._client._send(calls.task_action(key, "approve", {"comment": comment}))

    async def request_changes(self, key: str, text: str, stage: str = "") -> Task:
        """Send the task back (to ``stage``, or the gate's default) with ``text`` as its prompt."""
        body = {"text": text, "stage": stage}
        return await self._client._send(calls.task_action(key, "request-changes", body))

    async def cancel(self, key: str) -> Task:
        """Stop the task wherever it is."""
        return await self._client._send(calls.task_action(key, "cancel"))

    async def start(self, key: str) -> Task:
        """Start a task created with ``run=False``."""
        return await self._client._send(calls.task_action(key, "start"))

    async def set_reviewers(self, key: str, reviewers: Sequence[str]) -> Task:
        """Make ``reviewers`` (usernames) the task's reviewers, in place of those it had.

        They hear of the task as its creator does, by their own notification preferences;
        ``[]`` leaves it none.
        """
        return await self._client._send(calls.set_reviewers(key, reviewers))

    async def diff(self, key: str) -> str:
        """The task branch's changes against its base, as a unified diff."""
        return await self._client._send(calls.diff(key))
