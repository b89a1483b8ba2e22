"""Inputs and outputs of the task workflow and its activities (one dataclass each)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from taskyard.model.workflow import Stage


@dataclass
class StagePlan:
    key: str
    name: str
    has_agent: bool
    gate: str
    deliver: bool
    request_changes_to: str


@dataclass
class TaskPlan:
    stages: list[StagePlan]
    # How long a turn may go unheard: the setting of the process that made the plan.
    heartbeat_timeout: float = 10.0


def stage_plans(stages: Sequence[Stage]) -> list[StagePlan]:
    """What the workflow needs to know of a task's stages."""
    return [
        StagePlan(
            key=s.key,
            name=s.name,
            has_agent=s.agent is not None,
            gate=s.gate,
            deliver=s.deliver,
            request_changes_to=s.request_changes_to or s.key,
        )
        for s in stages
    ]


@dataclass
class TaskInput:
    task_id: int
    key: str
    # The stages, when whoever started the task had its workflow at hand: the workflow
    # then starts with no step to read them (see TaskWorkflow._run_stages).
    plan: TaskPlan | None = None


@dataclass
class StatusInput:
    task_id: int
    status: str
    message: str = ""
    stage: str | None = None


@dataclass
class WorkspaceInput:
    task_id: int


@dataclass
class WorkspaceHome:
    queue: str  # the task queue of the worker that holds the checkout


@dataclass
class TurnInput:
    task_id: int
    stage: str
    run_id: int
    turn: int
    feedback: str = ""
    message: str = ""  # a person's follow-up; empty for a stage's first turn
    session_id: str = ""
    # The task's status once the turn has its workspace (``Code: agent working``):
    # a turn that prepares the workspace itself writes it, with the turn's setup.
    working: str = ""
    # A run's first turn that claims its team's slot and starts the run itself (run_id 0
    # until then): one activity, where a claim and a run's start were two steps more.
    begin: SlotInput | None = None


@dataclass
class TurnResult:
    exit_code: int
    state: str  # complete | failure | idle | cancelled
    message: str
    session_id: str = ""
    stopped_by: str = ""  # budget or limit that stopped the agent, if any
    home: str = ""  # the task queue of the worker that ran it, which holds the checkout now
    run_id: int = 0  # the run it belongs to (started by the turn itself, with ``begin``)
    # Not run: its team has no free slot, and the task waits in line with ``ahead`` before it.
    queued: bool = False
    ahead: int = 0


@dataclass
class RunInput:
    task_id: int
    stage: str
    # The task's status as the run starts (``Code: agent working``), written with it.
    working: str = ""


@dataclass
class RunEnd:
    run_id: int
    status: str


@dataclass
class DeliverInput:
    task_id: int
    stage: str


@dataclass
class DeliveryResult:
    changed: bool
    pull_request_url: str = ""
    pull_request_number: int = 0


@dataclass
class ReadyInput:
    task_id: int


@dataclass
class SlotInput:
    task_id: int
    # Status changes written in the claim's transaction, each a step less before the
    # agent starts: the stage's entry before the claim, and the status once it is granted.
    entering: StatusInput | None = None
    granted: StatusInput | None = None


@dataclass
class SlotClaim:
    granted: bool
    ahead: int = 0  # tasks of its team ahead of it in line, when not granted
