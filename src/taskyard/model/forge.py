"""Where a repository's forge is, and how git reaches one of its repositories.

Words shared by the layer that decides (services: configuration), the one that
knows each forge (forges/) and the one that runs git (workspaces/).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class ForgeSite:
    """A forge kind and where it is; empty URLs mean the forge's own defaults."""

    kind: str
    url: str = ""  # web and git host, e.g. https://github.example.com
    api_url: str = ""  # REST API base, e.g. https://github.example.com/api/v3


@dataclass(frozen=True)
class GitRemote:
    """What git fetches from and pushes to: a URL that never holds a credential,
    and the environment that carries one (``GIT_CONFIG_*`` variables), kept out of
    every argument list, config file and log line."""

    url: str
    env: Mapping[str, str] = field(default_factory=dict, repr=False)


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lower-cased, its scheme's default port left out:
    what a credential sent to ``url`` is sent to, as a browser scopes one.

    Raises ``ValueError`` for what is not an http(s) URL with a host.
    """
    parts = urlsplit(url.strip())
    scheme, host, port = parts.scheme.lower(), (parts.hostname or "").rstrip("."), parts.port
    if scheme not in DEFAULT_PORTS or not host:
        raise ValueError(f"'{url[:200]}' is not an http(s) URL")
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{port}" if port and port != DEFAULT_PORTS[scheme] else "")
