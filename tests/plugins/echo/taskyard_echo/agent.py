"""The ``echo`` agent: writes its prompt into ``ECHO.md`` and says what it did.

Its one script is the whole "CLI": nothing to install, no model, no MCP. It also
keeps a cache file in the checkout, which its descriptor declares private.
"""

from __future__ import annotations

from taskyard.agents.base import (
    AgentAdapter,
    AgentEvent,
    AgentInfo,
    AgentTurn,
    Invocation,
    TurnRequest,
)

SCRIPT = """
printf 'echo (%s, turn %s): %s\\n' "$ECHO_STAGE" "$ECHO_TURN" "$(cat)" > ECHO.md
date > .echo-cache
echo "wrote ECHO.md in ${TASKYARD_SANDBOX_MARK:-an unmarked sandbox}"
"""


class EchoTurn(AgentTurn):
    def parse(self, line: str) -> list[AgentEvent]:
        return [AgentEvent("text", {"text": line})] if line.strip() else []


class EchoAgent(AgentAdapter):
    kind = "echo"
    info = AgentInfo(private_files=(".echo-cache",))

    def start_turn(self, request: TurnRequest) -> AgentTurn:
        env = {**request.env, "ECHO_STAGE": request.stage, "ECHO_TURN": str(request.turn)}
        return EchoTurn(Invocation(argv=["/bin/sh", "-c", SCRIPT], env=env, stdin=request.prompt))
