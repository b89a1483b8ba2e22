"""What a taskyard process runs besides HTTP: storage, Temporal and a worker.

``serve`` and ``worker`` both enter a :class:`Runtime`; tests do too. On entry it
refuses a scale-out process without the shared secret key (before anything starts),
migrates the database, creates the first organization and admin token once,
starts the embedded Temporal dev server unless a cluster address is set,
connects, starts the worker (unless told not to) with its loops of tracking comments
(:mod:`taskyard.engine.tracking`) and notifications (:mod:`taskyard.engine.notifications`),
and restarts any task whose workflow was never
started, and the handling of any webhook delivery stored but never handled (a crash
between commit and start loses nothing); it puts every schedule in Temporal, so a
fresh Temporal or a restored database converge.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from types import TracebackType

from temporalio.client import Client
from temporalio.worker import Worker

from taskyard import telemetry
from taskyard.config import Settings
from taskyard.db.session import migrate, session_scope
from taskyard.engine.activities import TaskActivities
from taskyard.engine.client import Engine
from taskyard.engine.devserver import DevServer
from taskyard.engine.github import DeliveryActivities
from taskyard.engine.home import home_queue
from taskyard.engine.notifications import NotificationLoop
from taskyard.engine.schedules import ScheduleActivities
from taskyard.engine.tracking import TrackingLoop, stop_loop
from taskyard.engine.worker import build_workers
from taskyard.gateway import Gateway
from taskyard.model.github import SOURCE
from taskyard.model.schedule import ScheduleDef
from taskyard.model.status import TaskStatus
from taskyard.services import ended, schedules, webhooks
from taskyard.services.bootstrap import Bootstrap, ensure_bootstrapped
from taskyard.services.gateway_ledger import DatabaseLedger
from taskyard.services.github_context import IntakeContext
from taskyard.services.secrets import require_shared_key
from taskyard.services.task_store import TaskStore
from taskyard.workspaces import retention

log = logging.getLogger(__name__)


class Runtime:
    def __init__(
        self, settings: Settings, *, worker: bool | None = None, bootstrap: bool = True
    ) -> None:
        self.settings = settings
        self.run_worker = settings.run_worker if worker is None else worker
        self.bootstrap_enabled = bootstrap
        self.devserver: DevServer | None = None
        self.client: Client | None = None
        self.workers: list[Worker] = []
        self.bootstrap = Bootstrap(created=False, admin_token="")
        self._worker_tasks: list[asyncio.Task[None]] = []
        self.gateway: Gateway | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._starter: asyncio.Task[None] | None = None
        self._tracking: tuple[TrackingLoop, asyncio.Task[None]] | None = None
        self._notifying: tuple[NotificationLoop, asyncio.Task[None]] | None = None
        self._stop_metrics: Callable[[], None] | None = None

    @property
    def engine(self) -> Engine:
        assert self.client is not None
        return Engine(self.client, self.settings, self.settings.task_queue)

    async def __aenter__(self) -> Runtime:
        require_shared_key(self.settings)
        # Activities and streams do their database work in threads; the default
        # pool (cores + 4) is far too small for many tasks at once.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=64, thread_name_prefix="taskyard")
        )
        url = self.settings.resolved_database_url
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(migrate, url)
        if self.bootstrap_enabled:
            self.bootstrap = await asyncio.to_thread(self._bootstrap)
        address = self.settings.temporal_address
        if not address:
            self.devserver = DevServer(self.settings.data_dir / "temporal.db")
            await self.devserver.start()
            address = self.devserver.address
        self.client = await Client.connect(address, namespace=self.settings.temporal_namespace)
        if self.run_worker:
            # Before the worker starts, so its activities inherit it as their gateway.
            self.gateway = Gateway(self.settings, DatabaseLedger(self.settings))
            await self.gateway.start()
            activities = TaskActivities(
                self.settings,
                TaskStore(self.settings),
                self.gateway,
                home_queue(self.settings),
                wake=self.engine.wake,
            )
            github = DeliveryActivities(IntakeContext(self.settings, self.engine))
            fires = ScheduleActivities(self.settings, self.engine, self.engine.schedules)
            self.workers = build_workers(self.client, self.settings, activities, github, fires)
            self._worker_tasks = [asyncio.create_task(w.run()) for w in self.workers]
            # Each worker machine has its own data dir: each sweeps its own workspaces.
            self._sweeper = asyncio.create_task(
                retention.sweep_forever(
                    self.settings, partial(ended.expired_workspaces, self.settings)
                )
            )
            tracking = TrackingLoop(self.settings)
            self._tracking = (tracking, asyncio.create_task(tracking.run()))
            notifying = NotificationLoop(self.settings)
            self._notifying = (notifying, asyncio.create_task(notifying.run()))
            if self.settings.metrics_address:
                self._stop_metrics = telemetry.serve_metrics(self.settings.metrics_address)
            await self._resume_unstarted()
        self._starter = asyncio.create_task(self._keep_starting())
        return self

    async def _keep_starting(self) -> None:
        """Start, every ``start_sweep_seconds``, the tasks whose workflow the engine could
        not start when their run was stored; what is started already is left as it is."""
        store = TaskStore(self.settings)
        every = self.settings.start_sweep_seconds
        while True:
            await asyncio.sleep(every)
            try:
                for uid, task_id, key in await asyncio.to_thread(store.unstarted, every):
                    await self.engine.start(uid, task_id, key)
            except Exception:  # the engine or the database still away: the next sweep
                log.warning("could not start the tasks waiting for the engine", exc_info=True)

    def _bootstrap(self) -> Bootstrap:
        with session_scope(self.settings.resolved_database_url) as session:
            return ensure_bootstrapped(session, self.settings.admin_token)

    async def _resume_unstarted(self) -> None:
        store = TaskStore(self.settings)
        queued = await asyncio.to_thread(store.active_task_ids, TaskStatus.QUEUED)
        for uid, task_id, key in queued:
            await self.engine.start(uid, task_id, key)
        for delivery_id in await asyncio.to_thread(self._unhandled_deliveries):
            await self.engine.handle_delivery(delivery_id)
        await self.engine.schedules.converge(await asyncio.to_thread(self._schedules))

    def _schedules(self) -> list[ScheduleDef]:
        with session_scope(self.settings.resolved_database_url, write=False) as session:
            return schedules.all_definitions(session)

    def _unhandled_deliveries(self) -> list[str]:
        with session_scope(self.settings.resolved_database_url, write=False) as session:
            return webhooks.unhandled(session, SOURCE)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stop_metrics is not None:
            self._stop_metrics()
        for loop in (self._sweeper, self._starter):
            if loop is not None:
                loop.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loop
        grace = self.settings.worker_shutdown_seconds
        loops = [loop for loop in (self._tracking, self._notifying) if loop is not None]
        await asyncio.gather(*(stop_loop(loop, running, grace) for loop, running in loops))
        # Both at once: each waits up to the shutdown time for its running activities.
        await asyncio.gather(*(w.shutdown() for w in self.workers), return_exceptions=True)
        for running in self._worker_tasks:
            with contextlib.suppress(BaseException):
                await running
        if self.gateway is not None:
            await self.gateway.stop()
        if self.devserver is not None:
            self.devserver.stop()
