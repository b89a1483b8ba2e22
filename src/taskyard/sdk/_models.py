"""The shapes the SDK returns and accepts.

Every result is the server's JSON as a plain ``dict``; these ``TypedDict`` classes only
describe it for type checkers and editors. Plain dicts keep the SDK honest about what the
server sent (``json.dumps`` works on any of them) and let the server add fields without an
SDK release. Timestamps are ISO 8601 strings, as on the wire.
"""

from __future__ import annotations

from typing import Any, NamedTuple, NotRequired, TypedDict

#: The statuses a task never leaves.
FINAL_STATUSES: tuple[str, ...] = ("completed", "failed", "cancelled")


class StatusEntry(TypedDict):
    """One status change in a task's history (``Task["status_history"]``)."""

    status: str
    message: str
    at: str


class Task(TypedDict):
    """A task as ``GET /api/v1/tasks/{key}`` returns it.

    ``status_history``, ``pull_requests`` and ``live`` are filled in by
    ``client.tasks.get`` only; listings and actions carry ``None`` there.
    """

    id: int
    key: str
    slug: str
    title: str
    description: str
    repository: str
    base_branch: str
    branch: str
    origin: str
    origin_context: dict[str, Any]
    thread: str | None
    team: str
    creator: str
    requested_by: str
    reviewers: list[str]  # usernames asked to review it, sorted
    template: str | None
    agent: str
    parameters: dict[str, Any]
    workflow: str
    stage: str
    status: str
    status_message: str
    agent_state: str
    agent_message: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    created_at: str
    updated_at: str
    ended_at: str | None
    status_history: list[StatusEntry] | None
    pull_requests: list[dict[str, Any]] | None
    live: dict[str, Any] | None


class Created(NamedTuple):
    """What ``tasks.create_in_thread`` did: made ``task`` (``created`` is true), or sent the
    description to ``task``, the thread's open task, as a message (``created`` is false)."""

    task: Task
    created: bool


class TaskPage(TypedDict):
    """One page of tasks, newest first; pass ``next_before`` as ``before`` for the next."""

    items: list[Task]
    next_before: int | None


class Event(TypedDict):
    """One entry of a task's append-only event log (``kind`` says how to read ``data``)."""

    id: int
    kind: str
    run_id: int | None
    data: dict[str, Any]
    created_at: str


class EventPage(TypedDict):
    """Events after some id; pass ``next_after`` as ``after`` for the next page."""

    items: list[Event]
    next_after: int


class AgentOptions(TypedDict, total=False):
    """An agent that replaces the template's for one task (a template's ``agent:`` block).

    ``kind`` is any kind the server knows (``claude-code``, ``codex``, ``command``, or one
    a plug-in adds): the server, not the SDK, says which exist.
    """

    kind: str
    version: str
    model: str
    command: str
    args: list[str]


class TaskFilters(TypedDict, total=False):
    """What ``tasks.list`` and ``tasks.iter_all`` can filter on; ``None`` means any."""

    status: str | None
    team: str | None
    origin: str | None
    repository: str | None
    creator: str | None


class TaskOptions(TypedDict, total=False):
    """Optional fields of a new task; ``None`` means "the server's default".

    ``origin_product`` and ``user_id`` are aliases of ``origin`` and ``creator`` (a
    username), so code written for platforms that use those names runs unchanged.
    """

    description: str
    team: str | None
    origin: str
    origin_context: dict[str, Any] | None
    creator: str | None
    reviewers: list[str] | None
    template: str | None
    template_version: int | None
    agent: AgentOptions | None
    parameters: dict[str, Any] | None
    workflow: str | None
    base_branch: str
    origin_product: str
    user_id: str | int | None


#: Names that code written for other task platforms uses, and the field each one means.
OPTION_ALIASES = {"origin_product": "origin", "user_id": "creator"}


