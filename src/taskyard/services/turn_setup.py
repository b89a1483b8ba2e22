"""Everything one agent turn needs from the database, read in one place.

The prompt (the stage's, or a person's message), the template that applies (the
stage's own, else the task's), the secrets the turn is given and those it must
never show, the model key it needs, its session to resume, and the budgets left.
A budget already spent is recorded as the task's stop here, before anything runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from taskyard.config import Settings
from taskyard.db.models import Task, Workflow
from taskyard.db.session import session_scope
from taskyard.gateway.providers import provider_for_agent
from taskyard.model.errors import NotFound
from taskyard.model.forge import ForgeSite
from taskyard.model.status import TaskStatus
from taskyard.model.template import TemplateSpec
from taskyard.model.workflow import Stage
from taskyard.services import runs, secrets, stops, tasks, templates
from taskyard.services.model_keys import require_key
from taskyard.services.prompts import compose_prompt, stage_prompt
from taskyard.services.task_store import workspace_name


@dataclass(frozen=True)
class TurnSetup:
    task_key: str
    org_id: int
    repository: str
    forge_site: ForgeSite
    workspace_name: str  # <org id>/<key>: where its checkout and home live
    spec: TemplateSpec
    prompt: str
    env: dict[str, str]
    secret_values: list[str]  # to redact from events: every known secret and the model key
    session_id: str
    turns_so_far: int
    tokens_so_far: int
    cost_so_far: float
    deadline: float | None  # time.time() after which the task's time budget is spent
    stop: stops.Stop | None = None  # the turn must not run: a stop recorded, a budget spent


def _stage(workflow: Workflow, key: str) -> Stage:
    return next(Stage.model_validate(s) for s in workflow.stages if s["key"] == key)


def prepare_turn(
    settings: Settings,
    task_id: int,
    run_id: int,
    stage_key: str,
    *,
    message: str = "",
    feedback: str = "",
    session_id: str = "",
    resume: bool = True,
    working: str = "",
) -> TurnSetup:
    """What a turn needs. ``resume``: whether the agent's home has the sessions of the
    turns so far (not one rebuilt on another worker); ``working``: the task's status
    message to write now that its workspace is ready, unless the turn may not run."""
    with session_scope(settings.resolved_database_url) as session:
        task = session.get(Task, task_id)
        workflow = session.get(Workflow, task.workflow_id) if task else None
        if task is None or workflow is None:
            raise NotFound(f"Task {task_id} no longer exists.")
        stage = _stage(workflow, stage_key)
        spec = runs.task_spec(session, task)
        if stage.agent and stage.agent.template:
            spec = templates.spec_of(
                templates.get_template(session, task.org_id, stage.agent.template)
            )
        passed = (
            secrets.reveal(session, settings, task.org_id, spec.secrets) if spec.secrets else {}
        )
        # Checked before anything runs: without a key every model call would fail,
        # after the CLI's retries, with a less helpful message.
        provider = provider_for_agent(spec.agent.kind)
        model_key = require_key(session, settings, task.org_id, provider) if provider else ""
        # Every secret the server knows, not only those this turn was given: an
        # agent could have read one anywhere (a file, another variable).
        known = secrets.known_values(session, settings, task.org_id)
        hidden = [*known.values(), *passed.values(), *([model_key] if model_key else [])]
        total_turns = runs.begin_turn(session, run_id)
        # A new session knows nothing of the run so far: it gets the stage's prompt,
        # with the person's message.
        prompt = (message if resume else "") or compose_prompt(
            stage_prompt=stage_prompt(
                stage.key, stage.agent.prompt if stage.agent else "", spec.prompts
            ),
            title=task.title,
            description=task.description,
            instructions=str(task.parameters.get("ai_prompt", "")),
            origin=task.origin,
            origin_context=task.origin_context,
            feedback=feedback or message,
        )
        budget = spec.budget
        deadline = (
            time.time() + budget.max_minutes * 60 - task.agent_seconds
            if budget.max_minutes
            else None
        )
        spent = stops.budget_reached(budget, task.input_tokens + task.output_tokens, task.cost_usd)
        if budget.max_turns is not None and total_turns > budget.max_turns:
            spent = f"max_turns ({budget.max_turns})"
        elif deadline is not None and time.time() >= deadline:
            spent = f"max_minutes ({budget.max_minutes:g})"
        stop = stops.stop_of(task)
        if stop is None and spent:
            stop = stops.request_stop(session, task, stops.Stop("budget", spent))
        if stop is None and working:
            tasks.set_status(session, task, TaskStatus.WORKING, working)
        return TurnSetup(
            task_key=task.key,
            org_id=task.org_id,
            repository=task.repository,
            forge_site=task.forge_site,
            workspace_name=workspace_name(task.org_id, task.key),
            spec=spec,
            prompt=prompt,
            env={**spec.env, **passed},
            secret_values=hidden,
            session_id=(session_id or runs.previous_session(session, task.id, stage_key))
            if resume
            else "",
            turns_so_far=total_turns,
            tokens_so_far=task.input_tokens + task.output_tokens,
            cost_so_far=task.cost_usd,
            deadline=deadline,
            stop=stop,
        )
