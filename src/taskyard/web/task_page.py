"""The read-only page of one task: what links taskyard writes point at.

Pull request bodies, comments and notifications link ``<public_url>/tasks/<key>``. Until a
dashboard exists this page is that link's target: the task, where it is, and its pull
requests with their diffs. Everything shown is escaped: titles, descriptions, bodies and
patches are text people outside the organization (and agents) may have written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from html import escape

from taskyard.db.models import PullRequest, Task

MAX_PATCH = 200_000
STYLE = (
    "body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
    "pre{background:#f5f5f5;padding:.75rem;overflow:auto;white-space:pre-wrap}"
    "dt{font-weight:600;float:left;width:9rem}dd{margin:0 0 .3rem 9rem}"
    ".ins{color:#116329}.del{color:#82071e}"
)


def page(title: str, body: str) -> str:
    """A whole page: no external assets, the style inline."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width"><title>{escape(title)}</title>'
        f'<meta name="robots" content="noindex"><style>{STYLE}</style></head>'
        f"<body>{body}</body></html>"
    )


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


def _fields(pairs: Iterable[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in pairs) + "</dl>"


def _link(url: str, text: str) -> str:
    # Only web links become anchors: a stored URL is never trusted to be one.
    if url.startswith(("https://", "http://")):
        return f'<a href="{escape(url)}" rel="noreferrer noopener">{escape(text)}</a>'
    return escape(text)


def _patch(patch: str) -> str:
    clipped = patch[:MAX_PATCH]
    lines = []
    for line in clipped.splitlines():
        css = "ins" if line.startswith("+") else "del" if line.startswith("-") else ""
        lines.append(f'<span class="{css}">{escape(line)}</span>' if css else escape(line))
    more = "\n… (clipped; `taskyard tasks diff` prints all of it)" if len(patch) > MAX_PATCH else ""
    return "<pre>" + "\n".join(lines) + escape(more) + "</pre>"


def _pull(pull: PullRequest) -> str:
    where = pull.url or f"{pull.repository} (local forge)"
    return (
        f"<h3>#{pull.number} {escape(pull.title)}</h3>"
        + _fields(
            [
                ("State", pull.state),
                ("Branch", f"{pull.head} → {pull.base}"),
                (
                    "Changes",
                    f"{pull.files_changed} files, +{pull.additions} -{pull.deletions}",
                ),
            ]
        )
        + f"<p>{_link(pull.url, where)}</p>"
        + (f"<pre>{escape(pull.body)}</pre>" if pull.body else "")
        + _patch(pull.patch)
    )


def render_task(task: Task, pulls: list[PullRequest]) -> str:
    """The task's page: its fields, description and pull requests."""
    status = task.status + (f" ({task.status_message})" if task.status_message else "")
    agent = task.agent_state + (f": {task.agent_message}" if task.agent_message else "")
    body = (
        f"<h1>{escape(task.key)} · {escape(task.title)}</h1>"
        + _fields(
            [
                ("Status", status),
                ("Stage", task.stage or "-"),
                ("Agent", agent or "-"),
                ("Repository", task.repository),
                ("Branch", task.branch),
                ("Origin", task.origin),
                ("Created", _when(task.created_at)),
                ("Ended", _when(task.ended_at)),
            ]
        )
        + (f"<h2>Description</h2><pre>{escape(task.description)}</pre>" if task.description else "")
        + "<h2>Pull requests</h2>"
        + ("".join(_pull(p) for p in pulls) or "<p>None yet.</p>")
        + f"<p>From a terminal: <code>taskyard tasks show {escape(task.key)}</code></p>"
    )
    return page(f"{task.key} · {task.title}", body)
