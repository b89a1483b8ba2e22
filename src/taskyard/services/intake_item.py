"""What an inbound delivery asks for: the task's title, its fenced context, its dedup key.

Built from a verified delivery's JSON: a support ticket (this module), a mapped
webhook (this module), or a Sentry report (:mod:`taskyard.services.intake_sentry`).
The instruction is taskyard's or the organization's own words; everything the
delivery holds is data for the fence (:mod:`taskyard.model.fence`). The title is
sanitized and on one line; it is shown to people, and to the agent only fenced
(see :mod:`taskyard.services.prompts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from taskyard.db.models import IntakeSource
from taskyard.model import mapping
from taskyard.model.errors import InvalidInput
from taskyard.model.fence import Untrusted
from taskyard.model.untrusted import sanitize

TITLE_LIMIT = 280  # leaves room for "Support: " within a task title's 300
FIELD_LIMIT = 500  # a mapped repository, team, template or key
BODY_LIMIT = 20_000
SUPPORT_INSTRUCTION = (
    "A customer's support ticket is quoted below (subject, number, customer, priority and "
    "body). Find what in this repository causes the problem it describes and fix it, with "
    "a test. Do not contact the customer."
)
WEBHOOK_INSTRUCTION = (
    "The webhook source '{name}' reported what is quoted below. Do what it needs in this "
    "repository."
)


@dataclass(frozen=True)
class Item:
    title: str
    origin: str  # "error_tracking" | "support_queue" | "webhook"
    dedup_key: str  # "": every delivery makes its own task
    instruction: str
    context: list[Untrusted]
    origin_context: dict[str, Any]
    link: str = ""
    overrides: dict[str, str] = field(default_factory=dict)  # repository, team, template


def text(value: Any, limit: int) -> str:
    """A payload's value as bounded text ("" for nothing)."""
    return mapping.text_of(value, limit)


def one_line(value: Any) -> str:
    """A title: sanitized, on one line, within :data:`TITLE_LIMIT`."""
    return " ".join(sanitize(text(value, TITLE_LIMIT * 4), TITLE_LIMIT).split())[:TITLE_LIMIT]


def support_item(payload: Mapping[str, Any]) -> Item:
    """A ticket: ``{"subject", "number", "customer", "priority", "body", "url"}``, at the
    top of the body or under ``"ticket"``; 400 naming what is missing."""
    ticket = payload.get("ticket", payload)
    if not isinstance(ticket, Mapping):
        raise InvalidInput("The ticket's 'ticket' must be a JSON object.")
    subject = one_line(ticket.get("subject"))
    number = text(ticket.get("number"), 100).strip()
    if not subject or not number:
        raise InvalidInput("A support ticket needs a 'subject' and a 'number'.")
    customer = ticket.get("customer")
    if isinstance(customer, Mapping):
        customer = " ".join(text(customer.get(k), 200) for k in ("name", "email")).strip()
    url = text(ticket.get("url"), 500)
    facts = (
        f"Number: {number}\nCustomer: {text(customer, 400)}\n"
        f"Priority: {text(ticket.get('priority'), 50)}" + (f"\nLink: {url}" if url else "")
    )
    return Item(
        title=f"Support: {subject}",
        origin="support_queue",
        dedup_key=number,
        instruction=SUPPORT_INSTRUCTION,
        context=[
            Untrusted(f"subject of support ticket {number}", subject),
            Untrusted(f"number, customer and priority of support ticket {number}", facts),
            Untrusted(f"body of support ticket {number}", text(ticket.get("body"), BODY_LIMIT)),
        ],
        origin_context={"ticket": {"number": number, "url": url}},
        link=url,
    )


def webhook_item(source: IntakeSource, payload: Mapping[str, Any]) -> Item:
    """The source's mapping applied to ``payload``; 400 when it gives no title."""

    def mapped(name: str, limit: int) -> str:
        expression = source.mapping.get(name, "")
        if not expression:
            return ""
        return mapping.evaluate(mapping.parse(expression, name), payload, limit).strip()

    title = one_line(mapped("title", TITLE_LIMIT * 4))
    if not title:
        raise InvalidInput(
            f"The body has no title where the mapping looks for it ({source.mapping['title']})."
        )
    overrides = {
        name: value
        for name in ("repository", "team", "template")
        if (value := " ".join(mapped(name, FIELD_LIMIT).split()))
    }
    description = mapped("description", BODY_LIMIT)
    where = f"webhook source '{source.name}'"
    return Item(
        title=title,
        origin="webhook",
        dedup_key=mapped("dedup_key", FIELD_LIMIT),
        instruction=source.prompt or WEBHOOK_INSTRUCTION.format(name=source.name),
        context=[
            Untrusted(f"title from the {where}", title),
            *([Untrusted(f"description from the {where}", description)] if description else []),
        ],
        origin_context={},
        overrides=overrides,
    )
