"""Running git: one async helper, with errors that say what failed."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from taskyard.errors import TaskyardError


class GitError(TaskyardError):
    """A git command failed; ``stderr`` holds its last lines."""

    def __init__(self, args: list[str], code: int, stderr: str) -> None:
        tail = "\n".join(stderr.strip().splitlines()[-5:])
        super().__init__(f"git {' '.join(args[:2])} failed (exit {code}): {tail}")
        self.stderr = stderr


# Never prompt for credentials and never read the host user's git config for hooks.
GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_ASKPASS": "/bin/true",
    "LANG": "C",
}


async def git(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run ``git args`` and return its stdout; raise :class:`GitError` on failure."""
    process = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=cwd,
        env={**os.environ, **GIT_ENV, **(env or {})},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise GitError(list(args), process.returncode or 1, err.decode(errors="replace"))
    return out.decode(errors="replace")
