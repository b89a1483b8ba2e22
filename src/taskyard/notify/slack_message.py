"""What a notice looks like in Slack: Block Kit blocks and the plain ``text`` fallback
that notifications and screen readers show.

Every piece of task text is escaped for mrkdwn (``&``, ``<``, ``>``), so a title such as
``<!channel>`` or ``<https://evil.example|Click>`` is shown as typed instead of
mentioning everyone or linking elsewhere. Only the task's own URLs become links.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from taskyard.notify.base import Notice
from taskyard.notify.facts import facts, is_web

# Slack's own limits: characters of a section's text, of a field, of a message's text.
SECTION_CHARS = 3000
FIELD_CHARS = 2000
TITLE_CHARS = 250


def escape(text: str) -> str:
    """``text`` as mrkdwn shows it literally: no links, mentions or dates it could open."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def bounded(text: str, limit: int) -> str:
    """``text`` escaped, cut to ``limit`` characters between entities, never inside one."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    pieces, size = [], 1  # room for the ellipsis
    for char in text:
        piece = escape(char)
        if size + len(piece) > limit:
            break
        pieces.append(piece)
        size += len(piece)
    return "".join(pieces) + "…"


def link(url: str, label: str) -> str:
    """A mrkdwn link to ``url`` labelled ``label`` (mrkdwn); the label alone unless
    ``url`` is a web address (a relative one when TASKYARD_PUBLIC_URL is unset)."""
    if not is_web(url):
        return label
    # `|` ends the URL part of a link and `>` the link itself: neither may appear raw.
    target = escape(url).replace("|", "%7C")
    return f"<{target}|{label}>"


def fallback(notice: Notice) -> str:
    """The message's ``text``: one escaped line and the task's link."""
    line = bounded(notice.subject, TITLE_CHARS)
    return f"{line} {link(notice.url, 'Open')}" if is_web(notice.url) else line


def blocks(notice: Notice) -> list[dict[str, Any]]:
    """The message's Block Kit blocks."""
    shown = facts(notice)
    title = bounded(shown.title, TITLE_CHARS)
    heading = f"*{link(notice.url, escape(shown.key))}* {title}" if shown.key else f"*{title}*"
    fields = [
        {"type": "mrkdwn", "text": f"*{label}*\n{bounded(value, FIELD_CHARS - 20)}"}
        for label, value in (("State", shown.state), ("Stage", shown.stage))
        if value
    ]
    result: list[dict[str, Any]] = [{"type": "section", "text": _mrkdwn(heading)}]
    if fields:
        result.append({"type": "section", "fields": fields})
    if shown.reason:
        reason = f"*Reason*\n{bounded(shown.reason, SECTION_CHARS - 20)}"
        result.append({"type": "section", "text": _mrkdwn(reason)})
    if shown.details:
        result.append({"type": "section", "text": _mrkdwn(bounded(shown.details, SECTION_CHARS))})
    links = [link(notice.url, "Open the task")] if is_web(notice.url) else []
    if shown.pull_request:
        links.append(link(shown.pull_request, "Pull request"))
    context = " · ".join([*links, escape(notice.event), when(notice.occurred_at)])
    result.append({"type": "context", "elements": [_mrkdwn(context)]})
    return result


def when(moment: dt.datetime) -> str:
    """The time in each reader's own time zone (Slack's date token), UTC where unsupported."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    shown = moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{shown}>"


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}
