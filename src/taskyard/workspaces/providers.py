"""Looks up the sandbox provider a template names."""

from __future__ import annotations

from taskyard.errors import InvalidInput
from taskyard.workspaces.bubblewrap import BubblewrapProvider
from taskyard.workspaces.docker import DockerProvider
from taskyard.workspaces.host import HostProvider
from taskyard.workspaces.sandbox import SandboxProvider

_PROVIDERS: dict[str, SandboxProvider] = {
    p.name: p for p in (HostProvider(), BubblewrapProvider(), DockerProvider())
}


def register(provider: SandboxProvider) -> None:
    _PROVIDERS[provider.name] = provider


def provider_for(name: str) -> SandboxProvider:
    try:
        provider = _PROVIDERS[name]
    except KeyError:
        raise InvalidInput(
            f"No sandbox provider '{name}'. Available: {', '.join(sorted(_PROVIDERS))}."
        ) from None
    provider.check_available()
    return provider
