"""The model providers the proxy forwards to, and where their real keys come from.

Each provider has a path prefix on the gateway, an upstream base URL (a setting),
the header its API takes the key in, and the organization secret that holds the
key (read by :mod:`taskyard.services.model_keys`, which falls back to the
server-wide setting).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from taskyard.agents.registry import adapter_for
from taskyard.config import Settings
from taskyard.model.registry import PluginError


@dataclass(frozen=True)
class Provider:
    """One upstream model API.

    Attributes:
        name: ``anthropic`` or ``openai``.
        label: Its name for people, in error messages.
        prefix: Gateway path prefix; the rest of the path is appended to the upstream.
        secret: Organization secret holding the real key.
        base_url: Reads the upstream base URL from the settings.
        fallback_key: Reads the server-wide key from the settings.
        auth_header: The header the upstream takes the key in, and how.
    """

    name: str
    label: str
    prefix: str
    secret: str
    base_url: Callable[[Settings], str]
    fallback_key: Callable[[Settings], str]
    auth_header: Callable[[str], tuple[str, str]]

    def setting_name(self) -> str:
        """The environment variable of the fallback key."""
        return f"TASKYARD_{self.secret}"


ANTHROPIC = Provider(
    name="anthropic",
    label="Anthropic",
    prefix="/anthropic",
    secret="ANTHROPIC_API_KEY",
    base_url=lambda s: s.anthropic_base_url,
    fallback_key=lambda s: s.anthropic_api_key,
    auth_header=lambda key: ("x-api-key", key),
)
# The OpenAI base URL carries its version (``…/v1``), as OPENAI_BASE_URL does for
# OpenAI's own SDKs; the prefix carries it too, so ``/openai/v1/responses`` maps to
# ``<base>/responses`` and clients that append ``/v1`` themselves (Codex) fit.
OPENAI = Provider(
    name="openai",
    label="OpenAI",
    prefix="/openai/v1",
    secret="OPENAI_API_KEY",
    base_url=lambda s: s.openai_base_url,
    fallback_key=lambda s: s.openai_api_key,
    auth_header=lambda key: ("authorization", f"Bearer {key}"),
)
GOOGLE = Provider(
    name="google",
    label="Gemini",
    prefix="/google",
    secret="GEMINI_API_KEY",
    base_url=lambda s: s.gemini_base_url,
    fallback_key=lambda s: s.gemini_api_key,
    auth_header=lambda key: ("x-goog-api-key", key),
)
PROVIDERS = {p.name: p for p in (ANTHROPIC, OPENAI, GOOGLE)}


def provider_for_agent(kind: str) -> Provider | None:
    """The provider an agent kind talks to (its adapter says), if it talks to one."""
    name = adapter_for(kind).info.provider
    if name and name not in PROVIDERS:
        raise PluginError(
            f"The agent kind '{kind}' speaks the model provider '{name}', which the gateway "
            f"does not know. Known: {', '.join(sorted(PROVIDERS))}."
        )
    return PROVIDERS[name] if name else None
