"""What one agent turn gets from the gateway: a credential, URLs and the bridged service."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from taskyard.gateway.credentials import Grant, new_credential
from taskyard.gateway.providers import provider_for_agent
from taskyard.gateway.server import Gateway
from taskyard.model.redaction import Redactor
from taskyard.model.template import Budget, ModelPrice
from taskyard.workspaces.netbridge import HostService

SERVICE_NAME = "gateway"


@dataclass(frozen=True)
class TurnAccess:
    """The gateway as one turn sees it.

    Attributes:
        credential: The turn's credential (the agent's only "API key").
        model_base_url: The proxy's URL for the agent's provider, or ``""``.
        mcp_url: The status MCP endpoint for this turn, or ``""``.
        services: What the sandbox must bridge in for the URLs to work.
        redactor: Masks the task's secrets and the credential in stored events.
        metered: Whether the gateway meters the turn's model calls (and so keeps its
            books and budgets); otherwise the agent's own usage reports are all there is.
        revoke: Revokes the credential now, before the turn is over (a stop).
    """

    credential: str = ""
    model_base_url: str = ""
    mcp_url: str = ""
    services: list[HostService] = field(default_factory=list)
    redactor: Redactor = field(default_factory=Redactor)
    metered: bool = False
    revoke: Callable[[], None] = lambda: None


@contextmanager
def turn_access(
    gateway: Gateway | None,
    *,
    task_id: int,
    task_key: str,
    org_id: int,
    run_id: int,
    agent_kind: str,
    secrets: Iterable[str] = (),
    budget: Budget | None = None,
    prices: dict[str, ModelPrice] | None = None,
) -> Iterator[TurnAccess]:
    """Issue a credential for one turn, and revoke it when the turn is over.

    Without a gateway (a turn run outside a worker runtime) the turn gets no
    credential and no URLs, and the agent's CLI its own defaults.

    Args:
        gateway: The worker's gateway, which the runtime hands the activities.
        task_id: The task the turn works on.
        task_key: Its key, for the gateway's log lines.
        org_id: The organization whose provider keys the proxy uses.
        run_id: The run the turn belongs to.
        agent_kind: The agent's kind, which decides the one provider it may reach.
        secrets: Secret values of the task, to redact with the credential.
        budget: The task's budget, kept by the model proxy at every call.
        prices: The template's model prices.
    """
    secrets = list(secrets)
    if gateway is None:
        yield TurnAccess(redactor=Redactor(secrets))
        return
    provider = provider_for_agent(agent_kind)
    credential = new_credential()
    redactor = Redactor([*secrets, credential])
    grant = Grant(
        task_id,
        task_key,
        org_id,
        run_id,
        provider.name if provider else "",
        redactor,
        budget or Budget(),
        prices or {},
    )
    gateway.credentials.add(credential, grant)

    def revoke() -> None:
        gateway.credentials.revoke(credential)

    try:
        yield TurnAccess(
            credential=credential,
            model_base_url=gateway.url + provider.prefix if provider else "",
            mcp_url=f"{gateway.url}/mcp/{credential}",
            # The same port inside the sandbox as on the host: one URL for every provider
            # and network policy (a sandbox sharing the host network uses it directly).
            services=[HostService(SERVICE_NAME, f"127.0.0.1:{gateway.port}", gateway.port)],
            redactor=redactor,
            metered=provider is not None,
            revoke=revoke,
        )
    finally:
        gateway.credentials.revoke(credential)
