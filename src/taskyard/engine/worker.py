"""Builds the Temporal workers of a taskyard worker process.

Two pollers share one set of activities: the shared task queue (workflows, and
activities any worker can run: preparing a workspace where there is none yet)
and this worker's own queue (activities that need a checkout it holds; see
:mod:`taskyard.engine.home`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Interceptor, UnsandboxedWorkflowRunner, Worker

from taskyard.config import Settings
from taskyard.engine.activities import TaskActivities
from taskyard.engine.github import DeliveryActivities, DeliveryWorkflow
from taskyard.engine.log_context import LogContext
from taskyard.engine.schedules import ScheduleActivities, ScheduleFireWorkflow
from taskyard.engine.step_failures import StepFailures
from taskyard.engine.workflow import TaskWorkflow


def build_workers(
    client: Client,
    settings: Settings,
    activities: TaskActivities,
    github: DeliveryActivities,
    schedules: ScheduleActivities,
) -> list[Worker]:
    """The shared queue's worker (workflows and activities, GitHub deliveries' and
    schedules' too), then the home queue's."""
    shared = [*activities.all(), *github.all(), *schedules.all()]
    workflows: list[type] = [TaskWorkflow, DeliveryWorkflow, ScheduleFireWorkflow]
    interceptors: list[Interceptor] = [LogContext(), StepFailures(activities.store)]
    return [
        _poller(client, settings, shared, settings.task_queue, workflows, interceptors),
        _poller(client, settings, activities.all(), activities.home_queue, [], interceptors),
    ]


def _poller(
    client: Client,
    settings: Settings,
    activities: Sequence[Callable[..., Any]],
    queue: str,
    workflows: list[type],
    interceptors: list[Interceptor],
) -> Worker:
    return Worker(
        client,
        task_queue=queue,
        workflows=workflows,
        # Not in Temporal's sandbox: with every module passed through (re-importing them
        # per run cost hundreds of ms a task) it guarded nothing (a `datetime.now()` in a
        # workflow ran), and still cost a few ms of CPU at each step of a task. The guard
        # against non-deterministic calls runs where it can: every recorded history
        # replays under the sandbox's default restrictions (tests/engine/test_replay.py).
        workflow_runner=UnsandboxedWorkflowRunner(),
        activities=activities,
        interceptors=interceptors,
        max_concurrent_activities=200,
        # Temporal sends a heartbeat at most every 0.8 heartbeat timeouts by default,
        # which leaves a busy worker or server 2 s of a 10 s timeout: under a burst,
        # live activities timed out, and their retries made the burst worse.
        max_heartbeat_throttle_interval=timedelta(seconds=settings.heartbeat_timeout / 4),
        # On a stop, running activities get this long to finish before they are
        # cancelled (their sandboxes killed); a cancelled turn is retried by
        # Temporal: on this worker once it is back, or moved to another.
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_shutdown_seconds),
    )
