"""The ``command`` agent: any shell command, given the prompt on stdin and in env."""

from __future__ import annotations

from taskyard.agents.base import (
    AgentAdapter,
    AgentEvent,
    AgentInfo,
    AgentTurn,
    Invocation,
    TurnRequest,
)


class CommandTurn(AgentTurn):
    def parse(self, line: str) -> list[AgentEvent]:
        return [AgentEvent("output", {"line": line})]


class CommandAgent(AgentAdapter):
    """Runs ``spec.command`` with ``sh -c`` in the checkout.

    The prompt arrives both on standard input and in ``TASKYARD_PROMPT``; the stage
    and turn in ``TASKYARD_STAGE`` and ``TASKYARD_TURN`` so one script can serve
    every stage.
    """

    kind = "command"
    # Nothing to install; it reaches no model through the proxy; its script may
    # use the status endpoint it is given in TASKYARD_MCP_URL.
    info = AgentInfo(mcp_config="TASKYARD_MCP_URL")

    def start_turn(self, request: TurnRequest) -> AgentTurn:
        env = {
            **request.env,
            "TASKYARD_PROMPT": request.prompt,
            "TASKYARD_STAGE": request.stage,
            "TASKYARD_TURN": str(request.turn),
            "TASKYARD_TASK": request.task_key,
        }
        if request.mcp_url:
            env[self.info.mcp_config] = request.mcp_url
        argv = ["/bin/sh", "-c", request.spec.command, *request.spec.args]
        return CommandTurn(Invocation(argv=argv, env=env, stdin=request.prompt))
