"""What the tracking comment says: written from the task's state at the moment it is posted.

Most of it is taskyard's own words; what an agent or an error wrote (the agent's
message, the status message, a failure reason) is hostile text and is shown as code,
where GitHub renders no mention, link, image or HTML, cut to a length.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from taskyard.model.status import TaskStatus

QUOTED_LIMIT = 300  # characters of an agent's or a status message
REASON_LIMIT = 2_000  # characters of a failure reason
MARKDOWN = re.compile(r"([\\`*_{}\[\]<>()#+!|~@-])")


@dataclass(frozen=True)
class PullView:
    url: str
    number: int
    state: str  # open, closed, merged
    draft: bool


@dataclass(frozen=True)
class TaskView:
    """The task as the comment shows it."""

    key: str
    link: str  # the task's page, or "" when the server has no public URL
    stage: str  # the stage's name
    status: str
    status_message: str
    agent_state: str
    agent_message: str
    cost_usd: float
    created_at: dt.datetime
    ended_at: dt.datetime | None
    pulls: tuple[PullView, ...] = ()


def render(task: TaskView, now: dt.datetime) -> str:
    """The comment's body: the task's link first, then where the task is, then its result."""
    lines = [f"Task created: {task.link or task.key}", ""]
    elapsed = _duration((task.ended_at or now) - task.created_at)
    facts = [f"**{task.status.capitalize()}**"]
    if task.stage:
        facts.append(f"stage {_escaped(task.stage)}")
    facts += [elapsed, f"${task.cost_usd:.2f}"]
    lines.append(" · ".join(facts))
    if task.status == TaskStatus.FAILED:
        lines += ["", "Failure reason:", *_block(task.status_message or "unknown")]
    elif task.status_message:
        lines += ["", _code(task.status_message)]
    if task.agent_state and task.status not in (TaskStatus.COMPLETED, TaskStatus.FAILED):
        agent = f"Agent: {_escaped(task.agent_state)}"
        lines.append(f"{agent} {_code(task.agent_message)}" if task.agent_message else agent)
    for pull in task.pulls:
        lines += ["", f"Pull request: {pull.url or f'#{pull.number}'} ({_pull_state(pull)})"]
    return "\n".join(lines)


def _pull_state(pull: PullView) -> str:
    if pull.state == "open":
        return "draft" if pull.draft else "ready for review"
    return pull.state


def _duration(span: dt.timedelta) -> str:
    seconds = max(int(span.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def _escaped(text: str) -> str:
    """Words of the organization's configuration (a stage's name): literal, on one line."""
    return MARKDOWN.sub(r"\\\1", " ".join(text.split()))


def _code(text: str) -> str:
    """One line of hostile text as an inline code span: fenced by more backticks than it holds."""
    flat = " ".join(text.split())
    if len(flat) > QUOTED_LIMIT:
        flat = flat[: QUOTED_LIMIT - 1] + "…"
    fence = "`" * (_longest_run(flat) + 1)
    return f"{fence} {flat} {fence}"


def _block(text: str) -> list[str]:
    """Hostile text, many lines, as a fenced code block no line of it can close."""
    if len(text) > REASON_LIMIT:
        text = text[: REASON_LIMIT - 1] + "…"
    fence = "`" * max(3, _longest_run(text) + 1)
    return [fence, *text.splitlines(), fence]


def _longest_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)
