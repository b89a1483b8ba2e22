"""Runs one agent turn the way the engine does, minus the sandbox.

The CLI versions driven are the ones each adapter pins (``info.install.version``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from taskyard.agents.base import AgentAdapter, AgentEvent, TurnRequest
from taskyard.agents.registry import adapter_for
from taskyard.model.template import AgentSpec

TASK_KEY = "ty-task-credential-1"  # what the proxy hands the agent; never a real key
TURN_TIMEOUT = 90.0


def pinned(kind: str) -> str:
    """The CLI version the adapter of ``kind`` is tested with."""
    install = adapter_for(kind).info.install
    assert install is not None
    return install.version


def spec_for(adapter: AgentAdapter, model: str) -> AgentSpec:
    """The adapter's agent at its pinned version, on ``model``."""
    return AgentSpec(kind=adapter.kind, version=pinned(adapter.kind), model=model)


def turn_request(
    spec: AgentSpec, home: Path, prompt: str = "Do it.", **overrides: Any
) -> TurnRequest:
    """A first turn in the checkout next to ``home`` (the ``repo`` fixture)."""
    base = TurnRequest(
        prompt=prompt,
        spec=spec,
        workdir=home.parent / "repo",
        home=home,
        stage="code",
        task_key="TY-1",
        turn=0,
        model_api_key=TASK_KEY,
    )
    return replace(base, **overrides)


@dataclass
class Outcome:
    """What one turn printed, and the events its parser made of it."""

    exit_code: int
    lines: list[str]
    events: list[AgentEvent] = field(default_factory=list)

    def of(self, kind: str) -> list[dict[str, Any]]:
        """The data of every event of type ``kind``, in order."""
        return [e.data for e in self.events if e.type == kind]

    @property
    def state(self) -> str:
        return str(self.of("state")[-1]["state"])

    def __str__(self) -> str:  # shown when an assertion fails
        return "\n".join(self.lines[-40:])


async def run_turn(adapter: AgentAdapter, request: TurnRequest, tool_paths: list[Path]) -> Outcome:
    """Run the adapter's invocation as the engine would, without a sandbox.

    Standard error is merged into standard output, as the sandbox providers do.
    """
    turn = adapter.start_turn(request)
    invocation = turn.invocation
    for relative, content in invocation.files.items():
        target = request.home / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    env = {
        "PATH": ":".join([*map(str, tool_paths), "/usr/local/bin:/usr/bin:/bin"]),
        "HOME": str(request.home),
        "LANG": "C.UTF-8",
        **invocation.env,
    }
    process = await asyncio.create_subprocess_exec(
        *invocation.argv,
        cwd=request.workdir,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        limit=2**24,  # one stream-json line can hold a whole file the agent read
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write((invocation.stdin or "").encode())
    process.stdin.close()
    outcome = Outcome(exit_code=-1, lines=[])
    try:
        async with asyncio.timeout(TURN_TIMEOUT):
            async for raw in process.stdout:
                line = raw.decode(errors="replace").rstrip("\n")
                outcome.lines.append(line)
                outcome.events += turn.parse(line)
            outcome.exit_code = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    outcome.events += turn.finish(outcome.exit_code)
    return outcome
