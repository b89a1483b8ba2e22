"""The client's administrative namespaces: workflows, templates, users, tokens, secrets,
teams, organizations, GitHub triggers, notifications and schedules. Each is reached as
an attribute of :class:`AsyncClient`."""

from __future__ import annotations

import builtins
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from taskyard.sdk import _calls as calls
from taskyard.sdk._models import (
    GitHubLink,
    GitHubTrigger,
    Identity,
    IntakeSource,
    NewOrganization,
    NotificationChannel,
    NotificationDelivery,
    NotificationPreference,
    Organization,
    Schedule,
    Secret,
    Team,
    Template,
    Token,
    User,
    Workflow,
)

if TYPE_CHECKING:
    from taskyard.sdk._async import AsyncClient


class _Namespace:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client


class AsyncWorkflows(_Namespace):
    """``client.workflows``: a team's workflows (ordered stages with gates)."""

    async def list(self, *, team: str | None = None, archived: bool = False) -> list[Workflow]:
        """The team's workflows (the first team's when ``team`` is None)."""
        return await self._client._send(calls.list_workflows(team, archived))

    async def create(
        self,
        name: str,
        stages: Sequence[dict[str, Any]],
        *,
        team: str | None = None,
        default: bool = False,
    ) -> Workflow:
        """Create a workflow from its stages (``{"key", "name", "agent", "gate", ...}``)."""
        return await self._client._send(calls.create_workflow(name, stages, team, default))

    async def set_default(self, name: str, *, team: str | None = None) -> Workflow:
        """Make ``name`` the workflow new tasks of the team get."""
        return await self._client._send(calls.workflow_action(name, "default", team))

    async def archive(self, name: str, *, team: str | None = None) -> Workflow:
        """Archive a workflow: no new tasks on it; tasks already on it finish on it."""
        return await self._client._send(calls.workflow_action(name, "archive", team))

    async def delete(self, name: str, *, team: str | None = None) -> None:
        """Delete a workflow no task ever used (archive it otherwise)."""
        await self._client._send(calls.delete_workflow(name, team))


class AsyncTemplates(_Namespace):
    """``client.templates``: versioned YAML describing the workspace and the agent."""

    async def push(self, path_or_text: str | os.PathLike[str]) -> Template:
        """Push a template (a file path, or the YAML itself) as its name's next version."""
        return await self._client._send(calls.push_template(calls.template_source(path_or_text)))

    async def list(self) -> list[Template]:
        """The newest version of every template."""
        return await self._client._send(calls.list_templates())

    async def get(self, name: str, version: int | None = None) -> Template:
        """A template with its ``source`` and ``spec``; the newest version by default."""
        return await self._client._send(calls.get_template(name, version))

    async def versions(self, name: str) -> builtins.list[Template]:
        """Every version of a template, oldest first."""
        return await self._client._send(calls.template_versions(name))


class AsyncUsers(_Namespace):
    """``client.users``: people in the organization and their linked identities."""

    async def list(self) -> list[User]:
        return await self._client._send(calls.list_users())

    async def create(
        self, username: str, *, name: str = "", email: str = "", admin: bool = False
    ) -> User:
        """Create a user (``admin=True`` needs an admin token)."""
        return await self._client._send(calls.create_user(username, name, email, admin))

    async def get(self, username: str) -> User:
        return await self._client._send(calls.get_user(username))

    async def link_identity(
        self, username: str, external_id: str, *, login: str = "", provider: str = "github"
    ) -> Identity:
        """Link a forge account, so tasks from its issues are created for ``username``."""
        return await self._client._send(calls.link_identity(username, external_id, login, provider))

    async def link_github(self) -> GitHubLink:
        """A one-time URL (ten minutes) to open in a browser: the GitHub account signed in
        there becomes the caller's, so their issues and comments can start tasks."""
        return await self._client._send(calls.link_github())

    async def find_identity(self, external_id: str, *, provider: str = "github") -> Identity:
        """The linked account ``external_id`` (a GitHub user's numeric id) and its user."""
        return await self._client._send(calls.find_identity(provider, external_id))


class AsyncTokens(_Namespace):
    """``client.tokens``: API tokens of the caller (or, for admins, of others)."""

    async def create(
        self, name: str, *, scopes: Sequence[str] | None = None, user: str | None = None
    ) -> Token:
        """Create a token; its secret is in ``["token"]``, shown this once only.

        ``scopes`` default to the server's (read and write tasks); they cannot exceed
        the caller's own. ``user`` (admins only) makes the token for someone else.
        """
        return await self._client._send(calls.create_token(name, scopes, user))

    async def list(self) -> list[Token]:
        """The caller's tokens (prefixes only, never the secrets)."""
        return await self._client._send(calls.list_tokens())

    async def revoke(self, token_id: int) -> None:
        """Revoke one of the caller's tokens by id; it stops working at once."""
        await self._client._send(calls.revoke_token(token_id))


