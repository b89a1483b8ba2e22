"""The server's hands in agent-writable places: who owns them, and writing without following links.

An agent owns its checkout and home, and may have planted a symbolic link at any
name there, pointing anywhere on the host. The server still writes a few files
into the home (the agent CLI's config), so it does so the way a link cannot
redirect: every directory on the way is opened with ``O_NOFOLLOW`` relative to the
one before it, and the file is written under a fresh name and renamed into place
(a rename replaces a link or a hard link; it never writes through one).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import time
from pathlib import Path

from taskyard.config import get_settings
from taskyard.model.errors import InvalidInput

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def sandbox_ids() -> tuple[int, int] | None:
    """The uid and gid sandboxed processes run as; None where they run as the server's user.

    Only a server running as root can hand processes to another user; an
    unprivileged server's sandboxes run as itself, which is already no one special.
    """
    if os.geteuid() != 0:
        return None
    uid = get_settings().sandbox_uid
    return uid, uid


def hand_over(path: Path) -> None:
    """Give ``path`` and everything below it to the sandbox user (links themselves only).

    Called on trees only the server has written so far (a fresh checkout, a new home).
    """
    ids = sandbox_ids()
    if ids is None:
        return
    # chown(1), not a walk in Python: for a checkout of 5,000 files that walk held the
    # interpreter (the GIL) for tens of ms, which every other task of the process waited
    # for. -P: never into a directory through a link; -h: a link's own owner, not its target's.
    _run(["chown", "-R", "-P", "-h", "{}:{}".format(*ids), "--", str(path)], f"hand {path} over")


def backdate(tree: Path, seconds: int) -> None:
    """Date the files of ``tree`` (a checkout the server made; its ``.git`` left alone)
    ``seconds`` back. Regular files only: never a link, nor a file through one."""
    stamp = f"@{int(time.time()) - seconds}"
    # find(1) and touch(1), not a walk in Python, for the reason hand_over gives.
    found = [str(tree), "-path", str(tree / ".git"), "-prune", "-o", "-type", "f"]
    _run(["find", *found, "-exec", "touch", "-m", "-d", stamp, "{}", "+"], f"date {tree}")


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise OSError(f"could not {what}: {done.stderr.strip()}")


def make_owned_dir(path: Path) -> None:
    """Create ``path`` (and parents) if missing; the last part belongs to the sandbox user."""
    path.mkdir(parents=True, exist_ok=True)
    ids = sandbox_ids()
    if ids is not None:
        os.chown(path, *ids, follow_symlinks=False)


def write_file(root: Path, relative: str, content: str) -> None:
    """Write ``root/relative`` without following any link below ``root``.

    Missing directories are created (owned by the sandbox user); a link where a
    directory should be is refused with :class:`InvalidInput`, never followed.
    ``root`` itself is the server's own path (from its records), so it is trusted.
    """
    parts = Path(relative).parts
    if not parts or Path(relative).is_absolute() or ".." in parts:
        raise InvalidInput(f"Refusing to write {relative!r}: not a plain relative path.")
    ids = sandbox_ids()
    fd = os.open(root, _DIR_FLAGS)
    try:
        for part in parts[:-1]:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o755, dir_fd=fd)
                if ids is not None:
                    os.chown(part, *ids, dir_fd=fd, follow_symlinks=False)
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                raise InvalidInput(
                    f"Refusing to write {relative!r}: {part!r} is not a directory "
                    "(a link planted in the agent's home?)."
                ) from exc
            os.close(fd)
            fd = child
        temp = f".{parts[-1]}.taskyard-{secrets.token_hex(6)}"
        out = os.open(
            temp,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o600,
            dir_fd=fd,
        )
        try:
            with os.fdopen(out, "w", encoding="utf-8") as handle:
                handle.write(content)
                if ids is not None:
                    os.fchown(handle.fileno(), *ids)
            os.rename(temp, parts[-1], src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=fd)
            raise
    finally:
        os.close(fd)
