"""``taskyard forges``: which forge the organization's repositories are on."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import click

from taskyard.cli.context import globals_of, pass_client
from taskyard.cli.output import Column, done, emit, emit_json
from taskyard.sdk import Client
from taskyard.sdk._wire import Call, parse_json, parse_nothing

API = "/api/v1/forges"
SITE_COLUMNS: list[Column] = [
    ("REPOSITORY", lambda r: r.get("repository") or "(default)"),
    ("FORGE", "kind"),
    ("URL", lambda r: r["url"] or "(forge default)"),
    ("API", lambda r: r["api_url"] or "(forge default)"),
]


def _repository_path(repository: str) -> str:
    owner, slash, name = repository.partition("/")
    if not slash or not owner or not name:
        raise click.BadParameter(f"'{repository}' is not 'owner/name'.", param_hint="REPOSITORY")
    return f"{API}/repositories/{quote(owner, safe='')}/{quote(name, safe='')}"


def _site(kind: str, url: str, api_url: str) -> dict[str, str]:
    return {"kind": kind, "url": url, "api_url": api_url}


@click.group()
def forges() -> None:
    """Configure where repositories are hosted (GitHub, GitHub Enterprise...)."""


@forges.command("show")
@pass_client
def show(client: Client) -> None:
    """Show the organization's default forge and the repositories with their own."""
    found: dict[str, Any] = client._send(Call("GET", API, parse_json))
    if globals_of().fmt == "json":
        emit_json(found)
        return
    emit([found["default"], *found["repositories"]], SITE_COLUMNS, key="repository")
    click.echo(f"Forges this server knows: {', '.join(found['kinds'])}.", err=True)


@forges.command("set-default")
@click.argument("kind")
@click.option("--url", default="", help="Web and git host (default: the forge's own).")
@click.option("--api-url", default="", help="REST API base (default: the forge's own).")
@pass_client
def set_default(client: Client, kind: str, url: str, api_url: str) -> None:
    """Put the organization's repositories on forge KIND (new tasks only)."""
    body = _site(kind, url, api_url)
    site = client._send(Call("PUT", f"{API}/default", parse_json, json=body))
    done(site, f"Repositories are on {site['kind']} {site['url'] or ''}".rstrip() + ".", "kind")


@forges.command("set")
@click.argument("repository")
@click.argument("kind")
@click.option("--url", default="", help="Web and git host (default: the forge's own).")
@click.option("--api-url", default="", help="REST API base (default: the forge's own).")
@pass_client
def set_repository(client: Client, repository: str, kind: str, url: str, api_url: str) -> None:
    """Put REPOSITORY (owner/name) on forge KIND, whatever the default (new tasks only)."""
    body = _site(kind, url, api_url)
    site = client._send(Call("PUT", _repository_path(repository), parse_json, json=body))
    done(site, f"{repository} is on {site['kind']} {site['url']}".rstrip() + ".", "repository")


@forges.command("unset")
@click.argument("repository")
@pass_client
def unset_repository(client: Client, repository: str) -> None:
    """Put REPOSITORY back on the organization's default forge."""
    client._send(Call("DELETE", _repository_path(repository), parse_nothing))
    done({"repository": repository}, f"{repository} is on the default forge.", "repository")
