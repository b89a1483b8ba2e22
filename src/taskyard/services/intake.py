"""A delivery from another product, verified, stored once, and made a task or folded.

For ``POST /webhooks/intake/{slug}``: the source's secret verifies the request
(:mod:`taskyard.services.intake_receiver`); the delivery is stored once per id
(:mod:`taskyard.services.webhooks`), so a replay creates nothing; what it asks for
(:mod:`taskyard.services.intake_item`, :mod:`taskyard.services.intake_sentry`) is
made a task, created as the admin who configured the source, on the thread of its
dedup key (``intake:<source id>:<key>``: the Sentry issue, the ticket number, the
mapped key). While that thread has an open task, a new delivery opens none: the open
task gets an ``intake`` event with the running count of deliveries, not a message,
since what arrives is data from outside (a repeat of the same error, a copy of the
ticket), not an instruction from a person, and a new agent turn would only repeat
the work.

The task is marked handled in the transaction that creates it, or that adds the event.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskyard.config import Settings
from taskyard.db.models import Event, IntakeSource, Task, User, WebhookDelivery
from taskyard.model.errors import Forbidden, InvalidInput, NotFound
from taskyard.model.fence import prompt_section
from taskyard.services import actions, events, intake_sources, secrets, threads, webhooks
from taskyard.services.access import Principal
from taskyard.services.intake_item import Item, one_line, support_item, webhook_item
from taskyard.services.intake_receiver import Inbound, parse, verify
from taskyard.services.intake_sentry import ignored, item_of
from taskyard.services.tasks import TaskCreate

PLAIN_KEY = re.compile(r"[A-Za-z0-9._:/#-]{1,200}")


@dataclass(frozen=True)
class Received:
    delivery: str
    outcome: str
    task: str = ""  # the key of the task made or given the event
    created: bool = False
    count: int = 0  # deliveries the task has had, with this one


def source_key(source: IntakeSource) -> str:
    """The delivery store's source of ``source``'s deliveries (ids are unique per source)."""
    return f"intake-{source.id}"


def receive(
    session: Session,
    settings: Settings,
    engine: actions.EngineLike,
    slug: str,
    body: bytes,
    headers: Mapping[str, str],
) -> Received:
    source = intake_sources.by_slug(session, slug)
    secret = secrets.unseal(
        settings,
        source.secret,
        f"of intake source '{slug}'",
        f"DELETE /api/v1/intake/sources/{slug}, then create it anew",
    )
    verify(source.kind, secret, body, headers)
    inbound = parse(source.kind, body, headers)
    why_not = ignored(inbound.event, inbound.action) if source.kind == "sentry" else ""
    item = None if why_not else _item(source, inbound)
    if item is not None:
        engine.check()  # 503 before anything is stored, while the engine is not connected
    stored = webhooks.receive(session, source_key(source), inbound, outcome=why_not)
    if stored.handled:
        outcome = stored.outcome if stored.new else f"Already received. {stored.outcome}"
        return Received(inbound.delivery_id, outcome.strip())
    assert item is not None  # stored unhandled: it was not ignored
    roots = settings.local_repository_roots
    return _handle(session, engine, source, inbound, item, roots)


def _item(source: IntakeSource, inbound: Inbound) -> Item:
    if source.kind == "sentry":
        return item_of(inbound.event, inbound.payload)
    if source.kind == "support":
        return support_item(inbound.payload)
    return webhook_item(source, inbound.payload)


def _thread(source: IntakeSource, key: str) -> str | None:
    if not key:
        return None
    plain = key if PLAIN_KEY.fullmatch(key) else hashlib.sha256(key.encode()).hexdigest()
    return f"intake:{source.id}:{plain}"


def _handle(
    session: Session,
    engine: actions.EngineLike,
    source: IntakeSource,
    inbound: Inbound,
    item: Item,
    roots: Sequence[Path],
) -> Received:
    key = source_key(source)
    # Whoever handles the delivery first marks it handled; a second request (the same
    # delivery sent twice at once) waits here, then finds it handled.
    row = session.scalar(
        select(WebhookDelivery)
        .where(WebhookDelivery.source == key, WebhookDelivery.delivery_id == inbound.delivery_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is not None and row.handled_at is not None:
        return Received(inbound.delivery_id, f"Already received. {row.outcome}".strip())
    thread = _thread(source, item.dedup_key)
    current = threads.open_task(session, source.org_id, thread) if thread else None
    if current is not None:
        return _fold(session, source, inbound, item, current)
    webhooks.note(session, key, inbound.delivery_id, "Creating a task.")
    creator = session.get(User, source.creator_id)
    assert creator is not None  # users are never deleted
    principal = Principal(creator.id, source.org_id, creator.username, frozenset({"tasks:write"}))
    try:
        body = _task_body(source, inbound, item, thread)
        made = actions.create(session, engine, principal, body, local_roots=roots)
    except NotFound as exc:  # a mapped team or template: the delivery's mistake, not the URL's
        refusal = InvalidInput(f"The delivery names what the organization lacks: {exc}")
        raise _refused(session, key, inbound, refusal) from exc
    except (InvalidInput, Forbidden) as exc:  # a mapped repository outside the roots...
        raise _refused(session, key, inbound, exc) from exc
    outcome = f"Task {made.task.key} was created."
    webhooks.note(session, key, inbound.delivery_id, outcome)
    session.commit()
    return Received(inbound.delivery_id, outcome, made.task.key, created=True, count=1)


def _refused(
    session: Session, key: str, inbound: Inbound, exc: InvalidInput | Forbidden
) -> InvalidInput | Forbidden:
    """``exc``, once the delivery's row says why it was refused: nothing of the attempt
    is kept (the rollback), and whoever asks why no task came finds the reason."""
    session.rollback()
    webhooks.refused(session, key, inbound.delivery_id, f"Refused: {exc.message}")
    session.commit()
    return exc


def _fold(
    session: Session, source: IntakeSource, inbound: Inbound, item: Item, task: Task
) -> Received:
    earlier = session.scalar(
        select(func.count()).select_from(Event).where(Event.task_id == task.id,
                                                      Event.kind == "intake")
    )  # fmt: skip
    count = int(earlier or 0) + 2  # the delivery that opened the task, the repeats, this one
    detail = {
        "source": source.slug,
        "delivery_id": inbound.delivery_id,
        "count": count,
        "title": one_line(item.title),
        "link": item.link[:500],
    }
    events.append(session, task.id, "intake", detail)
    outcome = f"Task {task.key} is open on this {_what(item)}: its count is now {count}."
    webhooks.note(session, source_key(source), inbound.delivery_id, outcome)
    session.commit()
    return Received(inbound.delivery_id, outcome, task.key, count=count)


def _what(item: Item) -> str:
    return {"error_tracking": "Sentry issue", "support_queue": "ticket"}.get(item.origin, "key")


def _task_body(
    source: IntakeSource, inbound: Inbound, item: Item, thread: str | None
) -> TaskCreate:
    requester = f"intake source '{source.name}' ({source.kind}), set up by an admin"
    instruction = source.prompt or item.instruction
    fields = dict(
        title=item.title,
        description=prompt_section(instruction, item.context, requester=requester),
        repository=item.overrides.get("repository") or source.repository,
        team=item.overrides.get("team") or source.team,
        template=item.overrides.get("template") or source.template,
        workflow=source.workflow,
        origin=item.origin,
        origin_context={
            **item.origin_context,
            "source": source.slug,
            "delivery_id": inbound.delivery_id,
        },
        thread=thread,
    )
    try:
        return TaskCreate.model_validate(fields)
    except ValidationError as exc:  # a mapped team or template too long to be one
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(f"The delivery gives the task's {where}: {first['msg']}.") from exc
