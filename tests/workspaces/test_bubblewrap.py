"""The bubblewrap provider, against real bwrap, cgroups and loopback servers."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from tests.workspaces.conftest import DB_SECRET, SIBLING_SECRET, Dirs
from tests.workspaces.test_cgroups import FORK

from taskyard.config import Settings
from taskyard.model import hosts
from taskyard.model.errors import InvalidInput
from taskyard.model.template import Limits, Network, TemplateSpec
from taskyard.workspaces.bubblewrap import BubblewrapProcess, BubblewrapProvider
from taskyard.workspaces.egress import EgressProxy
from taskyard.workspaces.files import sandbox_ids
from taskyard.workspaces.host import HostProvider
from taskyard.workspaces.netbridge import HostService
from taskyard.workspaces.providers import provider_for, sandbox_for
from taskyard.workspaces.sandbox import SandboxRequest

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not installed")


def request_for(dirs: Dirs, script: str, **kwargs: object) -> SandboxRequest:
    kwargs.setdefault("network", Network(policy="none"))
    return SandboxRequest(
        argv=["/bin/sh", "-c", script],
        env={},
        workdir=dirs.checkout,
        home=dirs.home,
        task_key="TY-1",
        **kwargs,  # type: ignore[arg-type]
    )


async def run(provider: BubblewrapProvider, request: SandboxRequest) -> tuple[int, str]:
    process = await provider.spawn(request)
    output = await asyncio.wait_for(process.stdout.read(), 15)
    return await process.wait(), output.decode()


async def test_cannot_read_the_data_directory(provider: BubblewrapProvider, dirs: Dirs) -> None:
    script = f"cat {dirs.data}/taskyard.db; echo ---; ls -a {dirs.data}"
    _, out = await run(provider, request_for(dirs, script))
    error, listing = out.split("---\n")
    assert DB_SECRET not in out
    assert "No such file" in error
    assert listing.split() == [".", "..", "checkouts", "homes"]


async def test_cannot_read_another_tasks_checkout(provider: BubblewrapProvider, dirs: Dirs) -> None:
    code, out = await run(provider, request_for(dirs, f"cat {dirs.sibling}/main.py"))
    assert code != 0
    assert SIBLING_SECRET not in out


async def test_writes_only_its_checkout_home_and_tmp(
    provider: BubblewrapProvider, dirs: Dirs
) -> None:
    script = (
        "echo ok > result && echo ok > $HOME/h && echo ok > /tmp/t && "
        "for p in /etc/pwned /root/pwned /usr/pwned /run/pwned "
        f"{dirs.data}/pwned {dirs.sibling}/pwned; do echo x > $p || echo refused $p; done"
    )
    code, out = await run(provider, request_for(dirs, script))
    assert code == 0, out
    assert out.count("refused") == 6, out
    assert (dirs.checkout / "result").read_text() == "ok\n"
    assert (dirs.home / "h").read_text() == "ok\n"
    for path in (Path("/etc/pwned"), Path("/root/pwned"), dirs.data / "pwned"):
        assert not path.exists()


async def test_cannot_unhide_or_remount(provider: BubblewrapProvider, dirs: Dirs) -> None:
    # As root, bwrap would keep capabilities in the sandbox's user namespace,
    # enough to undo the mounts; the provider must drop them.
    script = (
        f"umount {dirs.data} || echo no-umount; mount -o remount,rw / || echo no-remount; "
        "grep -E '^Cap(Eff|Bnd)' /proc/self/status"
    )
    _, out = await run(provider, request_for(dirs, script))
    assert "no-umount" in out
    assert "no-remount" in out
    assert "CapEff:\t0000000000000000" in out
    assert "CapBnd:\t0000000000000000" in out


async def test_server_environment_does_not_leak(
    provider: BubblewrapProvider, dirs: Dirs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKYARD_SERVER_ONLY", "server-secret")
    request = request_for(dirs, "env")
    request.env = {"GIVEN": "yes"}
    code, out = await run(provider, request)
    assert code == 0
    assert "server-secret" not in out
    variables = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert variables["GIVEN"] == "yes"
    assert variables["HOME"] == str(dirs.home)
    assert variables["TMPDIR"] == "/tmp"


async def test_exit_code_stdin_and_tool_paths(
    provider: BubblewrapProvider, dirs: Dirs, tmp_path: Path
) -> None:
    tool = tmp_path / "tool"
    (tool / "bin").mkdir(parents=True)
    (tool / "bin" / "mytool").write_text("#!/bin/sh\necho tool-ran\n")
    (tool / "bin" / "mytool").chmod(0o755)
    request = request_for(dirs, f"mytool; read line; echo got $line; touch {tool}/x; exit 3")
    request.stdin = "hello\n"
    request.readonly_paths = [tool]
    code, out = await run(provider, request)
    assert code == 3
    assert "tool-ran" in out
    assert "got hello" in out
    assert "Read-only file system" in out


CONNECT = "python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), 2)\""


async def test_network_none_reaches_nothing(
    provider: BubblewrapProvider, dirs: Dirs, host_server: int
) -> None:
    code, out = await run(provider, request_for(dirs, CONNECT.format(port=host_server)))
    assert code != 0
    assert "Connection refused" in out


FETCH = """
import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
"""

# Explicitly through $HTTP_PROXY: NO_PROXY exempts loopback, which in the
# sandbox is its own, while these requests aim at the host's.
PROXIED = """
import os, sys, http.client, urllib.parse
proxy = urllib.parse.urlsplit(os.environ["HTTP_PROXY"])
connection = http.client.HTTPConnection(proxy.hostname, proxy.port, timeout=5)
connection.request("GET", sys.argv[1])
response = connection.getresponse()
print(response.status, response.read().decode())
"""


async def test_allowlist_goes_through_the_proxy_only(
    provider: BubblewrapProvider, dirs: Dirs, host_server: int
) -> None:
    script = (
        f"python3 -c '{PROXIED}' http://127.0.0.1:{host_server}/; "
        f"python3 -c '{FETCH}' http://blocked.example/; " + CONNECT.format(port=host_server)
    )
    network = Network(policy="allowlist", allow=["127.0.0.1"], ports=[host_server])
    request = request_for(dirs, script, network=network, reachable=hosts.parse("loopback"))
    code, out = await run(provider, request)
    assert "200 hello-from-host" in out  # allowed host, through the proxy
    assert "403 taskyard egress proxy: blocked.example is not in" in out
    assert "Connection refused" in out  # no direct route around the proxy
    assert code != 0


async def test_allowlist_refuses_a_loopback_server_not_on_it(
    provider: BubblewrapProvider, dirs: Dirs, host_server: int
) -> None:
    script = f"python3 -c '{PROXIED}' http://127.0.0.1:{host_server}/"
    network = Network(policy="allowlist", allow=["pypi.org"])
    _, out = await run(provider, request_for(dirs, script, network=network))
    assert out.startswith("403 taskyard egress proxy: 127.0.0.1 is not in"), out
    assert "hello-from-host" not in out


async def test_a_listed_loopback_address_needs_the_operators_consent(
    provider: BubblewrapProvider, dirs: Dirs, host_server: int
) -> None:
    script = f"python3 -c '{PROXIED}' http://127.0.0.1:{host_server}/"
    network = Network(policy="allowlist", allow=["127.0.0.1"], ports=[host_server])
    _, out = await run(provider, request_for(dirs, script, network=network))  # the default
    assert out.startswith("403 taskyard egress proxy: 127.0.0.1 is 127.0.0.1, a loopback"), out
    assert "TASKYARD_OUTBOUND_ALLOWED_HOSTS" in out and "hello-from-host" not in out


async def test_full_network_shares_the_host_loopback(
    provider: BubblewrapProvider, dirs: Dirs, host_server: int
) -> None:
    script = f"python3 -c '{FETCH}' http://127.0.0.1:{host_server}/"
    code, out = await run(provider, request_for(dirs, script, network=Network(policy="full")))
    assert code == 0
    assert "hello-from-host" in out


async def test_external_proxy_and_extra_services(
    provider: BubblewrapProvider, dirs: Dirs, host_server: int
) -> None:
    # Run by the caller, on loopback TCP.
    proxy = EgressProxy(["127.0.0.1"], ports=[host_server], reachable=hosts.parse("loopback"))
    await proxy.start()
    api = HostService("api", f"127.0.0.1:{host_server}", 8080, {"API_URL": "{url}/v1"})
    script = f"echo $API_URL; python3 -c '{FETCH}' $API_URL; python3 -c '{PROXIED}' {{url}}"
    request = request_for(
        dirs,
        script.format(url=f"http://127.0.0.1:{host_server}/"),
        network=Network(policy="allowlist", allow=[]),
        proxy_url=f"http://{proxy.target}",
    )
    try:
        process = await provider.spawn(request, services=[api])
        out = (await asyncio.wait_for(process.stdout.read(), 15)).decode()
        assert await process.wait() == 0
    finally:
        await proxy.close()
    # The extra service on the sandbox's own loopback, the rest through the proxy.
    assert out.splitlines() == [
        "http://127.0.0.1:8080/v1",
        "hello-from-host",
        "200 hello-from-host",
    ]


async def exited(pidfd: int) -> None:
    """Wait for the process behind ``pidfd`` to exit (a pidfd cannot name a recycled pid)."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.add_reader(pidfd, done.set_result, None)
    try:
        await done
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)


