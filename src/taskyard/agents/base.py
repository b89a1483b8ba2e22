"""The interface every agent adapter implements, and the common event model.

An adapter turns a :class:`TurnRequest` (prompt, session to resume, model…) into
an :class:`Invocation` (argv, environment, stdin, config files) and parses the
agent's output, line by line, into :class:`AgentEvent` values. The engine runs
the invocation inside the task's sandbox; adapters never start processes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from taskyard.model.status import AgentState
from taskyard.model.template import AgentSpec

EventType = Literal[
    "text",  # assistant text: {"text"}
    "tool_call",  # {"id", "name", "input"}
    "tool_result",  # {"id", "output", "is_error"}
    "file_edit",  # {"path", "action"}
    "command",  # {"command", "exit_code"?}
    "usage",  # {"input_tokens", "output_tokens", "cost_usd"?}  (per turn increments)
    "error",  # {"message"}
    "state",  # {"state": working|idle|complete|failure|cancelled, "message"}
    "session",  # {"session_id"}: the id to resume for follow-ups
    "output",  # {"line"}: raw output that is not structured
]


@dataclass(frozen=True)
class AgentEvent:
    type: EventType
    data: dict[str, Any]


@dataclass(frozen=True)
class TurnRequest:
    """One invocation of an agent: the first prompt of a run or a follow-up."""

    prompt: str
    spec: AgentSpec
    workdir: Path  # the task's checkout, as the agent sees it
    home: Path  # the agent's private home directory, as the agent sees it
    stage: str
    task_key: str
    turn: int  # 0 for the first turn of a run
    session_id: str = ""  # the agent's own session to resume ("" for a new one)
    model_base_url: str = ""  # where the agent reaches its model (taskyard's proxy)
    model_api_key: str = ""  # the per-task credential the proxy accepts
    mcp_url: str = ""  # taskyard's status-reporting MCP endpoint for this task
    env: dict[str, str] = field(default_factory=dict)  # template env and passed secrets


@dataclass
class Invocation:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    stdin: str | None = None
    # Files to write before the turn, relative to the agent's home (CLI configs).
    files: dict[str, str] = field(default_factory=dict)


class AgentTurn(ABC):
    """A running turn's parser; it may keep state between lines."""

    def __init__(self, invocation: Invocation) -> None:
        self.invocation = invocation

    @abstractmethod
    def parse(self, line: str) -> list[AgentEvent]:
        """Events for one line of the agent's standard output."""

    def finish(self, exit_code: int) -> list[AgentEvent]:
        """Events once the process has exited; by default its state from the exit code."""
        if exit_code == 0:
            return [
                AgentEvent("state", {"state": AgentState.COMPLETE, "message": "Agent finished."})
            ]
        return [
            AgentEvent(
                "state",
                {"state": AgentState.FAILURE, "message": f"Agent exited with code {exit_code}."},
            )
        ]


class AgentAdapter(ABC):
    kind: ClassVar[str]

    @abstractmethod
    def start_turn(self, request: TurnRequest) -> AgentTurn:
        """Build the invocation for ``request`` and a parser for its output."""

    def tool_paths(self, spec: AgentSpec) -> list[Path]:
        """Directories (bin dirs of installed CLIs) the sandbox must see read-only.

        Installing the CLI on first use happens here; the default needs nothing.
        """
        return []
