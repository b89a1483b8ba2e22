"""The relational model of taskyard (see docs/architecture.md for the words)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from taskyard.model.forge import ForgeSite


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso_utc(value: dt.datetime) -> str:
    """``2026-12-02T11:20:00.123456Z``: how every time leaves the server."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A time stored with its zone and always read back as UTC.

    SQLite keeps no zone and returns naive values; they were written as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        dt.datetime: UtcDateTime(),
    }


# SQLite only auto-increments INTEGER primary keys; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


OWNERS_LENGTH = 4000  # characters of an organization's repository owners, as stored


class Organization(Base):
    __tablename__ = "organizations"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Forge owners whose repositories it may work on, comma-separated, lower-case; "*" is
    # every owner (see services/repository_owners.py).
    repository_owners: Mapped[str] = mapped_column(
        String(OWNERS_LENGTH), default="", server_default=""
    )


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (
        UniqueConstraint("org_id", "key"),
        UniqueConstraint("org_id", "slug"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    key: Mapped[str] = mapped_column(String(10))
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    next_number: Mapped[int] = mapped_column(Integer, default=0)
    default_template: Mapped[str | None] = mapped_column(String(100), default=None)
    # How many of its tasks may run an agent at once: None follows the installation's
    # default (TASKYARD_TEAM_MAX_RUNNING), 0 is no limit (services/concurrency.py).
    max_running: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("org_id", "username"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    username: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # An argon2 hash (pwdlib); None: this user signs in with an API token only.
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)


class LinkedIdentity(Base):
    __tablename__ = "linked_identities"
    # Per organization: one installation's organizations know nothing of each other.
    __table_args__ = (
        UniqueConstraint(
            "org_id",
            "provider",
            "external_id",
            name="uq_linked_identities_org_provider_external_id",
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", name="fk_linked_identities_org_id")
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(100))
    login: Mapped[str] = mapped_column(String(100), default="")


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The token that created this one: revoking a token revokes what it minted.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_tokens.id", name="fk_api_tokens_parent_id", ondelete="SET NULL"),
        default=None,
    )
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # Set for a browser's sign-in, which is a token too (docs/dashboard.md).
    expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class Template(Base):
    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("org_id", "name", "version"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    spec: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Workflow(Base):
    __tablename__ = "workflows"
    __table_args__ = (UniqueConstraint("team_id", "name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    name: Mapped[str] = mapped_column(String(100))
    stages: Mapped[list[Any]] = mapped_column()
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    archived_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("team_id", "number"),
        UniqueConstraint("team_id", "slug"),
        Index("ix_tasks_org_created", "org_id", "id"),
        Index("ix_tasks_org_thread", "org_id", "thread"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    number: Mapped[int] = mapped_column(Integer)
    # Names the task's workflow: unique across installations sharing one Temporal cluster.
    uid: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: uuid.uuid4().hex)
    key: Mapped[str] = mapped_column(String(32), index=True)
    slug: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    repository: Mapped[str] = mapped_column(String(500))
    # The repository's forge as configured when the task was created: a task keeps
    # its mirror, remote and pull request where they started (services/forge_settings.py).
    forge: Mapped[str] = mapped_column(String(40), default="")
    forge_url: Mapped[str] = mapped_column(String(500), default="")
    forge_api_url: Mapped[str] = mapped_column(String(500), default="")
    base_branch: Mapped[str] = mapped_column(String(200), default="")
    # The base's tip when the checkout was made, read from the server's own mirror:
    # what delivery and the diff view compare the agent's work against, never a ref
    # the agent could move.
    base_commit: Mapped[str] = mapped_column(String(64), default="")
    origin: Mapped[str] = mapped_column(String(40))
    origin_context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The conversation the task answers (``github:acme/shop#12``): while one task of a
    # thread is open, more from the same thread reach it as messages, not new tasks.
    thread: Mapped[str | None] = mapped_column(String(300), default=None)
    creator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    template_id: Mapped[int | None] = mapped_column(ForeignKey("templates.id"), default=None)
    agent: Mapped[dict[str, Any]] = mapped_column(default=dict)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id"))
    stage: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(20), default="queued")
    status_message: Mapped[str] = mapped_column(Text, default="")
    agent_state: Mapped[str] = mapped_column(String(20), default="")
    agent_message: Mapped[str] = mapped_column(Text, default="")
    branch: Mapped[str] = mapped_column(String(300))
    run_requested: Mapped[bool] = mapped_column(Boolean, default=True)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    # Time the agent itself ran, over all turns: what a time budget counts, unlike
    # the time the task spent waiting for a person.
    agent_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    # A stop asked for (a cancel, a budget or limit reached) and not yet carried out:
    # the gateway refuses the task's model calls from the moment it is set, whichever
    # process set it, and the turn polls it to kill its sandbox.
    stop_kind: Mapped[str] = mapped_column(String(20), default="")
    stop_reason: Mapped[str] = mapped_column(String(300), default="")
    stop_requested_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # Kept here, not as a file in the checkout, where the agent could forge it.
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    @property
    def forge_site(self) -> ForgeSite:
        return ForgeSite(self.forge, self.forge_url, self.forge_api_url)


class TaskReviewer(Base):
    """A person asked to review a task: they hear of it as its creator does
    (services/task_notices.py), each by their own notification preferences."""

    __tablename__ = "task_reviewers"
    __table_args__ = (UniqueConstraint("task_id", "user_id", name="uq_task_reviewers_task_user"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    # Indexed for the cascade when a user is deleted, and for "tasks I review".
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Run(Base):
    """One entry of a task into a stage that has an agent."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="working")
    session_id: Mapped[str] = mapped_column(String(200), default="")
    turns: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class TurnResult(Base):
    """How one turn of a run ended, recorded once: a retried activity whose turn had
    already finished (its answer lost with a worker or with Temporal) returns this
    instead of running the agent again."""

    __tablename__ = "turn_results"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    turn: Mapped[int] = mapped_column(Integer, primary_key=True)
    exit_code: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")
    session_id: Mapped[str] = mapped_column(String(200), default="")
    stopped_by: Mapped[str] = mapped_column(String(300), default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WorkspaceCheckpoint(Base):
    """A task's work as of its last completed turn (or delivery), where every worker
    reaches it: a thin git pack from the base commit, as the sandbox exported it and
    the vault checked it. ``seq`` counts the checkpoints taken; a worker whose
    checkout is at an older one rebuilds it from this."""

    __tablename__ = "workspace_checkpoints"
    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    base: Mapped[str] = mapped_column(String(64))
    head: Mapped[str] = mapped_column(String(64))
    agent_head: Mapped[str] = mapped_column(String(64))
    pack: Mapped[bytes] = mapped_column(LargeBinary)
    taken_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Who did what to an organization's resources: one row per action, never changed."""

    __tablename__ = "audit_entries"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    actor: Mapped[str] = mapped_column(String(100))  # the username behind the token
    token_id: Mapped[int | None] = mapped_column(default=None)
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(500))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TeamSlot(Base):
    """A task's place in its team's line for an agent run: holding a slot, or waiting."""

    __tablename__ = "team_slots"
    task_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    running: Mapped[bool] = mapped_column(Boolean, default=False)
    waiting_since: Mapped[dt.datetime] = mapped_column(default=utcnow)  # its place in line


class Event(Base):
    """Append-only record of what happened to a task."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_task_id_id", "task_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(default=None)
    kind: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PullRequest(Base):
    __tablename__ = "pull_requests"
    __table_args__ = (UniqueConstraint("task_id", "head"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    forge: Mapped[str] = mapped_column(String(20))
    repository: Mapped[str] = mapped_column(String(500))
    number: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(String(500), default="")
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    head: Mapped[str] = mapped_column(String(300))
    base: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), default="open")
    head_sha: Mapped[str] = mapped_column(String(64), default="")
    files_changed: Mapped[int] = mapped_column(Integer, default=0)
    additions: Mapped[int] = mapped_column(Integer, default=0)
    deletions: Mapped[int] = mapped_column(Integer, default=0)
    patch: Mapped[str] = mapped_column(Text, default="")
    # GitHub's GraphQL id: marking a draft ready for review is a GraphQL mutation only.
    node_id: Mapped[str] = mapped_column(String(100), default="")
    draft: Mapped[bool] = mapped_column(Boolean, default=False)
    # Turns spent repairing failing checks on it (bounded by TASKYARD_GITHUB_REPAIR_ROUNDS).
    repair_rounds: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PublishedDiff(Base):
    """A task's diff as the worker holding its work last published it.

    The API serves this, never a checkout: the checkout lives on a worker's disk,
    which the API cannot (and must not) reach.
    """

    __tablename__ = "published_diffs"
    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    head: Mapped[str] = mapped_column(String(64))
    files_changed: Mapped[int] = mapped_column(Integer, default=0)
    additions: Mapped[int] = mapped_column(Integer, default=0)
    deletions: Mapped[int] = mapped_column(Integer, default=0)
    patch: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Secret(Base):
    __tablename__ = "secrets"
    __table_args__ = (UniqueConstraint("org_id", "name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(100))
    ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ForgeSetting(Base):
    """Which forge an organization's repositories are on: the organization's default
    (``repository`` empty) or one repository's own."""

    __tablename__ = "forge_settings"
    __table_args__ = (UniqueConstraint("org_id", "repository"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    repository: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[str] = mapped_column(String(40))
    url: Mapped[str] = mapped_column(String(500), default="")
    api_url: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WebhookDelivery(Base):
    """An inbound webhook delivery, stored once: its id is unique per source, so a
    redelivery, or the same event reaching two servers, is handled once."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("source", "delivery_id", name="uq_webhook_deliveries_source_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(20))  # "github", later other products
    delivery_id: Mapped[str] = mapped_column(String(100))
    event: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(60), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    handled_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    outcome: Mapped[str] = mapped_column(String(500), default="")


class GitHubTrigger(Base):
    """What starts a task on one repository: a label, an assignee, a phrase in a
    comment, a pull request opened, or a change to some paths."""

    __tablename__ = "github_triggers"
    __table_args__ = (
        UniqueConstraint(
            "org_id", "repository", "kind", "value", name="uq_github_triggers_org_repo_kind_value"
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    repository: Mapped[str] = mapped_column(String(500), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(300), default="")  # label, login or phrase
    paths: Mapped[list[str]] = mapped_column(JSON, default=list)
    team: Mapped[str | None] = mapped_column(String(64), default=None)
    template: Mapped[str | None] = mapped_column(String(100), default=None)
    workflow: Mapped[str | None] = mapped_column(String(100), default=None)
    prompt: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OAuthState(Base):
    """A pending account link: the hash of the ``state`` sent to the provider."""

    __tablename__ = "oauth_states"
    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[dt.datetime] = mapped_column()


class TrackingComment(Base):
    """The one comment on a task's issue that follows it: an outbox row, marked
    dirty in the transaction that changes the task and edited at most every few
    seconds by the engine."""

    __tablename__ = "tracking_comments"
    __table_args__ = (Index("ix_tracking_comments_dirty_due", "dirty", "due_at"),)
    task_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    repository: Mapped[str] = mapped_column(String(500))
    issue_number: Mapped[int] = mapped_column(Integer)
    comment_id: Mapped[int] = mapped_column(BigInteger, default=0)  # 0 until posted
    dirty: Mapped[bool] = mapped_column(Boolean, default=True)
    due_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    body_sha: Mapped[str] = mapped_column(String(64), default="")
    last_error: Mapped[str] = mapped_column(String(500), default="")


# Notifications (issue 12, N1): each user's channels, who wants which event, and the
# outbox of deliveries the engine sends (services/notifications.py, engine/notifications.py).


class NotificationChannel(Base):
    """One destination of one user's notifications: a webhook, a Slack channel, an address.

    ``config`` (URL, signing secret, token...) is stored encrypted with the secrets' key
    and never returned by the API.
    """

    __tablename__ = "notification_channels"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_notification_channels_user"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(64))
    config_ciphertext: Mapped[str] = mapped_column(Text)
    # What the API may show of the config: the URL's host, the address... never a secret.
    summary: Mapped[str] = mapped_column(String(300), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotificationPreference(Base):
    """Whether one event is wanted: a user's own choice (``user_id``) or a team's default
    for its members' tasks (``team_id``); exactly one of the two is set."""

    __tablename__ = "notification_preferences"
    __table_args__ = (
        UniqueConstraint("user_id", "event", name="uq_notification_preferences_user"),
        UniqueConstraint("team_id", "event", name="uq_notification_preferences_team"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), default=None
    )
    event: Mapped[str] = mapped_column(String(40))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # The user's channel names it goes to; empty: every enabled channel.
    channels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotificationDelivery(Base):
    """One notice to one channel: an outbox row written in the transaction of the event,
    claimed (a lease), sent and settled by the engine, kept as the delivery log."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        Index("ix_notification_deliveries_due", "status", "next_attempt_at"),
        Index("ix_notification_deliveries_user", "user_id", "id"),
        Index("ix_notification_deliveries_thread", "thread", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="SET NULL"), default=None, index=True
    )
    notice_id: Mapped[str] = mapped_column(String(64), unique=True)  # Standard Webhooks' id
    event: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(600), default="")
    task_key: Mapped[str] = mapped_column(String(32), default="")
    task_status: Mapped[str] = mapped_column(String(20), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    thread: Mapped[str] = mapped_column(String(100), default="")
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # pending (owed), sent, failed (given up or refused for good)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(default=utcnow)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    sent_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    reference: Mapped[str] = mapped_column(String(200), default="")  # e.g. Slack's message ts
    # When it was last owed: at the event, or at its replay; its day of retries counts from it.
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# Intake from other products (issue 12, part IN) -----------------------------------


class IntakeSource(Base):
    """Another product that opens tasks: a Sentry integration, a support queue, or any
    webhook with a mapping. Deliveries arrive at ``/webhooks/intake/{slug}``, verified
    with the source's secret (encrypted with the organization secrets' key); tasks are
    created as the admin who configured it."""

    __tablename__ = "intake_sources"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    slug: Mapped[str] = mapped_column(String(64), unique=True)  # the inbound URL's last part
    name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(20))  # "sentry" | "support" | "webhook"
    secret: Mapped[str] = mapped_column(Text)  # Fernet ciphertext, never returned
    creator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    repository: Mapped[str] = mapped_column(String(500), default="")
    team: Mapped[str | None] = mapped_column(String(64), default=None)
    template: Mapped[str | None] = mapped_column(String(100), default=None)
    workflow: Mapped[str | None] = mapped_column(String(100), default=None)
    prompt: Mapped[str] = mapped_column(Text, default="")  # the organization's instruction
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)  # field -> expression
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# Schedules (issue 12, SC): tasks made on a cron; Temporal keeps the firing, these the record.


class Schedule(Base):
    """A task spec made into a task on a cron expression in a time zone, for its owner.

    ``uid`` names its Temporal Schedule (``schedule-<uid>``), unique across every
    database that may share one Temporal namespace."""

    __tablename__ = "schedules"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_schedules_org_name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: uuid.uuid4().hex)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    cron: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    overlap: Mapped[str] = mapped_column(String(20), default="skip")
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_reason: Mapped[str] = mapped_column(String(500), default="")
    task: Mapped[dict[str, Any]] = mapped_column(default=dict)  # what each run's task is made of
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ScheduleRun(Base):
    """One fire of a schedule: unique per fire time, so a retried fire makes no second task."""

    __tablename__ = "schedule_runs"
    __table_args__ = (
        UniqueConstraint("schedule_id", "fired_at", name="uq_schedule_runs_schedule_fired"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(BigId, ForeignKey("schedules.id", ondelete="CASCADE"))
    fired_at: Mapped[dt.datetime] = mapped_column()
    task_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("tasks.id", ondelete="SET NULL"), default=None, index=True
    )
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# D2, the board and the task list (migration 0016): each of the list's orders, and the
# board's columns, read an index in order instead of sorting 10,000 rows.
BOARD_INDEXES = (
    Index("ix_tasks_board", Task.org_id, Task.workflow_id, Task.stage, Task.updated_at, Task.id),
    Index("ix_tasks_org_updated", Task.org_id, Task.updated_at, Task.id),
    Index("ix_tasks_org_status", Task.org_id, Task.status, Task.id),
    Index("ix_tasks_org_title", Task.org_id, Task.title, Task.id),
    Index("ix_tasks_org_team_number", Task.org_id, Task.team_id, Task.number),
)
