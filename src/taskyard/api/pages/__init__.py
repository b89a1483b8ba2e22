"""The dashboard's pages: HTML for people, over the same services as the API.

Each module holds the routes of one part of the dashboard; ``ROUTERS`` is what the app
mounts. Pages are not part of the API's description.
"""

from __future__ import annotations

from taskyard.api.pages import (
    account,
    linked_accounts,
    notifications,
    secrets,
    session,
    templates,
    workflows,
)

ROUTERS = [
    session.router,
    account.router,
    secrets.router,
    linked_accounts.router,
    notifications.router,
    templates.router,
    workflows.router,
]
