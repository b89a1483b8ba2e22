"""Everything one agent turn needs, read from the database in one place."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from taskyard.config import Settings
from taskyard.db.models import Task, Workflow
from taskyard.db.session import session_scope
from taskyard.engine.types import TurnInput
from taskyard.gateway.providers import provider_for_agent
from taskyard.model.redaction import Redactor
from taskyard.model.template import TemplateSpec
from taskyard.model.workflow import Stage
from taskyard.services import runs, secrets, stops, templates
from taskyard.services.model_keys import require_key
from taskyard.services.prompts import compose_prompt, stage_prompt
from taskyard.workspaces.repos import mirror_objects


@dataclass
class TurnContext:
    task_key: str
    org_id: int
    spec: TemplateSpec
    prompt: str
    checkout: Path
    home: Path
    shared_objects: Path
    env: dict[str, str]
    redactor: Redactor
    secret_values: list[str]  # to redact from events: every known secret and the model key
    session_id: str
    turns_so_far: int
    tokens_so_far: int
    cost_so_far: float
    deadline: float | None  # time.time() after which the task's time budget is spent
    stop: stops.Stop | None = None  # the turn must not run: a stop recorded, a budget spent
    extra: dict[str, str] = field(default_factory=dict)


def workspace_name(task: Task) -> str:
    """Where a task's checkout and home live, relative to their parents: ``<org id>/<key>``.

    Keys are unique only within an organization; two organizations' ``TY-42`` must
    never share a checkout.
    """
    return f"{task.org_id}/{task.key}"


def checkout_dir(settings: Settings, task: Task) -> Path:
    return settings.checkouts_dir / workspace_name(task)


def home_dir(settings: Settings, task: Task) -> Path:
    return settings.data_dir / "homes" / workspace_name(task)


def _stage(workflow: Workflow, key: str) -> Stage:
    return next(Stage.model_validate(s) for s in workflow.stages if s["key"] == key)


def load_turn_context(settings: Settings, inp: TurnInput) -> TurnContext:
    with session_scope(settings.resolved_database_url) as session:
        task = session.get(Task, inp.task_id)
        workflow = session.get(Workflow, task.workflow_id) if task else None
        assert task is not None and workflow is not None
        stage = _stage(workflow, inp.stage)
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
        total_turns = runs.begin_turn(session, inp.run_id)
        if inp.message:
            prompt = inp.message
        else:
            prompt = compose_prompt(
                stage_prompt=stage_prompt(
                    stage.key, stage.agent.prompt if stage.agent else "", spec.prompts
                ),
                title=task.title,
                description=task.description,
                instructions=str(task.parameters.get("ai_prompt", "")),
                origin=task.origin,
                origin_context=task.origin_context,
                feedback=inp.feedback,
            )
        session_id = inp.session_id or runs.previous_session(session, task.id, inp.stage)
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
        return TurnContext(
            task_key=task.key,
            org_id=task.org_id,
            spec=spec,
            prompt=prompt,
            checkout=checkout_dir(settings, task),
            home=home_dir(settings, task),
            shared_objects=mirror_objects(task.repository, settings),
            env={**spec.env, **passed},
            redactor=Redactor(hidden),
            secret_values=hidden,
            session_id=session_id,
            turns_so_far=total_turns,
            tokens_so_far=task.input_tokens + task.output_tokens,
            cost_so_far=task.cost_usd,
            deadline=deadline,
            stop=stop,
        )
