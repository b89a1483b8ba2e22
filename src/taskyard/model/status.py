"""Where a task is in its life, and what its agent says it is doing."""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    QUEUED = "queued"
    PROVISIONING = "provisioning"
    WORKING = "working"
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: A task in one of these has ended: nothing runs for it again.
FINAL = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED})
#: A task in one of these holds (or waits for) a workflow.
ACTIVE = frozenset(set(TaskStatus) - FINAL)


class AgentState(StrEnum):
    """The agent's own account of itself (its ``report_status``, or its turn's end)."""

    WORKING = "working"
    IDLE = "idle"
    COMPLETE = "complete"
    FAILURE = "failure"
    CANCELLED = "cancelled"


#: States that say the agent is still at it: a final task cannot keep them.
UNSETTLED = frozenset({AgentState.WORKING, AgentState.IDLE})
