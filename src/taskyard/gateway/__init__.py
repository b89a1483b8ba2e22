"""The agent gateway: what agents in sandboxes talk to instead of the outside world's APIs.

One loopback HTTP server per worker process (:class:`Gateway`) serves:

- the model proxy (:mod:`~taskyard.gateway.model_proxy`): ``/anthropic/...``,
  ``/openai/v1/...`` and ``/google/...``, forwarded upstream with the organization's
  real key in place of the turn's credential, streamed through, each call metered
  (:mod:`~taskyard.gateway.metering`) and booked on its task with its cost;
- the status MCP endpoint (:mod:`~taskyard.gateway.mcp_status`): ``/mcp/<credential>``,
  whose ``report_status`` tool records the agent's own account of its state.

Turns get a credential, the URLs and the bridged service from :func:`turn_access`;
credentials live only while their turn runs, and only while their task is neither final
nor stopped (a cancel or a budget recorded on it, read from the database at every call).
"""

from __future__ import annotations

from taskyard.gateway.access import TurnAccess, turn_access
from taskyard.gateway.credentials import CredentialStore, Grant, new_credential
from taskyard.gateway.providers import PROVIDERS, Provider, provider_for_agent
from taskyard.gateway.server import Gateway

__all__ = [
    "PROVIDERS",
    "CredentialStore",
    "Gateway",
    "Grant",
    "Provider",
    "TurnAccess",
    "new_credential",
    "provider_for_agent",
    "turn_access",
]
