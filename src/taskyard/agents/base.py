"""The interface every agent adapter implements, and the common event model.

An adapter turns a :class:`TurnRequest` (prompt, session to resume, model…) into
an :class:`Invocation` (argv, environment, stdin, config files) and parses the
agent's output, line by line, into :class:`AgentEvent` values. The engine runs
the invocation inside the task's sandbox; adapters never start processes.

Everything else taskyard needs to know about an agent's CLI is in its
:class:`AgentInfo`: how it installs, which model API it speaks, which files it
leaves in a checkout for itself, how it is told the status MCP endpoint and what
it can do. Nothing outside the adapter's module holds facts about one agent.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from taskyard.agents import toolcache
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


@dataclass(frozen=True)
class Install:
    """Where the CLI comes from: one package, installed into the shared tool cache.

    Attributes:
        source: ``npm`` or ``pip`` (PyPI, into a virtual env of its own).
        package: The package name (``@openai/codex``, ``aider-chat``).
        version: The version taskyard is tested with: the test suite and
            ``scripts/install-agent-clis`` install this one. A template's
            ``agent.version`` chooses another; empty there means the latest.
        binary: The executable the package installs, run with ``--version`` to check it.
    """

    source: Literal["npm", "pip"]
    package: str
    version: str
    binary: str

    def ensure(self, version: str) -> toolcache.InstalledTool:
        """Install ``version`` ("" for the latest) on first use; the installed tool."""
        if self.source == "npm":
            return toolcache.ensure_npm_tool(self.package, version, self.binary)
        return toolcache.ensure_pip_tool(self.package, version, self.binary)


@dataclass(frozen=True)
class AgentInfo:
    """What taskyard knows about an agent's CLI, outside of running a turn.

    Attributes:
        install: How the CLI is installed; None if nothing is (the ``command`` agent).
        provider: The model API it speaks, by the gateway's provider name
            (``anthropic``, ``openai``, ``google``): its turns get a credential for
            that provider only. Empty: it gets no model proxy.
        private_files: Files it writes into the checkout for itself (caches):
            excluded from git in every checkout, never committed.
        mcp_config: How it is told taskyard's status MCP endpoint: the file it
            reads (relative to its home) or the environment variable. Empty: it
            cannot use MCP.
        resume: Whether a follow-up resumes the CLI's own session.
        tool_stream: Whether its output reports tool calls and results as they happen.
    """

    install: Install | None = None
    provider: str = ""
    private_files: tuple[str, ...] = ()
    mcp_config: str = ""
    resume: bool = False
    tool_stream: bool = False

    @property
    def mcp(self) -> bool:
        return bool(self.mcp_config)


class AgentAdapter(ABC):
    """An agent kind: registered under ``kind`` in the ``taskyard.agents`` entry points."""

    kind: ClassVar[str]
    info: ClassVar[AgentInfo]

    @abstractmethod
    def start_turn(self, request: TurnRequest) -> AgentTurn:
        """Build the invocation for ``request`` and a parser for its output."""

    def tool_paths(self, spec: AgentSpec) -> list[Path]:
        """Directories the sandbox must see read-only: the installed CLI, if any.

        Installs ``info.install`` on first use, at the template's version.
        """
        if self.info.install is None:
            return []
        tool = self.info.install.ensure(spec.version)
        # The bin entries are links into the install tree, so the sandbox needs all of it.
        return [tool.root, tool.bin_dir]