@pytest.mark.parametrize("policy", ["none", "allowlist"])
async def test_kill_leaves_no_process_behind(
    provider: BubblewrapProvider, dirs: Dirs, policy: str
) -> None:
    request = request_for(
        dirs, "sleep 1000 & sleep 1000 & echo ready; wait", network=Network(policy=policy)
    )
    process = await provider.spawn(request)
    assert isinstance(process, BubblewrapProcess) and process.cgroup is not None
    assert await asyncio.wait_for(process.stdout.readline(), 10) == b"ready\n"
    pidfds = [os.pidfd_open(pid) for pid in process.cgroup.pids()]
    assert len(pidfds) >= 5  # bwrap, its init, sh, two sleeps (and the forwarder)
    await asyncio.wait_for(process.kill(), 10)
    assert not any(d.exists() for d in process.cgroup.dirs)
    # Every process of the tree has exited (they leave the cgroup just before).
    await asyncio.wait_for(asyncio.gather(*(exited(fd) for fd in pidfds)), 5)


async def test_memory_limit_kills(provider: BubblewrapProvider, dirs: Dirs) -> None:
    script = "python3 -c \"b = b'x' * (200 << 20); print('allocated')\""
    request = request_for(dirs, script, limits=Limits(memory_mb=64))
    process = await provider.spawn(request)
    out = await asyncio.wait_for(process.stdout.read(), 15)
    assert await process.wait() != 0
    assert b"allocated" not in out
    assert isinstance(process, BubblewrapProcess) and process.oom_killed


