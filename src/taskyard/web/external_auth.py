"""``/settings/external-auth``: how people link their GitHub account, and how it went.

Linking starts from a signed-in client (the CLI, or the API), which gets a one-time URL
to open in a browser; the page says so, and after GitHub sends the browser back, what
became of it. Everything shown is escaped: logins and GitHub's words are not ours.
"""

from __future__ import annotations

from html import escape

STYLE = "body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"

HOW = (
    "<p>Tasks can start from GitHub issues and comments only for people whose GitHub "
    "account is linked to their taskyard user. To link yours, run</p>"
    "<pre>taskyard account link-github</pre>"
    "<p>(or <code>POST /api/v1/identities/github/link</code> with your API token) and "
    "open the URL it prints within ten minutes: GitHub asks you to sign in and to let "
    "taskyard see your account's ID and login, nothing else. An admin can also link "
    "an account for you: <code>taskyard users link &lt;username&gt; --github-id "
    "&lt;id&gt;</code>.</p>"
)


def page(title: str, body: str) -> str:
    """A whole page: no external assets, the style inline."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width"><title>{escape(title)}</title>'
        f'<meta name="robots" content="noindex"><style>{STYLE}</style></head>'
        f"<body>{body}</body></html>"
    )


def render_external_auth(title: str = "", message: str = "") -> str:
    """The page, with an outcome above the instructions when there is one."""
    outcome = f"<h2>{escape(title)}</h2><p>{escape(message)}</p>" if title else ""
    return page("Linked accounts · taskyard", f"<h1>Linked accounts</h1>{outcome}{HOW}")
