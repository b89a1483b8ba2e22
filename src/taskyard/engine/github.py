"""The engine's handling of a GitHub webhook delivery: one small workflow per delivery.

The receiver (:mod:`taskyard.api.routes.webhooks`) stores the delivery and starts
:class:`DeliveryWorkflow` under an id derived from the delivery's, so Temporal too
refuses to handle one delivery twice. Its one activity loads the delivery, hands it
to the intake (which may start a task) or to the review loop, and records the outcome
on the delivery. Retried activities see a handled delivery and stop there; the intake
itself makes creating a task once per delivery hold across retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from taskyard.model.errors import Permanent
    from taskyard.model.github import INTAKE, REVIEWS, SOURCE, GitHubEvent, route
    from taskyard.services import github_intake, github_reviews, webhooks
    from taskyard.services.github_context import IntakeContext

HANDLE_TIMEOUT = timedelta(minutes=2)
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=6,
)


def delivery_workflow_id(delivery_id: str) -> str:
    return f"github-delivery-{delivery_id}"


@dataclass
class DeliveryInput:
    delivery_id: str


@dataclass
class OutcomeInput:
    delivery_id: str
    outcome: str


@dataclass
class DeliveryActivities:
    context: IntakeContext

    def all(self) -> list[Callable[..., Any]]:
        return [self.handle_delivery, self.record_outcome]

    @activity.defn(name="handle_github_delivery")
    async def handle_delivery(self, inp: DeliveryInput) -> str:
        event, outcome = await asyncio.to_thread(self._load, inp.delivery_id)
        if outcome is not None:
            return outcome  # handled by an earlier attempt
        handler = route(event.event, event.action)
        try:
            if handler == INTAKE:
                outcome = await github_intake.handle(self.context, event)
            elif handler == REVIEWS:
                outcome = await github_reviews.handle(self.context, event)
            else:
                outcome = f"Ignored: taskyard does not act on {event.event} {event.action}."
        except Permanent as exc:
            # Retrying cannot help (a trigger names a missing template...): say so on the row.
            outcome = f"Failed: {exc}"
        await self.record_outcome(OutcomeInput(inp.delivery_id, outcome))
        return outcome

    @activity.defn(name="record_github_outcome")
    async def record_outcome(self, inp: OutcomeInput) -> None:
        await asyncio.to_thread(self._note, inp.delivery_id, inp.outcome)

    def _load(self, delivery_id: str) -> tuple[GitHubEvent, str | None]:
        with self.context.session(write=False) as session:
            return webhooks.load(session, SOURCE, delivery_id)

    def _note(self, delivery_id: str, outcome: str) -> None:
        with self.context.session() as session:
            webhooks.note(session, SOURCE, delivery_id, outcome)


@workflow.defn(name="GitHubDeliveryWorkflow")
class DeliveryWorkflow:
    @workflow.run
    async def run(self, inp: DeliveryInput) -> str:
        try:
            return await workflow.execute_activity_method(
                DeliveryActivities.handle_delivery,
                inp,
                start_to_close_timeout=HANDLE_TIMEOUT,
                retry_policy=RETRY,
            )
        except ActivityError as exc:
            cause = exc.cause
            reason = cause.message if isinstance(cause, ApplicationError) else str(cause)
            outcome = f"Failed after retries: {reason}"
            await workflow.execute_activity_method(
                DeliveryActivities.record_outcome,
                OutcomeInput(inp.delivery_id, outcome),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RETRY,
            )
            return outcome
