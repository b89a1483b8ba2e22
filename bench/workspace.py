"""How long a task waits for its workspace: from the checkout request to the agent's
first instruction running inside its sandbox.

Generates a repository of N small files (5,000 by default) in a temporary directory,
warms a mirror of it, and measures in the same run (p50 and p95 of ``-n`` runs each):

- taskyard: ``create_checkout`` (with the fetch that a task created just now needs,
  and the warm pool, refilled between runs as when tasks come slower than a refill)
  then ``BubblewrapProvider.spawn`` of ``date +%s.%N``: from the call to the time
  that ``date`` prints inside the sandbox; and the same for a burst of tasks at once;
- a plain ``git clone --shared`` of the mirror (what every task cost before the pool);
- a bare ``bwrap true``;
- ``git status``, ``git diff`` and ``git commit`` in claimed checkouts and plain clones,
  after changing one file;
- as root, the alternative design: an overlayfs over a shared base tree (mount, then
  ``git checkout -b``), for comparison only.

Usage: python bench/workspace.py [--files 5000] [-n 20] [--burst 8] [--pool 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from taskyard.config import get_settings
from taskyard.model.forge import GitRemote
from taskyard.model.template import Network
from taskyard.workspaces import pool, vault
from taskyard.workspaces.bubblewrap import BubblewrapProvider
from taskyard.workspaces.repos import create_checkout, mirror_objects
from taskyard.workspaces.sandbox import SandboxRequest
from taskyard.workspaces.snapshot import take_snapshot

GIT_ID = ["-c", "user.name=bench", "-c", "user.email=bench@localhost"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def row(label: str, values: list[float], note: str = "") -> None:
    p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
    print(f"{label:<52} {p50 * 1000:8.1f} ms {p95 * 1000:8.1f} ms  {note}")


def run(*argv: str, cwd: Path | None = None) -> str:
    if argv[0] == "git":  # checkouts belong to the sandbox user; the bench reads them as root
        argv = ("git", "-c", "safe.directory=*", *argv[1:])
    return subprocess.run(argv, cwd=cwd, check=True, capture_output=True, text=True).stdout


def timed(*argv: str, cwd: Path | None = None) -> float:
    start = time.perf_counter()
    run(*argv, cwd=cwd)
    return time.perf_counter() - start


def make_repo(bare: Path, files: int) -> None:
    """A bare repository with ``files`` small Python files in 100-file directories,
    written by ``git fast-import`` (no work tree to write and add first)."""
    run("git", "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    parts: list[bytes] = []
    for n in range(files):
        body = f"# module {n}\nVALUE = {n}\n".encode()
        parts.append(b"blob\nmark :%d\ndata %d\n%s\n" % (n + 1, len(body), body))
    parts.append(b"commit refs/heads/main\ncommitter bench <b@b> 0 +0000\ndata 5\ninit\n")
    for n in range(files):
        parts.append(b"M 100644 :%d d%03d/f%05d.py\n" % (n + 1, n // 100, n))
    subprocess.run(["git", "fast-import", "--quiet"], cwd=bare, input=b"".join(parts), check=True)


async def taskyard_path(remote: Path, dest: Path, home: Path) -> tuple[float, float]:
    """(request → first instruction in the sandbox, of which the checkout), seconds."""
    start = time.time()
    await create_checkout(
        GitRemote(str(remote)), f"bench/{dest.name}", "main", dest, get_settings(), start
    )
    checked_out = time.time()
    process = await BubblewrapProvider().spawn(
        SandboxRequest(
            argv=["date", "+%s.%N"],
            env={},
            workdir=dest,
            home=home,
            task_key=dest.name,
            network=Network(policy="none"),
            shared_objects=mirror_objects(GitRemote(str(remote)), get_settings()),
        )
    )
    first = float(await process.stdout.readline())
    await process.wait()
    return first - start, checked_out - start


async def export_work(dest: Path, home: Path, remote: Path, base: str) -> tuple[float, float]:
    """(export in the sandbox, export + import + diff in the vault) of one changed file, s."""
    changed = dest / "d001" / "f00100.py"
    changed.write_text(changed.read_text() + "EXPORTED = True\n")
    settings = get_settings()
    objects = mirror_objects(GitRemote(str(remote)), settings)
    request = SandboxRequest([], {}, dest, home, shared_objects=objects)
    start = time.perf_counter()
    snapshot = await take_snapshot(
        BubblewrapProvider(),
        request,
        base=base,
        mode="peek",
        message="bench",
        author=("bench", "b@b"),
        max_bytes=1 << 30,
    )
    exported = time.perf_counter()
    store = await vault.open_vault(objects.parent, settings)
    head = await vault.import_snapshot(store, snapshot, base, f"refs/bench/{dest.name}")
    await vault.diff_stats(store, base, head)
    return exported - start, time.perf_counter() - start


def git_ops(checkout: Path, times: dict[str, list[float]]) -> None:
    """Time status, diff and commit in ``checkout``, after changing one file."""
    changed = checkout / "d000" / "f00000.py"
    changed.write_text(changed.read_text() + "CHANGED = True\n")
    times.setdefault("status", []).append(timed("git", "status", "--porcelain", cwd=checkout))
    times.setdefault("diff", []).append(timed("git", "diff", cwd=checkout))
    commit = timed("git", *GIT_ID, "commit", "-qam", "change", cwd=checkout)
    times.setdefault("commit", []).append(commit)


def overlay_runs(mirror: Path, root: Path, n: int) -> tuple[list[float], list[float]] | None:
    """(mount + ``checkout -b``, then ``git status``) over one shared base tree, or None."""
    if os.geteuid() != 0:
        return None
    base = root / "overlay-base"
    run("git", "clone", "--quiet", "--shared", str(mirror), str(base))
    run("git", "status", "--porcelain", cwd=base)
    ready, status = [], []
    for i in range(n):
        upper, work, merged = (root / "overlay" / f"{part}{i}" for part in "uwm")
        for path in (upper, work, merged):
            path.mkdir(parents=True)
        options = f"lowerdir={base},upperdir={upper},workdir={work}"
        start = time.perf_counter()
        mount = ["mount", "-t", "overlay", "overlay", "-o", options, str(merged)]
        if subprocess.run(mount, capture_output=True).returncode:
            return None
        try:
            run("git", "checkout", "--quiet", "-b", f"bench/{i}", "origin/main", cwd=merged)
            ready.append(time.perf_counter() - start)
            status.append(timed("git", "status", "--porcelain", cwd=merged))
        finally:
            run("umount", str(merged))
    return ready, status


async def main(files: int, n: int, burst: int, pool_size: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="taskyard-bench-", dir="/var/tmp"))
    # Before taskyard first reads its settings: the sandbox hides this data directory.
    os.environ["TASKYARD_DATA_DIR"] = str(root / "data")
    os.environ["TASKYARD_CHECKOUT_POOL_SIZE"] = str(pool_size)
    settings = get_settings()
    try:
        remote = root / "remote.git"
        make_repo(remote, files)
        warm = settings.checkouts_dir / "warm"  # the mirror and the pool, warmed
        await create_checkout(GitRemote(str(remote)), "bench/warm", "main", warm, settings)
        mirror = Path(run("git", "remote", "get-url", "origin", cwd=warm).strip())
        await asyncio.to_thread(pool.wait_refills)

        # Interleaved, so that whatever else loads the machine weighs on all alike.
        totals, checkouts, plain, bwrap, exports, imports = [], [], [], [], [], []
        base = run("git", "rev-parse", "main", cwd=mirror).strip()
        claimed_ops: dict[str, list[float]] = {}
        plain_ops: dict[str, list[float]] = {}
        for i in range(n):
            dest = settings.checkouts_dir / f"T-{i}"
            total, checkout = await taskyard_path(remote, dest, root / "homes" / dest.name)
            totals.append(total)
            checkouts.append(checkout)
            await asyncio.to_thread(pool.wait_refills)  # not to compete with the others
            clone = root / "plain" / str(i)
            plain.append(timed("git", "clone", "-q", "--shared", str(mirror), str(clone)))
            bwrap.append(timed("bwrap", "--ro-bind", "/", "/", "true"))
            exported, imported = await export_work(dest, root / "homes" / dest.name, remote, base)
            exports.append(exported)
            imports.append(imported)
            git_ops(dest, claimed_ops)
            git_ops(clone, plain_ops)
        bursts = await asyncio.gather(
            *(
                taskyard_path(remote, settings.checkouts_dir / f"B-{i}", root / "homes" / f"B{i}")
                for i in range(burst)
            )
        )
        await asyncio.to_thread(pool.wait_refills)
        overlay = overlay_runs(mirror, root, n)

        version = run("bwrap", "--version").split()[-1]
        print(
            f"\nworkspace bench: {files:,} files, {n} runs each, pool of {pool_size}, "
            f"bwrap {version}, {run('git', '--version').strip()}, {os.cpu_count()} CPUs, "
            f"load {os.getloadavg()[0]:.1f}"
        )
        print(f"{'':<52} {'p50':>11} {'p95':>11}")
        row("taskyard: request -> first instruction in sandbox", totals)
        row("  of which the checkout (fetch, claim, branch)", checkouts)
        row("  of which the sandbox start", [t - c for t, c in zip(totals, checkouts, strict=True)])
        row(f"taskyard, {burst} tasks at once: each", [t for t, _ in bursts], "(pool emptied)")
        row("plain `git clone --shared` of the mirror", plain)
        row("bare `bwrap true`", bwrap)
        row("the agent's work exported in its sandbox (one file changed)", exports)
        row("  and imported, checked and diffed in the vault", imports)
        for op in ("status", "diff", "commit"):
            row(f"git {op}: claimed checkout", claimed_ops[op])
            row(f"git {op}: plain clone", plain_ops[op])
        if overlay is None:
            print("overlayfs comparison: skipped (needs root and overlay mounts)")
        else:
            row("overlayfs over a base tree: mount + checkout -b", overlay[0], "(not used)")
            row("overlayfs over a base tree: git status", overlay[1], "(not used)")
    finally:
        pool.wait_refills(600)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=5000, help="files in the repository")
    parser.add_argument("-n", type=int, default=20, help="runs of each measurement")
    parser.add_argument("--burst", type=int, default=8, help="tasks started at once")
    parser.add_argument("--pool", type=int, default=2, help="TASKYARD_CHECKOUT_POOL_SIZE")
    args = parser.parse_args()
    asyncio.run(main(args.files, args.n, args.burst, args.pool))
