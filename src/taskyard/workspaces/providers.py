"""Looks up the sandbox provider a template names."""

from __future__ import annotations

from taskyard.config import Settings, get_settings
from taskyard.model.errors import InvalidInput
from taskyard.workspaces.bubblewrap import BubblewrapProvider
from taskyard.workspaces.docker import DockerProvider
from taskyard.workspaces.host import HostProvider
from taskyard.workspaces.sandbox import SandboxProvider

_PROVIDERS: dict[str, SandboxProvider] = {
    p.name: p for p in (HostProvider(), BubblewrapProvider(), DockerProvider())
}


def register(provider: SandboxProvider) -> None:
    _PROVIDERS[provider.name] = provider


def provider_for(name: str, settings: Settings | None = None) -> SandboxProvider:
    """The provider ``name``, checked to be usable here and allowed by ``settings``.

    ``none`` runs the agent on the host with the server's privileges: only where
    the operator said so (``TASKYARD_ALLOW_UNSANDBOXED``).
    """
    settings = settings or get_settings()
    if name == HostProvider.name and not settings.allow_unsandboxed:
        raise InvalidInput(
            "Templates with `sandbox: none` run the agent on the host with the server's "
            "privileges, and this server does not allow them: use `sandbox: bubblewrap`, "
            "or set TASKYARD_ALLOW_UNSANDBOXED=true for trusted templates."
        )
    try:
        provider = _PROVIDERS[name]
    except KeyError:
        raise InvalidInput(
            f"No sandbox provider '{name}'. Available: {', '.join(sorted(_PROVIDERS))}."
        ) from None
    provider.check_available()
    return provider
