"""The gateway's ledger on the database: is the task still live, its keys, usage, state.

Each method opens its own short session and runs in one of the gateway's threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taskyard.config import Settings
from taskyard.db.models import Task
from taskyard.db.session import session_scope
from taskyard.gateway.credentials import Grant
from taskyard.gateway.ledger import Stopped, TaskEnded, Unpriced
from taskyard.gateway.providers import Provider
from taskyard.model import prices
from taskyard.model.inputs import mend_text
from taskyard.model.status import FINAL
from taskyard.services import events, runs, stops, task_notices
from taskyard.services.model_keys import real_key
from taskyard.services.tasks import set_agent_state

MESSAGE_LIMIT = 500  # a status line, not a report


def _live_task(task: Task | None) -> Task:
    if task is None or task.status in FINAL:
        raise TaskEnded()
    stop = stops.stop_of(task)
    if stop is not None:
        raise Stopped(stop.refusal)
    return task


@dataclass
class DatabaseLedger:
    """:class:`~taskyard.gateway.ledger.Ledger` on taskyard's database."""

    settings: Settings

    def upstream_key(self, grant: Grant, provider: Provider, model: str) -> str:
        """The real key to forward a call to ``model`` with, if the task may still call.

        Read for every request rather than kept: a rotated secret takes effect at once,
        and a task that ended, was cancelled or spent a budget (whichever process decided
        it) stops its credentials here, before its next call reaches the provider.

        Raises:
            TaskEnded: the task is gone or finished.
            Stopped: a stop is recorded, or the task's totals reach a budget now.
            Unpriced: the task has a cost budget and ``model`` no price.
        """
        url = self.settings.resolved_database_url
        with session_scope(url, write=False) as session:
            task = _live_task(session.get(Task, grant.task_id))
            reached = stops.budget_reached(
                grant.budget, task.input_tokens + task.output_tokens, task.cost_usd
            )
            if not reached:
                if (
                    model
                    and grant.budget.max_cost_usd is not None
                    and prices.price_of(provider.name, model, grant.prices) is None
                ):
                    raise Unpriced(
                        f"No price is known for model '{model}', so the max_cost_usd budget "
                        "cannot be kept: add it under the template's 'prices'."
                    )
                return real_key(session, self.settings, grant.org_id, provider)
        # Spent before this call (by earlier turns, or calls that raced): refuse it, for good.
        with session_scope(url) as session:
            row = session.get(Task, grant.task_id)
            assert row is not None
            raise Stopped(stops.request_stop(session, row, stops.Stop("budget", reached)).refusal)

    def record_call(self, grant: Grant, usage: prices.Usage, model: str) -> None:
        """Book one model call on its task: a ``usage`` event, the task's totals, its budgets.

        The call that reaches a budget records the stop: the turn polling for it kills the
        agent, and the gateway refuses the task's next call.
        """
        price = prices.price_of(grant.provider, model, grant.prices)
        cost = prices.cost_of(usage, price) if price is not None else 0.0
        data: dict[str, Any] = {
            "provider": grant.provider,
            "model": model,
            **usage.as_dict(),
            "cost_usd": cost,
            "priced": price is not None,
        }
        with session_scope(self.settings.resolved_database_url) as session:
            task = session.get(Task, grant.task_id)
            if task is None:
                return
            events.append(session, task.id, "usage", data, run_id=grant.run_id or None)
            tokens, spent = runs.add_usage(session, task.id, data)
            before = (tokens - usage.input_tokens - usage.output_tokens, spent - cost)
            task_notices.budget_passed(session, task, grant.budget, before, (tokens, spent))
            reached = stops.budget_reached(grant.budget, tokens, spent)
            if reached and task.status not in FINAL:
                stops.request_stop(session, task, stops.Stop("budget", reached))

    def report_state(self, grant: Grant, state: str, message: str) -> None:
        """Record a state the agent reported itself: an ``agent`` event and the task's fields.

        Raises:
            TaskEnded: the task is gone, finished or stopped.
        """
        message = mend_text(grant.redactor.text(message)[:MESSAGE_LIMIT])
        with session_scope(self.settings.resolved_database_url) as session:
            task = _live_task(session.get(Task, grant.task_id))
            data = {"type": "state", "state": state, "message": message, "reported": True}
            events.append(session, task.id, "agent", data, run_id=grant.run_id or None)
            set_agent_state(session, task, state, message)
