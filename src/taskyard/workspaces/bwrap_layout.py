"""What a bubblewrap sandbox is made of: its mounts, namespaces and identity.

Kept apart from the provider (:mod:`.bubblewrap`), which runs processes: this
module only decides bwrap's arguments, so every rule about what an agent sees
and who it is can be read in one place.
"""

from __future__ import annotations

import functools
import re
import stat
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from taskyard.config import get_settings
from taskyard.workspaces.files import sandbox_ids
from taskyard.workspaces.netbridge import SANDBOX_RUN_DIR, Bridge
from taskyard.workspaces.sandbox import SETPRIV, SandboxRequest

SETPRIV_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP")

# Runs the agent and, once it exits, names what it left running before the sandbox
# ends (its pid namespace dies with it, so they are killed at once either way).
# The host's network forwarder, if any, is not the agent's and is left out.
REAPER = [
    "/bin/sh",
    "-c",
    '"$@"; code=$?; left=""; '
    "for d in /proc/[0-9]*; do p=${d#/proc/}; "
    '[ "$p" = 1 ] || [ "$p" = $$ ] && continue; '
    'grep -q forwarder.py "$d/cmdline" 2>/dev/null && continue; '
    'left="$left $(cat "$d/comm" 2>/dev/null)"; done; '
    '[ -n "$left" ] && echo "taskyard: killed what the agent left running:$left"; '
    "exit $code",
    "reaper",
]


def hidden_paths(extra: Sequence[Path] = ()) -> list[Path]:
    """What no sandbox sees: the data directory, the server user's home (its
    credentials, and other installations' data), ``Settings.sandbox_hide`` and
    the extra ``hide`` paths, resolved."""
    settings = get_settings()
    home = Path.home()
    homes = [home] if home.resolve() != Path("/") else []
    return [p.resolve() for p in (settings.data_dir, *homes, *settings.sandbox_hide, *extra)]


def bwrap_args(
    request: SandboxRequest, bridge: Bridge, hidden: list[Path], bwrap: str
) -> list[str]:
    """The bwrap options (mounts first, in order: later ones cover earlier ones)."""
    args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    # /run too: it holds the host's service sockets (docker.sock, D-Bus).
    args += ["--perms", "1777", "--tmpfs", "/tmp", "--tmpfs", "/run"]
    resolv = Path("/etc/resolv.conf").resolve()
    if request.network.policy == "full" and resolv.is_relative_to("/run"):
        args += ["--ro-bind", str(resolv), str(resolv)]
    binds: list[tuple[str, Path]] = []
    # The forwarder's interpreter must stay visible even if it lives in a hidden place.
    for prefix in {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}:
        if any(prefix.is_relative_to(h) for h in [Path("/tmp"), Path("/run"), *hidden]):
            binds.append(("--ro-bind", prefix))
    binds += [("--ro-bind", path) for path in request.readonly_paths]
    # git in the checkout reads its objects from the repository's mirror, which
    # lives in the hidden data dir: show exactly those objects, read-only. The
    # path comes from the server's records, never from the checkout's alternates.
    if request.shared_objects is not None:
        binds.append(("--ro-bind", request.shared_objects))
    binds += [("--bind", request.workdir), ("--bind", request.home)]
    hidden = sorted(
        {*hidden, *_closed_ancestors([path for _, path in binds], hidden)},
        key=lambda p: len(p.parts),
    )
    covered = [Path("/tmp"), Path("/run"), *hidden]
    made: set[Path] = set()
    for path in hidden:
        if path.is_dir():
            args += [*_parents(path, covered, made), "--tmpfs", str(path)]
        elif path.exists():
            args += [*_parents(path, covered, made), "--ro-bind", "/dev/null", str(path)]
    for option, path in binds:
        args += [*_parents(path, covered, made), option, str(path), str(path)]
    args += ["--dir", str(SANDBOX_RUN_DIR), *bridge.bwrap_args()]
    # Last, once the binds above have their mount points: writes to a hiding
    # tmpfs would vanish with the sandbox, so refuse them instead.
    for path in hidden:
        if path.is_dir():
            args += ["--remount-ro", str(path)]
    args += ["--remount-ro", "/run"]
    args += ["--chdir", str(request.workdir), "--hostname", "sandbox"]
    args += ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]
    if request.network.policy != "full":
        args.append("--unshare-net")
    if sandbox_ids() is None:
        args.append("--unshare-user")
        if _bwrap_version(bwrap) >= (0, 8):
            args.append("--disable-userns")
        # With every capability of its user namespace, the agent could unmount
        # the tmpfs that hides the data directory, or remount / read-write.
        args += ["--cap-drop", "ALL"]
    else:
        # Only what setpriv needs to become the sandbox user; changing uid
        # clears them, and setpriv empties the bounding set.
        args += ["--cap-drop", "ALL", *(a for c in SETPRIV_CAPS for a in ("--cap-add", c))]
    args += ["--die-with-parent", "--new-session"]
    return args


def become_sandbox_user() -> list[str]:
    """The command prefix that drops root for the sandbox user (none if not root)."""
    ids = sandbox_ids()
    if ids is None:
        return []
    uid, gid = ids
    return [
        SETPRIV,
        f"--reuid={uid}",
        f"--regid={gid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--",
    ]


def _closed_ancestors(paths: list[Path], hidden: list[Path]) -> list[Path]:
    """The outermost directory above each path that the sandbox user could not pass
    through (no search permission for others), outside what is hidden already.

    Covering it with an empty tmpfs hides nothing the sandbox user could have read,
    and lets the path be shown again below it.
    """
    if sandbox_ids() is None:
        return []  # the sandbox runs as the server's user, who passes through
    closed = []
    for path in paths:
        for parent in reversed(path.parents):
            if any(parent.is_relative_to(h) for h in hidden):
                break
            try:
                mode = parent.stat().st_mode
            except OSError:
                break
            if not mode & stat.S_IXOTH:
                closed.append(parent)
                break
    return closed


def _parents(dest: Path, covered: list[Path], made: set[Path]) -> list[str]:
    """``--dir`` options for the directories above ``dest`` inside our own tmpfs mounts,
    made traversable (bwrap would make them 0700, closed to the sandbox user)."""
    outer = [root for root in covered if dest.is_relative_to(root) and dest != root]
    if not outer:
        return []
    root = min(outer, key=lambda p: len(p.parts))
    args: list[str] = []
    for parent in reversed(dest.parents):
        if parent.is_relative_to(root) and parent not in covered and parent not in made:
            made.add(parent)
            args += ["--perms", "0755", "--dir", str(parent)]
    return args


@functools.cache
def _bwrap_version(bwrap: str) -> tuple[int, ...]:
    """bwrap's version, as numbers (``(0, 8, 0)``); ``()`` if it does not say."""
    try:
        out = subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    match = re.search(r"(\d+(?:\.\d+)+)", out.stdout)
    return tuple(int(n) for n in match.group(1).split(".")) if match else ()
