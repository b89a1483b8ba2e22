"""What Slack's refusals mean: a retry later, or a message saying what a person must fix.

The Web API names its errors in ``{"ok": false, "error": …}`` (HTTP 200); incoming
webhooks answer a 4xx with the error's name as the body. Both name them alike.
"""

from __future__ import annotations

import httpx

from taskyard.notify.base import ChannelError

TRANSIENT = {
    "ratelimited",
    "rate_limited",
    "fatal_error",
    "internal_error",
    "service_unavailable",
    "request_timeout",
    "rollup_error",
}
BAD_TOKEN = (
    "Slack does not accept the bot token ({error}): it is wrong, revoked or expired. Put "
    "the app's current Bot User OAuth Token (xoxb-…) in your Slack notification settings."
)
FIXES = {
    "invalid_auth": BAD_TOKEN,
    "not_authed": BAD_TOKEN,
    "token_revoked": BAD_TOKEN,
    "token_expired": BAD_TOKEN,
    "account_inactive": BAD_TOKEN,
    "channel_not_found": (
        "Slack finds no channel {channel} for this app: check the channel id (at the bottom "
        "of the channel's details); for a private channel, invite the app first."
    ),
    "not_in_channel": (
        "The app is not in channel {channel}: invite it there (`/invite @your-app`), or "
        "give it the chat:write.public scope."
    ),
    "is_archived": "Channel {channel} is archived: unarchive it or choose another channel.",
    "channel_is_archived": "The webhook's channel is archived: unarchive it or make a new webhook.",
    "missing_scope": (
        "The Slack app lacks the chat:write scope: add it under OAuth & Permissions, "
        "reinstall the app, and use the new bot token."
    ),
    "restricted_action": "The workspace's settings do not let this app post in {channel}.",
    "no_service": (
        "The Slack webhook URL no longer works (no_service): the webhook was removed or its "
        "app uninstalled. Make a new incoming webhook and put its URL in your settings."
    ),
    "invalid_token": (
        "The Slack webhook URL is not valid (invalid_token): copy it again from the app's "
        "Incoming Webhooks page."
    ),
    "action_prohibited": "The workspace's admins prohibit posting with this webhook.",
}


def retry_wait(response: httpx.Response) -> float | None:
    """Seconds Slack asks to wait before the same request again; None if it did not."""
    if response.status_code != 429:
        return None
    try:
        return max(float(response.headers.get("retry-after", "1")), 0.0)
    except ValueError:
        return 1.0


def _said(response: httpx.Response) -> str:
    """Slack's error name, from a webhook's plain body or a JSON answer."""
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:100]
    return str(data.get("error", ""))[:100] if isinstance(data, dict) else ""


def api_error(method: str, error: str, channel: str) -> ChannelError:
    """The failure ``{"ok": false, "error": error}`` from ``method`` is."""
    if error in TRANSIENT:
        return ChannelError(f"Slack's {method} failed for now ({error}).", retry=True)
    fix = FIXES.get(error)
    if fix is not None:
        return ChannelError(fix.format(error=error, channel=channel), retry=False)
    return ChannelError(
        f"Slack refused {method} ({error}); see https://api.slack.com/methods/{method}.",
        retry=False,
    )


def http_error(response: httpx.Response, wait: float | None) -> ChannelError:
    """The failure a non-200 answer is (the Web API's, or an incoming webhook's)."""
    code = response.status_code
    error = _said(response)
    if wait is not None:
        return ChannelError(
            f"Slack is rate-limiting these messages; it asked to wait {wait:.0f} s.",
            retry=True,
            status_code=code,
        )
    if code >= 500 or error in TRANSIENT:
        return ChannelError(f"Slack answered {code} ({error}).", retry=True, status_code=code)
    if error == "channel_not_found":  # an incoming webhook names no channel to check
        error = "channel_is_archived" if code == 410 else "no_service"
    fix = FIXES.get(error)
    if fix is not None:
        return ChannelError(fix.format(error=error), retry=False, status_code=code)
    return ChannelError(
        f"Slack refused the message ({code}, {error or 'no reason given'}): check the "
        "webhook URL (or TASKYARD_SLACK_API_URL).",
        retry=False,
        status_code=code,
    )
