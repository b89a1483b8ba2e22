"""One open task per thread: the conversation a task answers (``github:acme/shop#12``).

While a task of a thread is open, whatever else arrives on that thread is a message to
it, not a new task. Finding the open task and creating one must not interleave, or two
requests on the same thread at once would both find none and both create a task. So
:func:`open_task` first takes a lock that holds until the transaction ends:

- PostgreSQL: the organization's row, ``FOR NO KEY UPDATE`` (threads are per
  organization, and a task of any team may hold one). This mode waits only for another
  holder of the same lock: inserting a task elsewhere in the organization takes only
  ``FOR KEY SHARE`` on that row (its foreign key), which it does not block. Creates
  without a thread never take it. It is taken before the team's counter, which every
  create takes, so the two are always acquired in the same order.
- SQLite: a writing transaction already holds the database's write lock from its first
  statement (``BEGIN IMMEDIATE``, see ``db/session.py``); SQLAlchemy emits no ``FOR``
  clause there.

A task that ended frees its thread: the next create on it starts a new task.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskyard.db.models import Organization, Task
from taskyard.model.status import FINAL


def open_task(session: Session, org_id: int, thread: str) -> Task | None:
    """The organization's open task on ``thread``, with the thread locked until commit."""
    session.execute(
        select(Organization.id).where(Organization.id == org_id).with_for_update(key_share=True)
    )
    return session.scalar(
        select(Task)
        .where(Task.org_id == org_id, Task.thread == thread, Task.status.not_in(FINAL))
        .order_by(Task.id.desc())
        .limit(1)
    )
