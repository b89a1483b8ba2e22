"""What the board and the task list read: an organization's tasks, filtered, in columns
or in pages, with what a card shows about each.

Read-only. Pages are keyset-paged (a cursor holds the last row's sort values), never by
OFFSET, so the thousandth page costs what the first does.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, func, literal, or_, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from taskyard.db.models import Event, Run, Task, Team, Template, User, Workflow
from taskyard.model.errors import InvalidInput
from taskyard.model.status import FINAL
from taskyard.model.template import BUILTIN_DEFAULT
from taskyard.services import tasks, workflows
from taskyard.services.access import Principal, require
from taskyard.services.prompts import stage_prompt
from taskyard.services.teams import resolve_team

PER_COLUMN = 25
MAX_SEARCH = 200
MAX_CURSOR = 1000


@dataclass(frozen=True)
class Filters:
    """What a person narrowed the board or list to; empty means any."""

    team: str = ""
    status: str = ""
    origin: str = ""
    repository: str = ""
    creator: str = ""
    search: str = ""

    def clauses(self, session: Session, org_id: int) -> list[ColumnElement[bool]]:
        clauses = tasks.filter_clauses(
            session,
            org_id,
            status=self.status or None,
            team=self.team or None,
            origin=self.origin or None,
            repository=self.repository or None,
            creator=self.creator or None,
        )
        words = self.search.strip()
        if len(words) > MAX_SEARCH:
            raise InvalidInput(f"Search for at most {MAX_SEARCH} characters.")
        if words:
            # Title words anywhere, or a key exactly: LIKE's own wildcards are taken literally.
            escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append(
                or_(Task.title.ilike(f"%{escaped}%", escape="\\"), Task.key == words.upper())
            )
        return clauses


# What a card shows, read as plain rows: not a task's description or parameters (which
# may be long), and none of the ORM's bookkeeping, a third of a board's time otherwise.
CARD_COLUMNS = (
    *(Task.id, Task.key, Task.title, Task.repository, Task.status, Task.stage, Task.origin),
    *(Task.agent_state, Task.agent_message, Task.cost_usd, Task.origin_context, Task.agent),
    *(Task.creator_id, Task.template_id, Task.created_at, Task.updated_at, Task.ended_at),
    *(Task.team_id, Task.number),
)
TaskRow = Row[Any]  # CARD_COLUMNS, by name


@dataclass(frozen=True)
class Card:
    """One task as the board and the list show it."""

    task: TaskRow
    creator: str
    agent: str
    stage_since: dt.datetime
    origin_url: str


@dataclass(frozen=True)
class Column:
    key: str  # "" holds the tasks that have not entered a stage yet
    name: str
    gate: str
    prompt: str  # what the stage tells its agent ("" when the stage runs none)
    count: int
    cards: list[Card]


@dataclass(frozen=True)
class Board:
    team: Team
    workflow: Workflow
    workflows: list[Workflow]
    columns: list[Column]
    last_event: int  # a live board asks for changes after it


def board(
    session: Session,
    principal: Principal,
    filters: Filters,
    workflow_name: str = "",
    *,
    per_column: int = PER_COLUMN,
) -> Board:
    """The chosen workflow's tasks (the team's default workflow when none is named),
    counted per stage, the most recently changed ``per_column`` of each shown."""
    require(principal, "tasks:read")
    team = resolve_team(session, principal.org_id, filters.team or None)
    workflow = (
        workflows.get_workflow(session, team, workflow_name)
        if workflow_name
        else workflows.default_workflow(session, team)
    )
    clauses = [*filters.clauses(session, principal.org_id), Task.workflow_id == workflow.id]
    counts = dict(
        session.execute(select(Task.stage, func.count()).where(*clauses).group_by(Task.stage)).all()
    )
    stages = [{"key": "", "name": "Not started", "gate": "", "agent": None}, *workflow.stages]
    shown = {
        stage["key"]: session.execute(
            select(*CARD_COLUMNS)
            .where(*clauses, Task.stage == stage["key"])
            .order_by(Task.updated_at.desc(), Task.id.desc())
            .limit(per_column)
        ).all()
        if counts.get(stage["key"])
        else []
        for stage in stages
    }
    by_id = {c.task.id: c for c in cards(session, [t for rows in shown.values() for t in rows])}
    columns = []
    for stage in stages:
        agent = stage.get("agent")
        columns.append(
            Column(
                stage["key"],
                stage.get("name") or stage["key"],
                stage.get("gate", ""),
                stage_prompt(stage["key"], agent.get("prompt", ""), {}) if agent else "",
                counts.get(stage["key"], 0),
                [by_id[t.id] for t in shown[stage["key"]]],
            )
        )
    _, last = changed_since(session, principal.org_id, None)
    return Board(team, workflow, workflows.list_workflows(session, team), columns, last)


def cards(session: Session, rows: Sequence[TaskRow]) -> list[Card]:
    """``rows`` with their creators, agents and stage entry times, in three small queries."""
    if not rows:
        return []
    ids = [t.id for t in rows]
    creators = dict(
        session.execute(
            select(User.id, User.username).where(User.id.in_({t.creator_id for t in rows}))
        ).all()
    )
    template_ids = {t.template_id for t in rows if t.template_id}
    agents = {
        row_id: str((spec.get("agent") or {}).get("kind", BUILTIN_DEFAULT.agent.kind))
        for row_id, spec in session.execute(
            select(Template.id, Template.spec).where(Template.id.in_(template_ids))
        )
    }
    # A stage with an agent was entered when its latest run started.
    entered = {
        (task_id, stage): started
        for task_id, stage, started in session.execute(
            select(Run.task_id, Run.stage, func.max(Run.started_at))
            .where(Run.task_id.in_(ids))
            .group_by(Run.task_id, Run.stage)
        )
    }
    return [
        Card(
            task=t,
            creator=creators.get(t.creator_id, ""),
            agent=str(t.agent.get("kind", ""))
            or agents.get(t.template_id or 0, BUILTIN_DEFAULT.agent.kind),
            stage_since=entered.get((t.id, t.stage))
            or (t.ended_at if t.status in FINAL and t.ended_at else None)
            or t.created_at,
            origin_url=origin_url(t.origin_context),
        )
        for t in rows
    ]


def origin_url(context: dict[str, Any]) -> str:
    """The web page of what the task came from (an issue), if its origin names one."""
    for name in ("issue_url", "html_url", "url"):
        value = context.get(name)
        # Only web links: a stored value is never trusted to be one.
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            return value
    return ""


# What changes a card: not every line of output an agent prints.
LIVE_KINDS = ("created", "status", "stage", "agent", "usage", "delivery", "budget", "error")


def changed_since(
    session: Session, org_id: int, after: int | None, workflow_id: int | None = None
) -> tuple[bool, int]:
    """Whether a card of ``org_id`` (on ``workflow_id``) changed after event id ``after``,
    and the id to ask after next time; ``after`` None only learns that id."""
    last = session.scalar(select(func.max(Event.id))) or 0
    if after is None or last <= after:
        return False, last
    query = (
        select(Event.id)
        .join(Task, Task.id == Event.task_id)
        .where(Event.id > after, Event.id <= last, Task.org_id == org_id)
        .where(Event.kind.in_(LIVE_KINDS))
    )
    if workflow_id is not None:
        query = query.where(Task.workflow_id == workflow_id)
    return session.scalar(query.limit(1)) is not None, last


# The list's orders: each ends in a unique column, so a cursor names one row.
SORTS: dict[str, tuple[InstrumentedAttribute[Any], ...]] = {
    "created": (Task.id,),
    "updated": (Task.updated_at, Task.id),
    "key": (Task.team_id, Task.number),
    "status": (Task.status, Task.id),
    "title": (Task.title, Task.id),
}


DATES = {"updated_at"}
TEXTS = {"status", "title", *DATES}


@dataclass(frozen=True)
class Page:
    cards: list[Card]
    total: int
    next_cursor: str  # "" on the last page


def task_page(
    session: Session,
    principal: Principal,
    filters: Filters,
    *,
    sort: str = "created",
    descending: bool = True,
    cursor: str = "",
    limit: int = 50,
) -> Page:
    """One page of the organization's tasks in ``sort`` order, after ``cursor``."""
    require(principal, "tasks:read")
    if sort not in SORTS:
        raise InvalidInput(f"Unknown sort '{sort}'. Known: {', '.join(SORTS)}.")
    if not 1 <= limit <= 200:
        raise InvalidInput("limit must be between 1 and 200.")
    columns = SORTS[sort]
    clauses = filters.clauses(session, principal.org_id)
    total = session.scalar(select(func.count()).select_from(Task).where(*clauses)) or 0
    if cursor:
        after = tuple_(*columns), tuple_(*_decode(cursor, sort))
        clauses.append(after[0] < after[1] if descending else after[0] > after[1])
    order = [c.desc() if descending else c.asc() for c in columns]
    query = select(*CARD_COLUMNS).where(*clauses).order_by(*order).limit(limit)
    rows = session.execute(query).all()
    last = rows[-1] if len(rows) == limit else None
    return Page(cards(session, rows), total, _encode(last, sort) if last else "")


def _encode(task: TaskRow, sort: str) -> str:
    values = [getattr(task, c.key) for c in SORTS[sort]]
    plain = [v.isoformat() if isinstance(v, dt.datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def _decode(cursor: str, sort: str) -> list[Any]:
    stale = InvalidInput("This page link is not valid for this order: start from the first page.")
    if len(cursor) > MAX_CURSOR:
        raise stale
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise stale from exc
    columns = SORTS[sort]
    if not isinstance(values, list) or len(values) != len(columns):
        raise stale
    decoded = []
    for column, value in zip(columns, values, strict=True):
        if not isinstance(value, str if column.key in TEXTS else int) or isinstance(value, bool):
            raise stale
        if column.key in DATES:
            try:
                value = dt.datetime.fromisoformat(str(value))
            except ValueError as exc:
                raise stale from exc
        # Bound as the column's own type: a stored time is compared in its stored form.
        decoded.append(literal(value, column.type))
    return decoded