class Team(TypedDict):
    key: str
    slug: str
    name: str
    tasks: int
    max_running: int | None  # its own limit on agent runs at once; None: the installation's
    limit: int  # the limit in force (0: none)
    running: int  # tasks running an agent now
    queued: int  # tasks waiting in line for a slot


class Workflow(TypedDict):
    team: str
    name: str
    default: bool
    archived: bool
    stages: list[dict[str, Any]]
    active_tasks: NotRequired[int]


class Template(TypedDict):
    """A template version; ``source`` and ``spec`` only from ``templates.get``."""

    name: str
    version: int
    agent: str | None
    description: str
    created_at: str
    source: NotRequired[str]
    spec: NotRequired[dict[str, Any]]


class User(TypedDict):
    username: str
    name: str
    email: str
    admin: bool
    created_at: str


class Identity(TypedDict):
    user: str
    provider: str
    external_id: str
    login: str


class GitHubLink(TypedDict):
    """A one-time URL that links the GitHub account signed in there to the caller."""

    url: str
    expires_at: str


class Token(TypedDict):
    """An API token; ``token`` (its only copy) and ``user`` only when just created."""

    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: str
    revoked: bool
    token: NotRequired[str]
    user: NotRequired[str]


class Secret(TypedDict):
    """A secret's name and date: its value is never returned once set."""

    name: str
    updated_at: str


class Organization(TypedDict):
    slug: str
    name: str
    users: int
    created_at: str
    repository_owners: list[str]  # forge owners whose repositories it may work on; * is all


class NewOrganization(TypedDict):
    """A created organization with its first admin and team; ``token`` is shown this once."""

    organization: Organization
    admin: str
    team: str
    token: str


class IntakeSource(TypedDict):
    """Another product that opens tasks (see docs/intake.md); ``secret`` only on creation."""

    slug: str
    name: str
    kind: str  # sentry | support | webhook
    url: str  # where the product sends deliveries, relative to the server
    repository: str
    team: str | None
    template: str | None
    workflow: str | None
    prompt: str
    mapping: dict[str, str]
    created_at: str
    secret: NotRequired[str]


class GitHubTrigger(TypedDict):
    """What starts a task on a GitHub repository (see docs/github.md, "Triggers")."""

    id: int
    repository: str
    kind: str  # label | assigned | comment | pull_request | paths
    value: str  # the label, the login or the phrase
    paths: list[str]
    team: str | None
    template: str | None
    workflow: str | None
    prompt: str
    created_at: str


class ScheduleRun(TypedDict):
    """One fire of a schedule (see docs/intake.md, "Schedules")."""

    fired_at: str
    outcome: str  # created | skipped-overlap | skipped-paused | failed
    reason: str
    task: str | None  # the key of the task it made
    task_status: str | None


class Schedule(TypedDict):
    """A task made on a cron expression, for its owner (see docs/intake.md, "Schedules")."""

    name: str
    owner: str
    cron: str
    time_zone: str
    overlap: str  # skip | allow
    paused: bool
    paused_reason: str
    task: dict[str, Any]  # title, description, repository, team, template, workflow...
    created_at: str
    updated_at: str
    runs: list[ScheduleRun] | None  # the latest, newest first: with one schedule (get)


class NotificationChannel(TypedDict):
    """One of your notification channels (its configuration is never shown)."""

    id: int
    kind: str  # webhook | slack | email
    name: str
    summary: str  # where it goes, without any secret
    enabled: bool
    created_at: str


class NotificationPreference(TypedDict):
    """Whether an event is wanted, and on which channels (empty: all of them)."""

    event: str
    enabled: bool
    channels: list[str]


class NotificationDelivery(TypedDict):
    """One notice to one channel, as the delivery log shows it."""

    id: int
    event: str
    subject: str
    task: str
    channel: str
    kind: str
    status: str  # pending | sent | failed
    attempts: int
    last_status_code: int | None
    last_error: str
    next_attempt_at: str | None
    sent_at: str | None
    created_at: str
