"""Builds the Temporal worker that runs task workflows and their activities."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from taskyard.config import Settings
from taskyard.engine.activities import TaskActivities
from taskyard.engine.log_context import LogContext
from taskyard.engine.workflow import TaskWorkflow


def build_worker(
    client: Client, settings: Settings, activities: TaskActivities, task_queue: str | None = None
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=[TaskWorkflow],
        # The workflow code is deterministic by construction (no I/O outside
        # activities); re-importing every module per run in the sandbox cost
        # hundreds of milliseconds per task.
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_all_modules()
        ),
        activities=activities.all(),
        interceptors=[LogContext()],
        max_concurrent_activities=200,
        # On a stop, running activities get this long to finish before they are
        # cancelled (their sandboxes killed); a cancelled turn is retried by
        # Temporal, on this worker once it is back or on another.
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_shutdown_seconds),
    )
