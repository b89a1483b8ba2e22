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

Async: the same with :class:`AsyncClient`, ``await`` and ``async for``. The async client
is the source: ``scripts/unasync`` writes the sync one from it.

Results are plain dicts, described by the ``TypedDict`` classes exported here. Every
failure is one of the SDK's own errors (:mod:`taskyard.sdk.errors`, none of the server's)::

    TaskyardError
    ├── TaskyardAPIError          the server answered 4xx/5xx: .status, .code, .message
    │   └── InvalidInput, Unauthenticated, Forbidden, NotFound, Conflict,
    │       Unavailable, ServerError (by status)
    └── TaskyardConnectionError   the server could not be reached

and a ``timeout`` passing raises :class:`TimeoutError`.
"""

from typing import TYPE_CHECKING, Any

from taskyard.sdk._models import (
    FINAL_STATUSES,
    AgentOptions,
    Created,
    Event,
    EventPage,
    GitHubLink,
    GitHubTrigger,
    Identity,
    IntakeSource,
    NewOrganization,
    NotificationChannel,
    NotificationDelivery,
    NotificationPreference,
    Organization,
    Schedule,
    ScheduleRun,
    Secret,
    StatusEntry,
    Task,
    TaskFilters,
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
    GitHubTriggers,
    IntakeSources,
    Notifications,
    Organizations,
    Schedules,
    Secrets,
    Teams,
    Templates,
    Tokens,
    Users,
    Workflows,
)
from taskyard.sdk.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ServerError,
    TaskyardAPIError,
    TaskyardConnectionError,
    TaskyardError,
    Unauthenticated,
    Unavailable,
)

if TYPE_CHECKING:
    from taskyard.sdk._async import AsyncClient, AsyncTasks
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

_ASYNC = {"AsyncClient", "AsyncTasks"}
_ASYNC_ADMIN = {
    "AsyncGitHubTriggers",
    "AsyncNotifications",
    "AsyncIntakeSources",
    "AsyncOrganizations",
    "AsyncSchedules",
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
    "AgentOptions",
    "AsyncClient",
    "AsyncGitHubTriggers",
    "AsyncIntakeSources",
    "AsyncNotifications",
    "AsyncOrganizations",
    "AsyncSchedules",
    "AsyncSecrets",
    "AsyncTasks",
    "AsyncTeams",
    "AsyncTemplates",
    "AsyncTokens",
    "AsyncUsers",
    "AsyncWorkflows",
    "Client",
    "Conflict",
    "Created",
    "Event",
    "EventPage",
    "Forbidden",
    "GitHubLink",
    "GitHubTrigger",
    "GitHubTriggers",
    "Identity",
    "IntakeSource",
    "IntakeSources",
    "InvalidInput",
    "NewOrganization",
    "NotFound",
    "NotificationChannel",
    "NotificationDelivery",
    "NotificationPreference",
    "Notifications",
    "Organization",
    "Organizations",
    "Schedule",
    "ScheduleRun",
    "Schedules",
    "Secret",
    "Secrets",
    "ServerError",
    "StatusEntry",
    "Task",
    "TaskFilters",
    "TaskOptions",
    "TaskPage",
    "Tasks",
    "TaskyardAPIError",
    "TaskyardConnectionError",
    "TaskyardError",
    "Team",
    "Teams",
    "Template",
    "Templates",
    "Token",
    "Tokens",
    "Unauthenticated",
    "Unavailable",
    "User",
    "Users",
    "Workflow",
    "Workflows",
]
