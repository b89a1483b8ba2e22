"""Code written for the seed platform's ``Task.create_and_run`` runs on the SDK.

The two integration examples of that platform's documentation (a task from an error
group, a task from a support ticket), kept as they are written there: only the import
changed (``Task`` is a client's ``tasks``), and the repository is a local one, so the
tasks run on the real engine without the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from taskyard.db.models import Team
from taskyard.db.session import session_scope
from taskyard.sdk import Client, TaskyardAPIError
from tests.conftest import ADMIN_TOKEN
from tests.support.server import RunningServer

SCRIPTED = "name: scripted\nsandbox: none\nagent:\n  kind: command\n  command: echo working\n"


@dataclass
class ErrorGroup:
    title: str
    message: str
    count: int
    first_seen: str
    last_seen: str
    stack_trace: str


@dataclass
class Ticket:
    subject: str
    number: int
    customer_name: str
    priority: str
    description: str
    repository: str


@pytest.fixture
def Task(server: RunningServer) -> object:
    """The only change to the examples: where ``Task`` comes from."""
    assert server.http.post("/api/v1/templates", content=SCRIPTED).status_code == 201
    with session_scope(server.settings.resolved_database_url) as session:
        for team in session.query(Team):
            team.default_template = "scripted"  # the examples name no template
    client = Client(server.url, ADMIN_TOKEN)
    yield client.tasks
    client.close()


def test_an_error_tracking_task(Task, server: RunningServer, remote_repo: Path) -> None:
    repository = str(remote_repo)

    def create_task_from_error(error_group, team, user_id):  # type: ignore[no-untyped-def]
        task = Task.create_and_run(
            team=team,
            title=f"Fix: {error_group.title}",
            description=f"""
            Error: {error_group.message}
            Occurrences: {error_group.count}
            First seen: {error_group.first_seen}
            Last seen: {error_group.last_seen}

            Stack trace:
            {error_group.stack_trace}
            """,
            origin_product="error_tracking",
            user_id=user_id,
            repository=repository,
        )
        return task

    group = ErrorGroup(
        "TypeError in cart", "unsupported operand", 42, "2025-01-01", "2025-01-02", "cart.py:7"
    )
    task = create_task_from_error(group, "TY", "admin")
    assert (task["origin"], task["creator"], task["team"]) == ("error_tracking", "admin", "TY")
    assert task["title"] == "Fix: TypeError in cart" and "Occurrences: 42" in task["description"]
    waiting = Task.wait(task["key"], statuses=("waiting",), timeout=60)
    assert (waiting["status"], waiting["stage"]) == ("waiting", "plan")
    Task.cancel(task["key"])


def test_a_support_queue_task(Task, server: RunningServer, remote_repo: Path) -> None:
    def extract_repository_from_ticket(ticket):  # type: ignore[no-untyped-def]
        return ticket.repository

    def create_task_from_support_ticket(ticket, team, user_id):  # type: ignore[no-untyped-def]
        repository = extract_repository_from_ticket(ticket)

        task = Task.create_and_run(
            team=team,
            title=f"Support: {ticket.subject}",
            description=f"""
            Ticket: {ticket.number}
            Customer: {ticket.customer_name}
            Priority: {ticket.priority}

            {ticket.description}
            """,
            origin_product="support_queue",
            user_id=user_id,
            repository=repository,
        )
        return task

    ticket = Ticket("Export is empty", 1234, "Acme", "high", "CSV has no rows", str(remote_repo))
    task = create_task_from_support_ticket(ticket, "TY", "admin")
    assert (task["origin"], task["creator"]) == ("support_queue", "admin")
    assert Task.wait(task["key"], statuses=("waiting",), timeout=60)["stage"] == "plan"
    Task.cancel(task["key"])

    # What the seed platform's own error handling catches there, a clear error here.
    with pytest.raises(TaskyardAPIError, match="Unknown user '7'"):
        create_task_from_support_ticket(ticket, "TY", 7)
    with pytest.raises(TypeError, match="another name for 'origin'"):
        Task.create(title="t", repository="a/b", origin="cli", origin_product="support_queue")
