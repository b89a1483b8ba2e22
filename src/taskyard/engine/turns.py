"""Runs one agent turn in the task's sandbox and streams what it does.

Limits and budgets are enforced outside the agent. Whatever asks for a stop (a
person's cancel, the gateway finding a budget reached at a model call, the
turn's own wall-clock and idle limits) records it on the task
(:mod:`taskyard.services.stops`), and the turn carries it out the same way: the
credential is revoked, the sandbox's processes are killed, and one state event says
why, in place of the agent's exit code. The task's stop is read every
:data:`~taskyard.engine.stop_watch.STOP_POLL` seconds (one read for all of a worker's
running turns), far more often than Temporal delivers an activity's cancellation (only
with a heartbeat), so a cancel accepted by any API process kills the agent within a
fraction of a second. Whatever the agent wrote stays in the checkout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace

from taskyard import telemetry
from taskyard.agents.base import AgentEvent, AgentTurn, TurnRequest
from taskyard.agents.registry import adapter_for
from taskyard.config import Settings
from taskyard.engine.begin import begin_run
from taskyard.engine.event_sink import EventSink
from taskyard.engine.home import Mark, clear_mark, held, write_mark
from taskyard.engine.layout import Workspace
from taskyard.engine.stop_watch import StopWatch
from taskyard.engine.types import TurnInput, TurnResult
from taskyard.engine.work import turn_work
from taskyard.engine.workspace import current_mark
from taskyard.gateway import Gateway, TurnAccess, turn_access
from taskyard.logs import about
from taskyard.model.redaction import Redactor
from taskyard.model.status import AgentState
from taskyard.services import stops
from taskyard.services.stops import Stop
from taskyard.services.task_store import TaskFacts, TaskStore
from taskyard.services.turn_setup import TurnSetup, prepare_turn
from taskyard.workspaces.files import make_owned_dir, write_file
from taskyard.workspaces.pool_gate import on_the_way
from taskyard.workspaces.providers import sandbox_for
from taskyard.workspaces.sandbox import SandboxProcess, SandboxRequest

log = logging.getLogger(__name__)

HEARTBEAT_EVERY = 1.0
# What a turn's record keeps of its result (see TaskStore.record_turn).
RECORDED = ("exit_code", "state", "message", "session_id", "stopped_by")

Poll = Callable[[], Awaitable[Stop | None]]
Watch = Callable[[], Awaitable[Stop]]
Record = Callable[[Stop], Awaitable[Stop]]


def _unmetered_budget(setup: TurnSetup, sink: EventSink) -> str:
    """The token or cost budget reached by the agent's own usage reports, or ``""``."""
    tokens = setup.tokens_so_far + sink.usage["input_tokens"] + sink.usage["output_tokens"]
    cost = setup.cost_so_far + sink.usage["cost_usd"]
    return stops.budget_reached(setup.spec.budget, tokens, cost)


async def _pump(
    process: SandboxProcess,
    turn: AgentTurn,
    sink: EventSink,
    setup: TurnSetup,
    heartbeat: Callable[[], None],
    watch: Watch,
    *,
    metered: bool = False,
) -> Stop | None:
    """Read the agent's output until it exits; returns the stop that ended it early, if any.

    ``metered``: the gateway keeps the token and cost budgets at every model call;
    otherwise they are checked here, against the agent's own usage reports. The
    stop is watched alongside, so a slow database read never holds up a heartbeat.
    """
    limits = setup.spec.limits
    deadline = time.monotonic() + limits.timeout_minutes * 60
    if setup.deadline is not None:
        deadline = min(deadline, time.monotonic() + setup.deadline - time.time())
    idle = limits.idle_minutes * 60
    last_output = time.monotonic()
    last_beat = 0.0
    reader = asyncio.ensure_future(process.stdout.readline())
    watcher = asyncio.ensure_future(watch())
    try:
        while True:
            now = time.monotonic()
            if now - last_beat >= HEARTBEAT_EVERY:
                heartbeat()
                last_beat = now
            if now >= deadline:
                budget = "max_minutes" if setup.deadline is not None else "timeout_minutes"
                return Stop("budget", f"{budget}: turn ran out of time")
            if now - last_output >= idle:
                return Stop("budget", f"idle_minutes ({limits.idle_minutes:g}): no output")
            wait = min(HEARTBEAT_EVERY, deadline - now, idle - (now - last_output))
            done, _ = await asyncio.wait(
                {reader, watcher}, timeout=max(wait, 0.01), return_when=asyncio.FIRST_COMPLETED
            )
            if watcher in done:
                return watcher.result()
            if not done:
                continue
            raw = reader.result()
            if not raw:
                return None
            last_output = time.monotonic()
            for event in turn.parse(raw.decode(errors="replace").rstrip("\n")):
                sink.add(event)
            if not metered and (spent := _unmetered_budget(setup, sink)):
                return Stop("budget", spent)
            reader = asyncio.ensure_future(process.stdout.readline())
    finally:
        reader.cancel()
        watcher.cancel()


