"""The security headers every response carries, set once at the edge.

Set here rather than by each page's renderer so nothing escapes them: redirects, error
pages, htmx fragments, event streams and the API's JSON alike. A route that sets one of
these headers itself keeps its own value.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline script or style runs, and nothing loads from elsewhere: a page that somehow
# printed an attacker's markup still could not execute it. No other site may frame a page
# (a hidden frame over an Approve or Merge button would be clickjacking): frame-ancestors
# for browsers that read CSP, X-Frame-Options for those that do not.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# Pages hold a person's data and their CSRF token: never kept by a shared cache. The
# static files are versioned by their name and may be.
NO_STORE = {"Cache-Control": "no-store"}
STATIC = "/static/"


class SecurityHeaders:
    """ASGI middleware adding :data:`SECURITY_HEADERS` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = dict(SECURITY_HEADERS)
        if not scope["path"].startswith(STATIC):
            added.update(NO_STORE)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in added.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
