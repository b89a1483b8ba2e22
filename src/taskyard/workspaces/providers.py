"""The sandbox kinds: providers found through the ``taskyard.sandboxes`` entry points."""

from __future__ import annotations

from taskyard.config import Settings
from taskyard.model.errors import InvalidInput
from taskyard.model.registry import SANDBOXES, Registry
from taskyard.model.template import TemplateSpec
from taskyard.workspaces.sandbox import SandboxProvider

SANDBOX_PROVIDERS: Registry[SandboxProvider] = Registry(SANDBOXES, "sandbox provider")


def provider_for(kind: str, settings: Settings) -> SandboxProvider:
    """The provider ``kind``, checked to be usable here and allowed by ``settings``.

    One that does not isolate (``none`` runs the agent on the host with the
    server's privileges) only where the operator said so (``TASKYARD_ALLOW_UNSANDBOXED``).
    """
    provider = _allowed_provider(kind, settings)
    provider.check_available()
    return provider


def sandbox_for(spec: TemplateSpec, settings: Settings) -> SandboxProvider:
    """:func:`provider_for` the template's sandbox, its network allowed by ``settings``."""
    refuse_disallowed(spec, settings)
    return provider_for(spec.sandbox, settings)


def refuse_disallowed(spec: TemplateSpec, settings: Settings) -> None:
    """Refuse a template whose sandbox or network this server's operator has not allowed:
    when it is pushed, so its author learns at once, and again before each run (the
    operator may have changed their mind since, and a worker's settings are its own).

    ``network: full`` shares the host's network, whose loopback services (an embedded
    Temporal server answers anyone there) and neighbours are the whole server's, so only
    where the operator said so (``TASKYARD_ALLOW_FULL_NETWORK``).
    """
    if spec.network.policy == "full" and not settings.allow_full_network:
        raise InvalidInput(
            "Templates with `network: full` share the host's network (the server's own "
            "services, its neighbours), and this server does not allow them: use "
            "`network: allowlist` with the hosts the agent needs, or set "
            "TASKYARD_ALLOW_FULL_NETWORK=true if every template author is trusted."
        )
    _allowed_provider(spec.sandbox, settings)


def _allowed_provider(kind: str, settings: Settings) -> SandboxProvider:
    provider = SANDBOX_PROVIDERS.get(kind)
    if not provider.info.isolated and not settings.allow_unsandboxed:
        raise InvalidInput(
            f"Templates with `sandbox: {kind}` run the agent on the host with the server's "
            "privileges, and this server does not allow them: use `sandbox: bubblewrap`, "
            "or set TASKYARD_ALLOW_UNSANDBOXED=true for trusted templates."
        )
    return provider
