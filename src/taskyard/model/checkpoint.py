"""A task's work as of its last completed turn, as every worker can read it back."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Checkpoint:
    """The work since ``base`` as a thin git pack, exported in the task's sandbox.

    ``head`` is a commit of everything in the checkout then (the agent's commits,
    and one more for what it had not committed); ``agent_head`` is the commit the
    agent's branch pointed at. A checkout rebuilt from it has ``head``'s files on
    a branch at ``agent_head``. ``seq`` counts the task's checkpoints (0: none).
    """

    seq: int
    base: str
    head: str
    agent_head: str
    pack: bytes