def stop_event(stop: Stop) -> AgentEvent:
    """The one event that tells a stop: the agent's final state, with the reason."""
    state, message = stop.agent_state
    return AgentEvent("state", {"state": state, "message": message})


async def _carry_out(
    stop: Stop, process: SandboxProcess, access: TurnAccess, poll: Poll, record: Record
) -> Stop:
    """Revoke, record, kill: returns the stop the task tells (the first one recorded)."""
    access.revoke()  # this worker's gateway refuses the very next call
    held = await poll()  # a cancel or a budget is recorded already: one read
    if held is None:
        # The turn's own stop (its time is up) is recorded as it is decided, before the
        # kill: other workers' gateways and the task's next turn see the same stop.
        held = await record(stop)
    await process.kill()
    return held


def _result(stop: Stop, exit_code: int, session_id: str) -> TurnResult:
    state, message = stop.agent_state
    if stop.kind == "cancel":
        return TurnResult(exit_code, state, message, session_id)
    return TurnResult(exit_code, state, message, session_id, stop.reason)


async def _refuse(store: TaskStore, inp: TurnInput, stop: Stop) -> None:
    """Tell why a turn does not even start, as a stopped one would."""
    with EventSink(store, inp.task_id, inp.run_id, Redactor()) as sink:
        sink.add(stop_event(stop))
        await sink.close()


