"""A task's reviewers: the people asked to review it, who hear of it as its creator does.

Usernames of the task's organization: one of another organization, or of nobody, is
refused by name. The notices (:mod:`services.task_notices`) go to the creator and the
reviewers, each by their own preferences; a reviewer added later hears only of what
happens after. Setting them on an existing task is :func:`services.actions.set_reviewers`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated

from pydantic import AfterValidator
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from taskyard.db.models import TaskReviewer, User
from taskyard.model.errors import InvalidInput
from taskyard.model.inputs import Name

MAX_REVIEWERS = 20


def _folded(names: list[str]) -> list[str]:
    """Each username once, in the order given; at most :data:`MAX_REVIEWERS` of them."""
    if any(not name.strip() for name in names):
        raise ValueError("a reviewer's username must not be blank")
    folded = list(dict.fromkeys(names))
    if len(folded) > MAX_REVIEWERS:
        raise ValueError(f"at most {MAX_REVIEWERS} reviewers, {len(folded)} given")
    return folded


#: The usernames a request names as reviewers, duplicates folded.
Reviewers = Annotated[list[Name], AfterValidator(_folded)]
DESCRIBED = (
    f"Usernames of the organization's people asked to review the task (at most "
    f"{MAX_REVIEWERS}; duplicates folded): they hear of it as its creator does, by their "
    "own notification preferences."
)


def resolve(session: Session, org_id: int, usernames: Sequence[str]) -> list[User]:
    """The organization's users by these usernames; any that is not one is refused by name."""
    if not usernames:
        return []
    found = {
        user.username: user
        for user in session.scalars(
            select(User).where(User.org_id == org_id, User.username.in_(usernames))
        )
    }
    unknown = [name for name in usernames if name not in found]
    if unknown:
        quoted = ", ".join(f"'{name}'" for name in unknown)
        said = "Reviewer {} is not a user" if len(unknown) == 1 else "Reviewers {} are not users"
        raise InvalidInput(
            said.format(quoted) + " of this organization.", details={"unknown": unknown}
        )
    return [found[name] for name in usernames]


def replace(session: Session, task_id: int, users: Iterable[User]) -> tuple[list[str], list[str]]:
    """Make ``users`` the task's reviewers; the usernames added and removed, sorted."""
    wanted = {user.id: user.username for user in users}
    current: dict[int, str] = {
        user_id: username
        for user_id, username in session.execute(
            select(User.id, User.username)
            .join(TaskReviewer, TaskReviewer.user_id == User.id)
            .where(TaskReviewer.task_id == task_id)
        )
    }
    gone = set(current) - set(wanted)
    if gone:
        session.execute(
            delete(TaskReviewer).where(
                TaskReviewer.task_id == task_id, TaskReviewer.user_id.in_(gone)
            )
        )
    new = wanted.keys() - current.keys()
    session.add_all(TaskReviewer(task_id=task_id, user_id=user_id) for user_id in new)
    session.flush()
    return sorted(wanted[i] for i in new), sorted(current[i] for i in gone)


def user_ids(session: Session, task_id: int) -> list[int]:
    """The task's reviewers' user ids, in the order they were asked."""
    query = select(TaskReviewer.user_id).where(TaskReviewer.task_id == task_id)
    return list(session.scalars(query.order_by(TaskReviewer.id)))


def usernames(session: Session, task_id: int) -> list[str]:
    """The task's reviewers' usernames, sorted."""
    return usernames_by_task(session, [task_id]).get(task_id, [])


def usernames_by_task(session: Session, task_ids: Sequence[int]) -> dict[int, list[str]]:
    """Each task's reviewers' usernames, sorted, in one query for a page of tasks
    (a task without reviewers is absent)."""
    if not task_ids:
        return {}
    result: dict[int, list[str]] = {}
    for task_id, username in session.execute(
        select(TaskReviewer.task_id, User.username)
        .join(User, User.id == TaskReviewer.user_id)
        .where(TaskReviewer.task_id.in_(task_ids))
        .order_by(User.username)
    ):
        result.setdefault(task_id, []).append(username)
    return result
