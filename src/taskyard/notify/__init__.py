"""Notification channels: one module per way out (webhook, Slack, email), all behind
:class:`taskyard.notify.base.Channel` and found by kind in
:data:`taskyard.notify.registry.CHANNELS` (entry-point group ``taskyard.channels``).

This is a plug-in layer: it imports ``taskyard.model`` and ``taskyard.config`` only. The
outbox, preferences and the sending loop live in ``services/notifications.py`` and
``engine/notifications.py``.
"""
