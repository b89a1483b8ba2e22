"""The gateway's database work: is the task still live, its keys, its reported state.

Each function opens its own short session and is meant to run in a thread
(``asyncio.to_thread``): the gateway's event loop keeps streaming meanwhile.
"""

from __future__ import annotations

from taskyard.config import Settings
from taskyard.db.models import Task
from taskyard.db.session import session_scope
from taskyard.gateway.credentials import Grant
from taskyard.gateway.providers import Provider, real_key
from taskyard.services import events
from taskyard.services.inputs import mend_text
from taskyard.services.tasks import FINAL

MESSAGE_LIMIT = 500  # a status line, not a report


class TaskEnded(Exception):
    """The credential's task is gone or has reached a final status."""


def _live_task(task: Task | None) -> Task:
    if task is None or task.status in FINAL:
        raise TaskEnded()
    return task


def upstream_key(settings: Settings, grant: Grant, provider: Provider) -> str:
    """The real key to forward with, if the grant's task is still live.

    Read for every request rather than kept: a rotated secret takes effect at once,
    and a task that ended (completed, failed, cancelled; whichever worker ended it)
    stops its credentials here even if a turn was abandoned without revoking them.

    Raises:
        TaskEnded: the task is gone or finished.
    """
    with session_scope(settings.resolved_database_url, write=False) as session:
        _live_task(session.get(Task, grant.task_id))
        return real_key(session, settings, grant.org_id, provider)


def report_state(settings: Settings, grant: Grant, state: str, message: str) -> None:
    """Record a state the agent reported itself: an ``agent`` event and the task's fields.

    Raises:
        TaskEnded: the task is gone or finished.
    """
    message = mend_text(grant.redactor.text(message)[:MESSAGE_LIMIT])
    with session_scope(settings.resolved_database_url) as session:
        task = _live_task(session.get(Task, grant.task_id))
        data = {"type": "state", "state": state, "message": message, "reported": True}
        events.append(session, task.id, "agent", data, run_id=grant.run_id or None)
        task.agent_state, task.agent_message = state, message