async def test_process_limit_stops_forks(provider: BubblewrapProvider, dirs: Dirs) -> None:
    request = request_for(dirs, f"python3 -c '{FORK}'", limits=Limits(processes=16))
    _, out = await run(provider, request)
    assert "fork failed" in out, out
    assert int(out.split("forked ")[1].split()[0]) < 16


async def test_falls_back_to_rlimits_without_cgroups(
    dirs: Dirs, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    provider = BubblewrapProvider(cgroup_root=tmp_path / "no-cgroups")
    process = await provider.spawn(request_for(dirs, "ulimit -v", limits=Limits(memory_mb=64)))
    assert isinstance(process, BubblewrapProcess) and process.cgroup is None
    out = await asyncio.wait_for(process.stdout.read(), 15)
    assert await process.wait() == 0
    assert out.decode().strip() == str(64 * 1024)
    assert "limits fall back to rlimits" in caplog.text


async def test_hides_extra_paths(dirs: Dirs, tmp_path: Path) -> None:
    secret_file = Path(tempfile.mkstemp(dir="/var/tmp")[1])
    try:
        secret_file.write_text("hidden-file")
        provider = BubblewrapProvider(hide=[secret_file])
        _, out = await run(provider, request_for(dirs, f"cat {secret_file}; echo end"))
        assert "hidden-file" not in out
        assert "Permission denied" in out
    finally:
        secret_file.unlink()


def test_missing_bwrap_says_how_to_install() -> None:
    with pytest.raises(InvalidInput, match="apt-get install bubblewrap"):
        BubblewrapProvider(bwrap="/nonexistent/bwrap").check_available()


def test_registered() -> None:
    assert isinstance(provider_for("bubblewrap", Settings()), BubblewrapProvider)


async def test_runs_as_an_unprivileged_user(provider: BubblewrapProvider, dirs: Dirs) -> None:
    root_only = Path(tempfile.mkstemp(dir="/var/tmp")[1])  # 0600, the server's own
    in_home = Path.home() / f".taskyard-test-{uuid.uuid4().hex}"
    try:
        root_only.write_text("root-only-content")
        in_home.write_text("home-content")
        in_home.chmod(0o644)  # readable by anyone who can reach it
        script = (
            f"echo uid=$(id -u) gid=$(id -g); cat /etc/shadow {root_only} {in_home}; "
            "echo end; touch $HOME/mine && echo home-writable"
        )
        _, out = await run(provider, request_for(dirs, script))
    finally:
        root_only.unlink()
        in_home.unlink()
    ids = sandbox_ids()
    expected = ids if ids is not None else (os.getuid(), os.getgid())
    assert f"uid={expected[0]} gid={expected[1]}" in out
    assert "uid=0 " not in out
    assert "root:" not in out and "root-only-content" not in out and "home-content" not in out
    assert out.count("Permission denied") >= 2 and "home-writable" in out


def test_unsandboxed_templates_need_the_operators_consent() -> None:
    with pytest.raises(InvalidInput, match="TASKYARD_ALLOW_UNSANDBOXED"):
        provider_for("none", Settings(allow_unsandboxed=False))
    assert isinstance(provider_for("none", Settings(allow_unsandboxed=True)), HostProvider)


def test_a_full_network_needs_the_operators_consent() -> None:
    spec = TemplateSpec(name="wide", network=Network(policy="full"))
    with pytest.raises(InvalidInput, match="TASKYARD_ALLOW_FULL_NETWORK"):
        sandbox_for(spec, Settings(allow_full_network=False))
    assert isinstance(sandbox_for(spec, Settings(allow_full_network=True)), BubblewrapProvider)
    narrow = spec.model_copy(update={"network": Network(policy="none")})
    assert isinstance(sandbox_for(narrow, Settings()), BubblewrapProvider)


async def test_what_the_agent_leaves_running_is_killed_and_named(
    provider: BubblewrapProvider, dirs: Dirs
) -> None:
    # The agent ends only once both children have become `sleep`: until a fork execs, it is
    # still named after the shell (or `setsid`), and a loaded machine shows that name.
    script = (
        "sleep 600 & a=$!; setsid sleep 700 & b=$!; "
        'until [ "$(cat /proc/$a/comm)" = sleep ] && [ "$(cat /proc/$b/comm)" = sleep ]; '
        "do sleep 0.01; done; echo started"
    )
    started = asyncio.get_running_loop().time()
    code, out = await run(provider, request_for(dirs, script))
    assert code == 0
    assert asyncio.get_running_loop().time() - started < 10  # ends with the agent, not later
    note = next(line for line in out.splitlines() if line.startswith("taskyard: killed"))
    names = note.removeprefix("taskyard: killed what the agent left running:").split()
    assert names == ["sleep", "sleep"], out


async def test_limits_say_which_one_stopped_the_tree(
    provider: BubblewrapProvider, dirs: Dirs
) -> None:
    hog = "python3 -c 'b = bytearray(200 << 20); print(len(b))'"
    process = await provider.spawn(request_for(dirs, hog, limits=Limits(memory_mb=64)))
    await process.stdout.read()
    assert await process.wait() != 0
    if process.cgroup is not None:  # type: ignore[attr-defined]
        assert process.limit_message == "killed: memory limit 64 MB reached"


async def test_every_sandbox_runs_under_the_seccomp_filter(
    provider: BubblewrapProvider, dirs: Dirs
) -> None:
    # io_uring_setup is 425 on x86_64 and aarch64 alike; unshare(CLONE_NEWUSER).
    probe = (
        "import ctypes, os; libc = ctypes.CDLL(None, use_errno=True); "
        "r = libc.syscall(425, 1, None); print('io_uring', r, ctypes.get_errno()); "
        "r = libc.unshare(0x10000000); print('userns', r, ctypes.get_errno())"
    )
    script = f"grep '^Seccomp:' /proc/self/status; python3 -c \"{probe}\""
    code, out = await run(provider, request_for(dirs, script))
    assert code == 0, out
    assert "Seccomp:\t2" in out
    assert "io_uring -1 1" in out and "userns -1 1" in out  # EPERM
