"""Running git on the server's own repositories: one async helper, scrubbed.

Host git only ever runs on repositories the server alone writes: mirrors, the
vault (see :mod:`.vault`) and pooled checkouts before any agent has seen them.
Even there it runs as if no configuration existed outside the repository: no
system or global config, no hooks, no fsmonitor, and none of the server's own
environment (its keys and tokens), so nothing planted anywhere on the host can
turn a git call into a program run with the server's privileges. Git on a
checkout an agent has written runs inside a sandbox instead (:mod:`.snapshot`).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from taskyard.model.errors import Permanent
from taskyard.workspaces.spawn import spawn


class GitError(Permanent):
    """A git command failed (a repository that cannot be fetched, a push refused);
    ``stderr`` holds its last lines."""

    def __init__(self, args: list[str], code: int, stderr: str) -> None:
        tail = "\n".join(stderr.strip().splitlines()[-5:])
        super().__init__(f"git {' '.join(args[:2])} failed (exit {code}): {tail}")
        self.stderr = stderr


DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
KEPT_VARIABLES = ("path", "https_proxy", "http_proxy", "no_proxy")
# The rest of the environment git gets: never the server's, which holds its secrets.
GIT_ENV = {
    "HOME": "/nonexistent",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ASKPASS": "/bin/true",
    "SSH_ASKPASS": "/bin/true",
    "GIT_ATTR_NOSYSTEM": "1",
    "LANG": "C",
}

# Each of these names a program or a path git would run or read; pinned on every call.
SAFE_CONFIG = (
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.attributesFile=/dev/null",
    "core.sshCommand=false",
    "diff.external=",
    "protocol.ext.allow=never",
    "credential.helper=",
    "gpg.program=false",
    "commit.gpgSign=false",
)
SAFE_ARGS = tuple(arg for item in SAFE_CONFIG for arg in ("-c", item))

SERVER_MADE = ("-c", "safe.directory=*")
"""For checkouts the server made and no agent has seen yet (pooled ones, handed to the
sandbox user ahead of time, live in the hidden data directory): git would otherwise
refuse a repository another user owns."""


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a host git process, with ``extra`` on top: the server's
    ``PATH`` (which git to run) and proxy settings, nothing else of its own."""
    kept = {k: v for k, v in os.environ.items() if k.lower() in KEPT_VARIABLES}
    return {"PATH": DEFAULT_PATH, **kept, **GIT_ENV, **(extra or {})}


async def git(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
) -> str:
    """Run ``git args`` and return its stdout; raise :class:`GitError` on failure."""
    return (await git_bytes(*args, cwd=cwd, env=env, stdin=stdin)).decode(errors="replace")


async def git_bytes(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
) -> bytes:
    """:func:`git`, returning stdout as bytes."""
    process = await spawn(
        "git",
        *SAFE_ARGS,
        *args,
        cwd=cwd,
        env=git_env(env),
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await process.communicate(stdin)
    except BaseException:
        # Cancelled (its activity was, or timed out): a git left running would go on
        # writing where the step's next try is about to work.
        if process.returncode is None:
            process.kill()
            await asyncio.shield(process.wait())
        raise
    if process.returncode != 0:
        raise GitError(list(args), process.returncode or 1, err.decode(errors="replace"))
    return out
