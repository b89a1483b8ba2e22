"""Teams: groups with their own task keys, workflows and limit on agent runs at once."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from taskyard.api.deps import EngineDep, PrincipalDep, SessionDep, SettingsDep
from taskyard.api.openapi import errors, links
from taskyard.api.outputs import TeamOut
from taskyard.db.models import Team
from taskyard.model.inputs import Label, Name
from taskyard.services import concurrency, teams

router = APIRouter(prefix="/api/v1/teams", tags=["teams"])


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Name
    name: Label = ""
    slug: Name = ""


class TeamChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_running: int | None = Field(
        ge=0,
        le=concurrency.MAX_LIMIT,
        description="How many of the team's tasks may run an agent at once; more wait in "
        "line, `queued`. 0: no limit; null: the installation's default.",
    )


def _outs(session: SessionDep, settings: SettingsDep, found: list[Team]) -> list[TeamOut]:
    used = concurrency.usage(session, found)
    return [
        TeamOut(
            key=t.key,
            slug=t.slug,
            name=t.name,
            tasks=t.next_number,
            max_running=t.max_running,
            limit=concurrency.effective_limit(t, settings.team_max_running),
            running=used[t.id].running,
            queued=used[t.id].queued,
        )
        for t in found
    ]


@router.get("", response_model=list[TeamOut])
def list_teams(
    session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> list[TeamOut]:
    return _outs(session, settings, teams.list_teams(session, principal))


@router.post(
    "",
    status_code=201,
    response_model=TeamOut,
    responses={
        **errors(409),
        **links(
            201,
            "key",
            ("GET", "/api/v1/teams/{team}", "team"),
            ("PATCH", "/api/v1/teams/{team}", "team"),
        ),
    },
)
def create_team(
    body: TeamIn, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> TeamOut:
    """Create a team (admin); it gets the default workflow Plan → Code → Review → Done."""
    team = teams.add_team(session, principal, body.key, body.name, body.slug)
    return _outs(session, settings, [team])[0]


@router.get("/{team}", response_model=TeamOut)
def show_team(
    team: str, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> TeamOut:
    """A team by key or slug, with how many of its tasks run and wait in line."""
    return _outs(session, settings, [teams.get_team(session, principal, team)])[0]


@router.patch("/{team}", response_model=TeamOut)
def change_team(
    team: str,
    body: TeamChange,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    engine: EngineDep,
) -> TeamOut:
    """Set the team's limit on agent runs at once (admin).

    A running task is never stopped by a lower limit; a higher one starts the next
    tasks in line at once.
    """
    found, woken = concurrency.set_limit(
        session, principal, team, body.max_running, settings.team_max_running
    )
    session.commit()  # the woken workflows read their slots
    for uid in woken:
        engine.wake(uid)
    return _outs(session, settings, [found])[0]