class AsyncSecrets(_Namespace):
    """``client.secrets``: organization secrets that templates pass to agents."""

    async def set(self, name: str, value: str) -> Secret:
        """Create or replace a secret; its value can never be read back."""
        return await self._client._send(calls.set_secret(name, value))

    async def list(self) -> list[Secret]:
        return await self._client._send(calls.list_secrets())

    async def delete(self, name: str) -> None:
        await self._client._send(calls.delete_secret(name))


class AsyncTeams(_Namespace):
    """``client.teams``: groups with their own task keys (``TY-1``) and workflows."""

    async def list(self) -> list[Team]:
        return await self._client._send(calls.list_teams())

    async def create(self, key: str, *, name: str = "", slug: str = "") -> Team:
        """Create a team (admin); it starts with the default workflow."""
        return await self._client._send(calls.create_team(key, name, slug))

    async def get(self, team: str) -> Team:
        """A team by key or slug, with how many of its tasks run and wait in line."""
        return await self._client._send(calls.get_team(team))

    async def set_limit(self, team: str, max_running: int | None) -> Team:
        """Let at most ``max_running`` of the team's tasks run an agent at once (admin).

        More wait in line, ``queued``; none is ever stopped to make room. 0 is no
        limit; None makes the team follow the installation's default again.
        """
        return await self._client._send(calls.set_team_limit(team, max_running))


class AsyncGitHubTriggers(_Namespace):
    """``client.github_triggers``: what starts a task on a GitHub repository."""

    async def list(self, *, repository: str | None = None) -> builtins.list[GitHubTrigger]:
        """The organization's triggers, or those of ``repository`` (``owner/name``)."""
        return await self._client._send(calls.list_github_triggers(repository))

    async def create(
        self,
        repository: str,
        kind: str,
        *,
        value: str = "",
        paths: Sequence[str] = (),
        team: str | None = None,
        template: str | None = None,
        workflow: str | None = None,
        prompt: str = "",
    ) -> GitHubTrigger:
        """Start tasks on ``repository`` when an issue is labelled ``value`` (``label``,
        default ``taskyard``), assigned to login ``value`` (``assigned``), a comment says
        the phrase ``value`` (``comment``, default ``/taskyard``), a pull request is opened
        (``pull_request``), or a push touches ``paths`` (``paths``). Admin only."""
        body = {
            "repository": repository,
            "kind": kind,
            "value": value,
            "paths": builtins.list(paths),
            "team": team,
            "template": template,
            "workflow": workflow,
            "prompt": prompt,
        }
        return await self._client._send(calls.create_github_trigger(body))

    async def delete(self, trigger_id: int) -> None:
        """Remove a trigger (admin)."""
        await self._client._send(calls.delete_github_trigger(trigger_id))


class AsyncSchedules(_Namespace):
    """``client.schedules``: tasks made on a cron expression, for their owner."""

    async def list(self) -> builtins.list[Schedule]:
        """Your schedules; an admin gets all of the organization's."""
        return await self._client._send(calls.list_schedules())

    async def create(
        self,
        name: str,
        cron: str,
        *,
        title: str,
        repository: str,
        description: str = "",
        time_zone: str = "UTC",
        overlap: str = "skip",
        paused: bool = False,
        team: str | None = None,
        template: str | None = None,
        workflow: str | None = None,
        base_branch: str = "",
        parameters: dict[str, Any] | None = None,
    ) -> Schedule:
        """Make a task (``title``, ``description`` as its prompt, on ``repository``...) at
        each time ``cron`` names in ``time_zone``; ``overlap="skip"`` makes none while the
        last one is open."""
        task = {
            "title": title,
            "description": description,
            "repository": repository,
            "base_branch": base_branch,
            "team": team,
            "template": template,
            "workflow": workflow,
            "parameters": parameters or {},
        }
        body = {
            "name": name,
            "cron": cron,
            "time_zone": time_zone,
            "overlap": overlap,
            "paused": paused,
            "task": task,
        }
        return await self._client._send(calls.create_schedule(body))

    async def get(self, name: str) -> Schedule:
        """One schedule, with its latest runs (``runs``, newest first)."""
        return await self._client._send(calls.get_schedule(name))

    async def update(
        self,
        name: str,
        *,
        cron: str | None = None,
        time_zone: str | None = None,
        overlap: str | None = None,
        task: dict[str, Any] | None = None,
    ) -> Schedule:
        """Change what is given; ``task`` replaces the whole task spec."""
        body = {"cron": cron, "time_zone": time_zone, "overlap": overlap, "task": task}
        return await self._client._send(calls.update_schedule(name, body))

    async def pause(self, name: str) -> Schedule:
        return await self._client._send(calls.schedule_action(name, "pause"))

    async def resume(self, name: str) -> Schedule:
        """Fire on the cron again, also after it paused itself for failed runs."""
        return await self._client._send(calls.schedule_action(name, "resume"))

    async def run(self, name: str) -> Schedule:
        """Fire once now, as the cron would (the overlap policy applies)."""
        return await self._client._send(calls.schedule_action(name, "run"))

    async def delete(self, name: str) -> None:
        """Delete the schedule and its history; the tasks it made stay."""
        await self._client._send(calls.delete_schedule(name))


