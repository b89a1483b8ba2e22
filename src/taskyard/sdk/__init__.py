"""The Python SDK of the taskyard REST API.

Synchronous::

    from taskyard.sdk import Client

    with Client() as client:  # TASKYARD_URL and TASKYARD_TOKEN
        task = client.tasks.create_and_run(
            title="Fix the checkout crash", repository="acme/shop", team="TY",
            description="TypeError in cart.py line 42 ...", origin="error_tracking",
        )
        for event in client.tasks.follow(task["key"]):
            print(event["kind"], event["data"])
        done = client.tasks.wait(task["key"])

Async: the same with :class:`AsyncClient`, ``await`` and ``async for``.

Results are plain dicts, described by the ``TypedDict`` classes exported here. Every
failure is a :class:`taskyard.model.errors.TaskyardError`::

    TaskyardError
    ├── TaskyardAPIError          the server answered 4xx/5xx: .status, .code, .message
    └── TaskyardConnectionError   the server could not be reached

and ``tasks.wait(..., timeout=...)`` raises :class:`TimeoutError`.
"""

from typing import TYPE_CHECKING, Any

from taskyard.sdk._models import (
    FINAL_STATUSES,
    AgentKind,
    AgentOptions,
    Event,
    EventPage,
    Identity,
    NewOrganization,
    Organization,
    Secret,
    StatusEntry,
    Task,
    TaskOptions,
    TaskPage,
    Team,
    Template,
    Token,
    User,
    Workflow,
)
from taskyard.sdk._sync import Client, Tasks
from taskyard.sdk._sync_admin import (
    Organizations,
    Secrets,
    Teams,
    Templates,
    Tokens,
    Users,
    Workflows,
)
from taskyard.sdk._wire import TaskyardAPIError, TaskyardConnectionError

if TYPE_CHECKING:
    from taskyard.sdk._async import AsyncClient, AsyncTasks
    from taskyard.sdk._async_admin import (
        AsyncOrganizations,
        AsyncSecrets,
        AsyncTeams,
        AsyncTemplates,
        AsyncTokens,
        AsyncUsers,
        AsyncWorkflows,
    )

_ASYNC = {"AsyncClient", "AsyncTasks"}
_ASYNC_ADMIN = {
    "AsyncOrganizations",
    "AsyncSecrets",
    "AsyncTeams",
    "AsyncTemplates",
    "AsyncTokens",
    "AsyncUsers",
    "AsyncWorkflows",
}


def __getattr__(name: str) -> Any:
    # The async client (and anyio under it) loads on first use: the command line, which
    # only needs the sync one, starts that much sooner.
    if name in _ASYNC:
        from taskyard.sdk import _async

        return getattr(_async, name)
    if name in _ASYNC_ADMIN:
        from taskyard.sdk import _async_admin

        return getattr(_async_admin, name)
    raise AttributeError(f"module 'taskyard.sdk' has no attribute {name!r}")


__all__ = [
    "FINAL_STATUSES",
    "AgentKind",
    "AgentOptions",
    "AsyncClient",
    "AsyncOrganizations",
    "AsyncSecrets",
    "AsyncTasks",
    "AsyncTeams",
    "AsyncTemplates",
    "AsyncTokens",
    "AsyncUsers",
    "AsyncWorkflows",
    "Client",
    "Event",
    "EventPage",
    "Identity",
    "NewOrganization",
    "Organization",
    "Organizations",
    "Secret",
    "Secrets",
    "StatusEntry",
    "Task",
    "TaskOptions",
    "TaskPage",
    "Tasks",
    "TaskyardAPIError",
    "TaskyardConnectionError",
    "Team",
    "Teams",
    "Template",
    "Templates",
    "Token",
    "Tokens",
    "User",
    "Users",
    "Workflow",
    "Workflows",
]
