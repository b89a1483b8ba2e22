"""The dashboard's pages: HTML for people, over the same services as the API.

Each module holds the routes of one part of the dashboard; ``ROUTERS`` is what the app
mounts. Pages are not part of the API's description.
"""

from __future__ import annotations

from taskyard.api.pages import (
    account,
    board,
    board_stream,
    linked_accounts,
    new_task,
    notifications,
    pulls,
    secrets,
    session,
    task,
    task_live,
    templates,
    workflows,
)

# /tasks/{ref} comes after every other /tasks/... page (such as /tasks/new): the first
# route that matches a path takes it.
ROUTERS = [
    session.router,
    new_task.router,
    board.router,
    board_stream.router,
    account.router,
    secrets.router,
    linked_accounts.router,
    notifications.router,
    templates.router,
    workflows.router,
    pulls.router,
    task_live.router,
    task.router,
]
