"""Recorded task histories still replay on today's workflow code.

A workflow that was running when the workers were upgraded is replayed from its
history by the new code; a change that issues other commands for the same history
fails it with a nondeterminism error. Each file in ``histories/`` is a real run:
``before_team_slots.json`` from the code before team slots (a message turn at an
approval gate, then approved), ``queued_for_a_slot.json`` a task that waited in its
team's line and was woken, ``fused_steps.json`` the same with a message turn at an
approval gate after the steps before an agent were fused, ``ready_on_approval.json`` a
task approved at Plan and at Review, each approval followed by the step that marks its
draft pull requests ready, ``turn_prepares.json`` a delivering stage at an approval gate
with a message's run, after each turn came to prepare its own workspace (no
``prepare_workspace`` step; the first turn on the shared queue), and, after a run's first
turn came to claim its team's slot and start the run itself (``run_first_turn``),
``turn_begins_queued.json`` a task that waited in line and was woken, and
``turn_begins_message.json`` a task with a message's run at its approval gate, and
``plan_given.json`` the same once a task's start gave its stages (no ``load_plan`` step), and
``since_plan_given.json`` the same once a new run recorded one patch for all of those
changes (``workflow.CURRENT``) instead of one each. A
new change to the workflow must keep them all replaying (``workflow.patched``), and may
add its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from taskyard.engine.workflow import TaskWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_a_recorded_history_replays(path: Path) -> None:
    replayer = Replayer(
        workflows=[TaskWorkflow],
        # Temporal's default restrictions: a non-deterministic call (the clock, random,
        # I/O) in the workflow's code fails the replay. The workers run without the
        # sandbox (engine/worker.py): this is where its guard runs.
        workflow_runner=SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default),
    )
    history = WorkflowHistory.from_json(f"task-{path.stem}", path.read_text())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
