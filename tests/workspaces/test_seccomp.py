"""The seccomp filter, loaded by real bwrap as root and as an unprivileged uid."""

from __future__ import annotations

import json
import os
import platform
import shlex
import shutil
import subprocess
from typing import Any

import pytest

from taskyard.workspaces.seccomp import seccomp_bpf, seccomp_fd

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not installed")

# Syscall numbers written out rather than asked of libseccomp, so the test does
# not trust the library it checks.
NUMBERS = {
    "x86_64": {
        "io_uring_setup": 425,
        "keyctl": 250,
        "add_key": 248,
        "bpf": 321,
        "perf_event_open": 298,
        "userfaultfd": 323,
        "mount": 165,
        "open_by_handle_at": 304,
        "fsopen": 430,
        "init_module": 175,
        "syslog": 103,
    },
    "aarch64": {
        "io_uring_setup": 425,
        "keyctl": 219,
        "add_key": 217,
        "bpf": 280,
        "perf_event_open": 241,
        "userfaultfd": 282,
        "mount": 40,
        "open_by_handle_at": 265,
        "fsopen": 430,
        "init_module": 105,
        "syslog": 116,
    },
}
ARCH = platform.machine()
GETPID = {"x86_64": 39, "aarch64": 172}

# Each denied call with harmless arguments; prints "<name> <ret> <errno>".
PROBE = """
import ctypes, json, sys
libc = ctypes.CDLL(None, use_errno=True)
for name, number in json.loads(sys.argv[1]).items():
    ctypes.set_errno(0)
    print(name, libc.syscall(number, 0, 0, 0, 0, 0), ctypes.get_errno())
"""

# The i386 ABI from a 64-bit process: `mov eax, 20 (getpid); int 0x80; ret`.
INT80 = """
import ctypes, mmap
code = b"\\xb8\\x14\\x00\\x00\\x00\\xcd\\x80\\xc3"
page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
page.write(code)
address = ctypes.addressof(ctypes.c_char.from_buffer(page))
print(ctypes.CFUNCTYPE(ctypes.c_int)(address)())
"""

BWRAP = shlex.split(
    "bwrap --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp --unshare-all --unshare-user"
    " --cap-drop ALL --die-with-parent"
)
AS_NOBODY = {"user": 65532, "group": 65532, "extra_groups": []}


def sandboxed(
    argv: list[str], *, seccomp: bool = True, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` under bwrap with the filter, as the bubblewrap provider does."""
    with seccomp_fd() as fd:
        return subprocess.run(
            [*BWRAP, *(["--seccomp", str(fd)] if seccomp else []), "--", *argv],
            pass_fds=(fd,),
            capture_output=True,
            text=True,
            cwd="/",
            env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8"},
            timeout=60,
            **kwargs,
        )


def probe(numbers: dict[str, int], **kwargs: Any) -> dict[str, tuple[int, int]]:
    result = sandboxed(["python3", "-c", PROBE, json.dumps(numbers)], **kwargs)
    assert result.returncode == 0, result.stderr
    rows = (line.split() for line in result.stdout.splitlines())
    return {name: (int(ret), int(err)) for name, ret, err in rows}


needs_root = pytest.mark.skipif(os.getuid() != 0, reason="switching uid needs root")
as_root_and_nobody = pytest.mark.parametrize(
    "as_user", [{}, pytest.param(AS_NOBODY, marks=needs_root)], ids=["root", "uid-65532"]
)


@as_root_and_nobody
def test_filter_is_in_force(as_user: dict[str, Any]) -> None:
    result = sandboxed(["sh", "-c", "grep ^Seccomp: /proc/self/status; id -u"], **as_user)
    assert result.returncode == 0, result.stderr
    mode, uid = result.stdout.split("\n")[:2]
    assert mode.split() == ["Seccomp:", "2"]
    assert uid == str(as_user.get("user", 0))


@pytest.mark.skipif(ARCH not in NUMBERS, reason=f"no syscall numbers for {ARCH}")
@as_root_and_nobody
def test_denied_syscalls_fail_with_eperm(as_user: dict[str, Any]) -> None:
    numbers = {**NUMBERS[ARCH], "getpid": GETPID[ARCH]}
    results = probe(numbers, **as_user)
    assert results.pop("getpid")[0] > 0  # the filter lets the ordinary through
    assert results == {name: (-1, 1) for name in NUMBERS[ARCH]}  # 1: EPERM
    # The control: without the filter the same sandbox reaches these (EFAULT
    # or EINVAL for the dummy arguments), so EPERM above is the filter's doing.
    control = probe(
        {n: NUMBERS[ARCH][n] for n in ("io_uring_setup", "keyctl", "bpf")}, seccomp=False
    )
    assert all(err != 1 for _, err in control.values()), control


@pytest.mark.skipif(ARCH != "x86_64", reason="x32 and i386 exist on x86_64 only")
def test_other_abis_are_refused() -> None:
    # x32 numbers are x86_64 ones with bit 30 set: getpid through x32, and
    # io_uring_setup through x32, which a per-number rule list would miss.
    results = probe({"x32_getpid": 0x40000000 | 39, "x32_io_uring": 0x40000000 | 425})
    assert results == {"x32_getpid": (-1, 1), "x32_io_uring": (-1, 1)}
    result = sandboxed(["python3", "-c", INT80])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "-1"  # -EPERM in eax, not a pid
    assert sandboxed(["python3", "-c", INT80], seccomp=False).stdout.strip() != "-1"


@as_root_and_nobody
def test_developer_tools_still_work(as_user: dict[str, Any]) -> None:
    script = """
set -e
git init -q /tmp/repo && cd /tmp/repo
echo 'int main(void) { return 0; }' > main.c
git add main.c && git -c user.name=a -c user.email=a@example.test commit -qm first
git log --oneline | wc -l
python3 -c 'import subprocess, threading; print(6 * 7)'
node -e 'require("fs").readFile("main.c", "utf8", (e, s) => console.log(e ? e.code : s.length))'
npm --version > /dev/null && echo npm
cc -o /tmp/main main.c && /tmp/main && echo cc
"""
    result = sandboxed(["sh", "-c", script], **as_user)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "42", "29", "npm", "cc"]


def test_program_is_cached_and_each_fd_is_fresh() -> None:
    program = seccomp_bpf()
    assert program is seccomp_bpf()
    assert len(program) % 8 == 0  # whole sock_filter instructions
    with seccomp_fd() as first, seccomp_fd() as second:
        assert first != second
        assert os.read(first, len(program) + 1) == program
        assert not os.get_inheritable(first)
    with pytest.raises(OSError):
        os.fstat(first)
