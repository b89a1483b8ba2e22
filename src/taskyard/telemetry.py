"""Process metrics, for Prometheus: what this process's worker, gateway and API did.

Labels name kinds of things (an agent state, a provider, an error type), never an
organization, a task or a user: what a scrape shows is aggregate over every
organization, which is why the API shows it to installation admins only. A worker
serves it on ``TASKYARD_METRICS_ADDRESS`` (see :func:`serve_metrics`).
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import REGISTRY, Counter, Histogram, generate_latest, start_http_server

from taskyard.model.status import AgentState

SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)

TURNS = Counter("taskyard_turns", "Agent turns run, by how they ended.", ["state"])
TURN_SECONDS = Histogram("taskyard_turn_seconds", "Time an agent turn ran.", buckets=SECONDS)
QUEUE_WAIT = Histogram(
    "taskyard_queue_wait_seconds",
    "From a task's creation to its workspace being prepared for the first time.",
    buckets=SECONDS,
)
SANDBOX_START = Histogram(
    "taskyard_sandbox_start_seconds", "Time to start an agent's sandbox.", buckets=SECONDS
)
EVENTS = Counter("taskyard_events_written", "Agent events written to the database.")
GATEWAY_REQUESTS = Counter(
    "taskyard_gateway_requests", "Model calls through the gateway.", ["provider", "outcome"]
)
ERRORS = Counter("taskyard_errors", "Failures a retry cannot fix, by type.", ["type"])


def count_turn(state: str, seconds: float) -> None:
    """A turn that ended in ``state``. A state from outside the known set (a plug-in's
    adapter may say anything) counts as ``other``: labels must stay few."""
    TURNS.labels(state if state in tuple(AgentState) else "other").inc()
    TURN_SECONDS.observe(seconds)


def exposition() -> str:
    """This process's metrics in Prometheus's text format."""
    return generate_latest(REGISTRY).decode()


def serve_metrics(address: str) -> Callable[[], None]:
    """Serve this process's metrics over HTTP at ``host:port``; returns what stops it."""
    host, _, port = address.rpartition(":")
    server, thread = start_http_server(int(port), addr=host or "127.0.0.1")

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join()

    return stop
