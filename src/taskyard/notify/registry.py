"""The notification channels: found through the ``taskyard.channels`` entry points.

taskyard's own channels (webhook, Slack, email) are declared in its ``pyproject.toml``
exactly as a third party's are (see docs/extending.md).
"""

from __future__ import annotations

from taskyard.model.registry import CHANNELS as CHANNEL_GROUP
from taskyard.model.registry import Registry
from taskyard.notify.base import Channel

CHANNELS: Registry[Channel] = Registry(CHANNEL_GROUP, "notification channel")


def channel_for(kind: str) -> Channel:
    """The channel of ``kind``; ``PluginError`` (listing the kinds there are) if none."""
    return CHANNELS.get(kind)