@dataclass
class TurnRunner:
    """Runs agent turns on this worker, with its store and its gateway (if it has one)."""

    settings: Settings
    store: TaskStore
    gateway: Gateway | None
    stops: StopWatch  # the worker's one reader of its running turns' stops
    wake: Callable[[list[str]], Awaitable[None]]  # tasks a claim gave a slot to

    async def run(self, inp: TurnInput, heartbeat: Callable[[], None]) -> TurnResult:
        """Run the turn, unless it ran to its end before: then how it ended then.

        An activity is retried when its answer never reached Temporal (a worker
        killed after the agent finished, Temporal away for longer than the heartbeat
        timeout); the agent's work is done, and running it again would do it twice.

        A run's first turn (``inp.begin``) claims its team's slot and starts the run
        first; without a slot it runs nothing and says the task is in line.
        """
        task: TaskFacts | None = None
        if inp.begin is not None and not inp.run_id:
            begun, task = await begin_run(self.settings, self.store, self.wake, inp)
            if begun.queued:
                return begun
            inp = replace(inp, run_id=begun.run_id)
        if task is not None:
            name = task.workspace_name
        else:
            name, _ = await asyncio.to_thread(self.store.checkpoint_seq, inp.task_id)
        # A try still running here (its heartbeats lost) ends first, then this one
        # finds its result, or the checkout it left, which is prepared again. Log lines
        # name the run, which a first turn's input could not (it starts the run).
        with about(run_id=inp.run_id):
            async with held(self.settings, name, self.store, inp.task_id):
                result = await self._run_held(inp, heartbeat, task)
        return replace(result, run_id=inp.run_id)

    async def _run_held(
        self, inp: TurnInput, heartbeat: Callable[[], None], task: TaskFacts | None
    ) -> TurnResult:
        # Until its agent has started, the checkout pool's refills wait (see pool_gate).
        with contextlib.ExitStack() as way:
            way.enter_context(on_the_way())
            done = await asyncio.to_thread(self.store.turn_outcome, inp.run_id, inp.turn)
            if done is not None:
                # The task's next steps go where this try ran (the activity names this worker
                # its home), which may not be where the turn did: the checkout here is made to
                # hold the turn's work, from its checkpoint, if it does not already.
                await current_mark(self.settings, self.store, inp.task_id, heartbeat, task)
                return TurnResult(**done)
            # The checkout as the last completed turn left it: never what a killed try of
            # this turn wrote, nor an older checkpoint's on a worker the task came back to.
            mark = await current_mark(self.settings, self.store, inp.task_id, heartbeat, task)
            setup = await asyncio.to_thread(
                prepare_turn,
                self.settings,
                inp.task_id,
                inp.run_id,
                inp.stage,
                message=inp.message,
                feedback=inp.feedback,
                session_id=inp.session_id,
                resume=mark.sessions,
                working=inp.working,
            )
            if setup.stop is not None:
                await _refuse(self.store, inp, setup.stop)
                return _result(setup.stop, -1, setup.session_id)
            workspace = await Workspace.at(
                self.settings, setup.workspace_name, setup.forge_site, setup.repository
            )
            # From here until its work is saved, the checkout is the agent's to change.
            await asyncio.to_thread(clear_mark, workspace.mark)
            result, seconds = await self._run(inp, setup, workspace, heartbeat, arrived=way.close)
        # Its work is checkpointed with its result, in one transaction: a worker gone
        # after this loses nothing of the turn, and one gone before loses the try.
        saved = None
        if result.state != AgentState.CANCELLED:  # a cancel is not held up by an export
            saved = await turn_work(self.store, self.settings, inp.task_id)
        # How it ended, not where it ran or which run it was (the workflow's concern).
        outcome = {k: v for k, v in asdict(result).items() if k in RECORDED}
        seq = await asyncio.to_thread(
            self.store.record_turn, inp.task_id, inp.run_id, inp.turn, outcome, seconds, saved
        )
        if result.state != AgentState.CANCELLED:
            await asyncio.to_thread(write_mark, workspace.mark, Mark(seq, True, True))
        telemetry.count_turn(result.state, seconds)
        return result

    async def _run(
        self,
        inp: TurnInput,
        setup: TurnSetup,
        workspace: Workspace,
        heartbeat: Callable[[], None],
        arrived: Callable[[], None],
    ) -> tuple[TurnResult, float]:
        """The agent's turn in its sandbox: how it ended, and the seconds it ran;
        ``arrived`` is called once its sandbox has started."""
        store = self.store
        adapter = adapter_for(setup.spec.agent.kind)
        provider = sandbox_for(setup.spec, self.settings)
        tool_paths = await asyncio.to_thread(adapter.tool_paths, setup.spec.agent)
        await asyncio.to_thread(make_owned_dir, workspace.home)

        async def poll() -> Stop | None:
            return await asyncio.to_thread(store.read_stop, inp.task_id)

        async def watch() -> Stop:
            return await self.stops.wait(inp.task_id)

        async def record(stop: Stop) -> Stop:
            return await asyncio.to_thread(store.record_stop, inp.task_id, stop)

        # The agent reaches its model and reports its state through the worker's gateway,
        # with a credential that is revoked as soon as the turn is over or stopped.
        with turn_access(
            self.gateway,
            task_id=inp.task_id,
            task_key=setup.task_key,
            org_id=setup.org_id,
            run_id=inp.run_id,
            agent_kind=setup.spec.agent.kind,
            secrets=setup.secret_values,
            budget=setup.spec.budget,
            prices=setup.spec.prices,
        ) as access:
            turn = adapter.start_turn(
                TurnRequest(
                    prompt=setup.prompt,
                    spec=setup.spec.agent,
                    workdir=workspace.checkout,
                    home=workspace.home,
                    stage=inp.stage,
                    task_key=setup.task_key,
                    turn=inp.turn,
                    session_id=setup.session_id,
                    model_base_url=access.model_base_url,
                    model_api_key=access.credential,
                    mcp_url=access.mcp_url,
                    env=setup.env,
                )
            )
            for relative, content in turn.invocation.files.items():
                # The home is the agent's: any name in it may be a planted link.
                await asyncio.to_thread(write_file, workspace.home, relative, content)
            with EventSink(
                store, inp.task_id, inp.run_id, access.redactor, count_usage=not access.metered
            ) as sink:
                sink.add(
                    AgentEvent(
                        "state", {"state": AgentState.WORKING, "message": f"Turn {inp.turn + 1}"}
                    )
                )
                started = time.monotonic()
                process = await provider.spawn(
                    SandboxRequest(
                        argv=turn.invocation.argv,
                        env=turn.invocation.env,
                        workdir=workspace.checkout,
                        home=workspace.home,
                        task_key=setup.task_key,
                        stdin=turn.invocation.stdin,
                        limits=setup.spec.limits,
                        network=setup.spec.network,
                        reachable=self.settings.allowed_hosts,
                        readonly_paths=tool_paths,
                        image=setup.spec.image,
                        shared_objects=workspace.shared_objects,
                    ),
                    services=access.services,
                )
                telemetry.SANDBOX_START.observe(time.monotonic() - started)
                arrived()
                try:
                    metered = access.metered
                    stop = await _pump(
                        process, turn, sink, setup, heartbeat, watch, metered=metered
                    )
                    if stop is None:
                        await process.wait()
                        # A stop recorded while the agent was on its way out (its last call
                        # reached a budget, say) still ends the turn as a stop.
                        stop = await poll()
                    if stop is not None:
                        stop = await _carry_out(stop, process, access, poll, record)
                    exit_code = await process.wait()
                except BaseException:
                    # Cancelled, or the worker is shutting down: nothing of the turn may
                    # keep running.
                    access.revoke()
                    await process.kill()
                    with contextlib.suppress(Exception):
                        if (held := await poll()) is not None:
                            sink.add(stop_event(held))
                    await sink.close()
                    raise
                # A stopped agent's exit code (-9, or its refused call's error) is not
                # the story.
                for event in [stop_event(stop)] if stop else turn.finish(exit_code):
                    sink.add(event)
                if process.limit_message and stop is None:
                    sink.add(_limit_event(process.limit_message, exit_code))
                await sink.close()
        session_id = sink.session_id or setup.session_id
        if stop is not None:
            result = _result(stop, exit_code, session_id)
        else:
            result = TurnResult(exit_code, *sink.state, session_id)
        return result, time.monotonic() - started


def _limit_event(limit_message: str, exit_code: int) -> AgentEvent:
    """The sandbox knows which limit was hit; an exit code (137) does not say."""
    if exit_code != 0:
        return AgentEvent(
            "state", {"state": AgentState.FAILURE, "message": f"Stopped: {limit_message}"}
        )
    # A child was killed, and the agent carried on.
    return AgentEvent("error", {"message": limit_message})
