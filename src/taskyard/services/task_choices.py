"""What a person may choose from when creating a task: teams, templates, workflows, and the
parameters the chosen template asks for."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from taskyard.db.models import Team, Template, Workflow
from taskyard.model.template import BUILTIN_DEFAULT, TemplateSpec
from taskyard.services import teams, templates, workflows
from taskyard.services.access import Principal, require


@dataclass(frozen=True)
class Choices:
    teams: list[Team]
    templates: list[Template]  # the newest version of each
    workflows: list[tuple[Team, list[Workflow]]]


def choices(session: Session, principal: Principal) -> Choices:
    require(principal, "tasks:write")
    team_rows = teams.list_teams(session, principal)
    return Choices(
        team_rows,
        templates.list_templates(session, principal),
        [(team, workflows.list_workflows(session, team)) for team in team_rows],
    )


def template_spec(session: Session, principal: Principal, name: str, team_ref: str) -> TemplateSpec:
    """The newest version of template ``name``; with no name, what a task of the team
    gets: its default template, or the built-in one."""
    require(principal, "templates:read")
    if not name:
        team = teams.resolve_team(session, principal.org_id, team_ref or None)
        name = team.default_template or ""
    if not name:
        return BUILTIN_DEFAULT
    return templates.spec_of(templates.get_template(session, principal.org_id, name))