class AsyncNotifications(_Namespace):
    """``client.notifications``: your channels and the events you get on them, teams'
    defaults, and the delivery log (see docs/notifications.md)."""

    async def channels(self) -> builtins.list[NotificationChannel]:
        return await self._client._send(calls.list_channels())

    async def add_channel(self, kind: str, name: str, **config: str) -> NotificationChannel:
        """Add a channel: ``webhook`` (``url``, ``secret``: ``whsec_`` and base64),
        ``slack`` (``webhook_url``, or ``token`` and ``channel``), ``email`` (``address``)."""
        return await self._client._send(calls.add_channel(kind, name, config))

    async def change_channel(
        self,
        channel_id: int,
        *,
        enabled: bool | None = None,
        config: dict[str, str] | None = None,
    ) -> NotificationChannel:
        """Turn a channel on or off, or replace its configuration."""
        return await self._client._send(calls.change_channel(channel_id, enabled, config))

    async def delete_channel(self, channel_id: int) -> None:
        await self._client._send(calls.delete_channel(channel_id))

    async def preferences(
        self, *, team: str | None = None
    ) -> builtins.list[NotificationPreference]:
        """Your events and channels, or (``team``) a team's defaults."""
        return await self._client._send(calls.get_preferences(team))

    async def set_preferences(
        self, preferences: Sequence[dict[str, Any]], *, team: str | None = None
    ) -> builtins.list[NotificationPreference]:
        """Replace your choices (``{"event", "enabled", "channels"}`` each), or a team's
        defaults (admin)."""
        return await self._client._send(calls.set_preferences(preferences, team))

    async def deliveries(
        self,
        *,
        status: str | None = None,
        everyone: bool = False,
        limit: int = 100,
        before: int | None = None,
    ) -> builtins.list[NotificationDelivery]:
        """The delivery log, newest first: yours, or the organization's (``everyone``, admin)."""
        return await self._client._send(calls.list_deliveries(status, everyone, limit, before))

    async def delivery(self, delivery_id: int) -> NotificationDelivery:
        return await self._client._send(calls.get_delivery(delivery_id))

    async def replay(self, delivery_id: int) -> NotificationDelivery:
        """Send a delivery again now, with the same notice id."""
        return await self._client._send(calls.replay_delivery(delivery_id))


class AsyncOrganizations(_Namespace):
    """``client.organizations``: the installation's organizations (``installation:admin``)."""

    async def list(self) -> list[Organization]:
        return await self._client._send(calls.list_organizations())

    async def create(
        self,
        slug: str,
        *,
        name: str = "",
        admin: str = "admin",
        team: str = "TY",
        repository_owners: Sequence[str] = (),
    ) -> NewOrganization:
        """Create an organization with its first team and admin; the admin's token is in
        ``["token"]``, shown this once. ``repository_owners``: the forge owners whose
        repositories it may work on (none unless given; ``*`` for every one)."""
        call = calls.create_organization(slug, name, admin, team, repository_owners)
        return await self._client._send(call)

    async def rename(self, slug: str, name: str) -> Organization:
        return await self._client._send(calls.update_organization(slug, name=name))

    async def set_repository_owners(self, slug: str, owners: Sequence[str]) -> Organization:
        """Replace the forge owners whose repositories the organization may work on."""
        call = calls.update_organization(slug, repository_owners=list(owners))
        return await self._client._send(call)


class AsyncIntakeSources(_Namespace):
    """``client.intake_sources``: other products that open tasks (docs/intake.md)."""

    async def list(self) -> builtins.list[IntakeSource]:
        """The organization's sources, without their secrets."""
        return await self._client._send(calls.list_intake_sources())

    async def create(
        self,
        kind: str,
        name: str,
        *,
        repository: str = "",
        slug: str = "",
        secret: str = "",
        team: str | None = None,
        template: str | None = None,
        workflow: str | None = None,
        prompt: str = "",
        mapping: dict[str, str] | None = None,
    ) -> IntakeSource:
        """Let a ``sentry``, ``support`` or ``webhook`` source open tasks (admin). The
        answer's ``secret`` (Sentry's client secret, or one made for you) is shown once;
        a webhook's ``mapping`` says where its fields are in the JSON body."""
        body = {
            "kind": kind,
            "name": name,
            "repository": repository,
            "slug": slug,
            "secret": secret,
            "team": team,
            "template": template,
            "workflow": workflow,
            "prompt": prompt,
            "mapping": mapping or {},
        }
        return await self._client._send(calls.create_intake_source(body))

    async def get(self, slug: str) -> IntakeSource:
        return await self._client._send(calls.get_intake_source(slug))

    async def delete(self, slug: str) -> None:
        """Remove a source (admin): its deliveries are refused from now on."""
        await self._client._send(calls.delete_intake_source(slug))
