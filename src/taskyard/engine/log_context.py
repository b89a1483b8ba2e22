"""Tells every activity's log lines which task, stage, run and turn they are about.

The workflow knows its task's key; an activity's input carries only ids. So the key
travels with each activity call in a Temporal header (the context-propagation pattern of
Temporal's interceptors), and the activity side opens :func:`taskyard.logs.about` around
the activity with that key and the ids its input holds. Activities themselves stay
unaware of logging, and an activity added later is covered without a line of its own.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    Interceptor,
    StartActivityInput,
    StartLocalActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from taskyard.logs import about

HEADER = "taskyard-task-key"
IDS = ("task_id", "stage", "run_id", "turn")  # fields of the activities' input dataclasses


class LogContext(Interceptor):
    """The worker interceptor: both halves, workflow and activity."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityInbound(next)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _WorkflowInbound


class _ActivityInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        key = None
        if (payload := input.headers.get(HEADER)) is not None:
            key = activity.payload_converter().from_payload(payload, str)
        arg = input.args[0] if input.args else None
        ids = {name: getattr(arg, name, None) for name in IDS}
        with about(task=key, **ids, activity=activity.info().activity_type):
            return await super().execute_activity(input)


class _WorkflowOutbound(WorkflowOutboundInterceptor):
    key: Payload | None = None

    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle[Any]:
        if self.key is not None:
            input.headers = {**input.headers, HEADER: self.key}
        return super().start_activity(input)

    def start_local_activity(self, input: StartLocalActivityInput) -> workflow.ActivityHandle[Any]:
        if self.key is not None:
            input.headers = {**input.headers, HEADER: self.key}
        return super().start_local_activity(input)


class _WorkflowInbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        self._outbound = _WorkflowOutbound(outbound)
        super().init(self._outbound)

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        key = getattr(input.args[0], "key", None) if input.args else None
        if isinstance(key, str):
            # Headers are not part of the workflow's history checks: replaying a task
            # started before this existed is unaffected.
            self._outbound.key = workflow.payload_converter().to_payload(key)
        return await super().execute_workflow(input)
