"""The dashboard's pages: HTML for people, over the same services as the API.

Each module holds the routes of one part of the dashboard; ``ROUTERS`` is what the app
mounts. Pages are not part of the API's description.
"""

from __future__ import annotations

from taskyard.api.pages import board, board_stream, new_task, pulls, session, task, task_live

# /tasks/{ref} comes after every other /tasks/... page (such as /tasks/new).
ROUTERS = [
    session.router,
    new_task.router,
    board.router,
    board_stream.router,
    pulls.router,
    task_live.router,
    task.router,
]
