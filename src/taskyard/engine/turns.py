"""Runs one agent turn in the task's sandbox and streams what it does.

Limits and budgets are enforced here, outside the agent: wall-clock and idle
time, tokens and cost. A turn stopped by one of them ends with the agent killed
and the reason in ``TurnResult.stopped_by``; whatever the agent already wrote
stays in the checkout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from taskyard.agents.base import AgentEvent, AgentTurn, TurnRequest
from taskyard.agents.registry import adapter_for
from taskyard.config import Settings
from taskyard.db.session import session_scope
from taskyard.engine.context import TurnContext, load_turn_context
from taskyard.engine.event_sink import EventSink
from taskyard.engine.types import TurnInput, TurnResult
from taskyard.gateway import turn_access
from taskyard.services import runs
from taskyard.workspaces.files import make_owned_dir, write_file
from taskyard.workspaces.providers import provider_for
from taskyard.workspaces.sandbox import SandboxProcess, SandboxRequest

HEARTBEAT_EVERY = 1.0


def _budget_hit(ctx: TurnContext, sink: EventSink) -> str:
    budget = ctx.spec.budget
    tokens = ctx.tokens_so_far + sink.usage["input_tokens"] + sink.usage["output_tokens"]
    if budget.max_tokens is not None and tokens >= budget.max_tokens:
        return f"max_tokens ({budget.max_tokens})"
    cost = ctx.cost_so_far + sink.usage["cost_usd"]
    if budget.max_cost_usd is not None and cost >= budget.max_cost_usd:
        return f"max_cost_usd ({budget.max_cost_usd:g})"
    return ""


async def _pump(
    process: SandboxProcess,
    turn: AgentTurn,
    sink: EventSink,
    ctx: TurnContext,
    heartbeat: Callable[[], None],
) -> str:
    """Read the agent's output until it exits; returns what stopped it early, if anything."""
    limits = ctx.spec.limits
    deadline = time.monotonic() + limits.timeout_minutes * 60
    if ctx.deadline is not None:
        deadline = min(deadline, time.monotonic() + ctx.deadline - time.time())
    idle = limits.idle_minutes * 60
    last_output = time.monotonic()
    last_beat = 0.0
    reader = asyncio.ensure_future(process.stdout.readline())
    try:
        while True:
            now = time.monotonic()
            if now - last_beat >= HEARTBEAT_EVERY:
                heartbeat()
                last_beat = now
            if now >= deadline:
                budget = "max_minutes" if ctx.deadline is not None else "timeout_minutes"
                return f"{budget}: turn ran out of time"
            if now - last_output >= idle:
                return f"idle_minutes ({limits.idle_minutes:g}): no output"
            wait = min(HEARTBEAT_EVERY, deadline - now, idle - (now - last_output))
            done, _ = await asyncio.wait({reader}, timeout=max(wait, 0.01))
            if not done:
                continue
            raw = reader.result()
            if not raw:
                return ""
            last_output = time.monotonic()
            for event in turn.parse(raw.decode(errors="replace").rstrip("\n")):
                sink.add(event)
            stop = _budget_hit(ctx, sink)
            if stop:
                return stop
            reader = asyncio.ensure_future(process.stdout.readline())
    finally:
        reader.cancel()


async def run_turn(settings: Settings, inp: TurnInput, heartbeat: Callable[[], None]) -> TurnResult:
    ctx = await asyncio.to_thread(load_turn_context, settings, inp)
    url = settings.resolved_database_url
    if ctx.stopped_by:
        return TurnResult(
            -1, "failure", f"Budget reached: {ctx.stopped_by}", ctx.session_id, ctx.stopped_by
        )
    adapter = adapter_for(ctx.spec.agent.kind)
    provider = provider_for(ctx.spec.sandbox, settings)
    tool_paths = await asyncio.to_thread(adapter.tool_paths, ctx.spec.agent)
    await asyncio.to_thread(make_owned_dir, ctx.home)
    # The agent reaches its model and reports its state through the worker's gateway,
    # with a credential that is revoked as soon as the turn is over.
    with turn_access(
        task_id=inp.task_id,
        task_key=ctx.task_key,
        org_id=ctx.org_id,
        run_id=inp.run_id,
        agent_kind=ctx.spec.agent.kind,
        secrets=ctx.secret_values,
    ) as access:
        turn = adapter.start_turn(
            TurnRequest(
                prompt=ctx.prompt,
                spec=ctx.spec.agent,
                workdir=ctx.checkout,
                home=ctx.home,
                stage=inp.stage,
                task_key=ctx.task_key,
                turn=inp.turn,
                session_id=ctx.session_id,
                model_base_url=access.model_base_url,
                model_api_key=access.credential,
                mcp_url=access.mcp_url,
                env=ctx.env,
            )
        )
        for relative, content in turn.invocation.files.items():
            # The home is the agent's: any name in it may be a planted link.
            await asyncio.to_thread(write_file, ctx.home, relative, content)
        with EventSink(url, inp.task_id, inp.run_id, access.redactor) as sink:
            sink.add(AgentEvent("state", {"state": "working", "message": f"Turn {inp.turn + 1}"}))
            started = time.monotonic()
            process = await provider.spawn(
                SandboxRequest(
                    argv=turn.invocation.argv,
                    env=turn.invocation.env,
                    workdir=ctx.checkout,
                    home=ctx.home,
                    task_key=ctx.task_key,
                    stdin=turn.invocation.stdin,
                    limits=ctx.spec.limits,
                    network=ctx.spec.network,
                    readonly_paths=tool_paths,
                    image=ctx.spec.image,
                    shared_objects=ctx.shared_objects,
                ),
                services=access.services,
            )
            try:
                stopped_by = await _pump(process, turn, sink, ctx, heartbeat)
                if stopped_by:
                    await process.kill()
                exit_code = await process.wait()
            except BaseException:
                # Cancelled, or the worker is shutting down: nothing of the turn may keep running.
                await process.kill()
                await sink.close()
                raise
            for event in turn.finish(exit_code):
                sink.add(event)
            if process.limit_message and not stopped_by:
                # The sandbox knows which limit was hit; an exit code (137) does not say.
                if exit_code != 0:
                    note = {"state": "failure", "message": f"Stopped: {process.limit_message}"}
                    sink.add(AgentEvent("state", note))
                else:  # a child was killed, and the agent carried on
                    sink.add(AgentEvent("error", {"message": process.limit_message}))
            if stopped_by:
                sink.add(
                    AgentEvent("state", {"state": "failure", "message": f"Stopped: {stopped_by}"})
                )
            await sink.close()
    state, message = sink.state
    session_id = sink.session_id or ctx.session_id
    elapsed = time.monotonic() - started
    await asyncio.to_thread(_record_turn, url, inp.run_id, session_id, elapsed)
    return TurnResult(exit_code, state, message, session_id, stopped_by)


def _record_turn(url: str, run_id: int, session_id: str, seconds: float) -> None:
    with session_scope(url) as session:
        runs.record_turn(session, run_id, session_id, seconds)
