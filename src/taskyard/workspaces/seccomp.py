"""The seccomp filter every bubblewrap sandbox runs under.

A deny list, not an allow list: the agent runs whatever a developer runs (git,
node, npm, python, compilers, test suites), and an allow list that misses one
syscall a toolchain needs breaks it in ways no one can diagnose. What is
denied is kernel attack surface that no such program uses, each failing with
``EPERM`` as if unprivileged, so callers that probe (libuv probes io_uring)
take their fallback.

Built with libseccomp (through ``pyseccomp``, a ctypes binding of the
Debian package ``libseccomp2``), compiled once per process to classic BPF and
handed to bwrap's ``--seccomp FD``: bwrap loads it just before it runs the
command, after its own setup (which needs mount and friends), and sets
``no_new_privs`` so nothing in the sandbox can drop it.

Other ABIs than the native one have syscall tables of their own (i386
``int 0x80`` on x86_64, AArch32 on arm64, x32's numbers with bit 30 set):
rather than keep a rule list per table, every syscall through them fails.
libseccomp does this itself once the native architecture is the only one in
the filter: foreign ``AUDIT_ARCH`` values take the bad-arch action, and on
x86_64 it also sends x32 numbers there.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import os
from collections.abc import Iterator
from typing import Any

from taskyard.model.errors import InvalidInput

DENIED: tuple[str, ...] = (
    # io_uring: a second syscall interface that bypasses seccomp for the
    # operations it carries, and a steady source of kernel exploits.
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    # Kernel keyrings are not namespaced: keys could leak between sandboxes.
    "keyctl",
    "add_key",
    "request_key",
    # Kernel-side programs and introspection: eBPF, perf counters (side
    # channels), userfaultfd (stalls the kernel mid-copy, an exploit staple).
    "bpf",
    "perf_event_open",
    "userfaultfd",
    # Changing the mount tree is bwrap's job, done before the filter applies;
    # the sandbox has no capabilities for it either, this is a second wall.
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    # The machine itself: modules, reboot, swap, process accounting, kexec.
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    # File handles open any inode of a mounted file system by number, past the
    # mount namespace that hides the data directory ("shocker").
    "open_by_handle_at",
    "name_to_handle_at",
    # Beyond the list, each refused by Docker's default profile too and
    # used by no build tool: the kernel log (addresses for exploits), quotas,
    # the system clock, fanotify (watches whole mounts), port I/O and obsolete
    # calls with a history of holes.
    "syslog",
    "quotactl",
    "quotactl_fd",
    "settimeofday",
    "clock_settime",
    "stime",
    "fanotify_init",
    "iopl",
    "ioperm",
    "uselib",
    "nfsservctl",
    "lookup_dcookie",
    "vhangup",
)
"""Syscalls that fail with EPERM in a sandbox (those absent on this CPU are skipped).

Not here, on purpose: ``ptrace``, ``process_vm_readv`` and ``pidfd_getfd``
(debuggers and ``strace`` need them, and the sandbox's own pid namespace leaves
only its own processes to reach), ``personality`` (``setarch``). Other
namespaces than user namespaces need capabilities the sandbox does not have.
"""

CLONE_NEWUSER = 0x10000000
"""New user namespaces are refused (``unshare``, ``clone``): a sandbox run as an
unprivileged uid of the host's own user namespace could otherwise make one and
be "root" in it, kernel attack surface no build needs. ``clone3`` takes its flags
in memory, out of a filter's reach, so it answers ``ENOSYS`` and libc falls back
to ``clone``, whose flags are checked."""


def _libseccomp() -> Any:
    try:
        import pyseccomp  # type: ignore[import-untyped]
    except (RuntimeError, OSError) as exc:  # the shared library is missing or unloadable
        raise InvalidInput(
            "libseccomp missing: install it with `apt-get install libseccomp2`, "
            "or set `sandbox: none` in the template."
        ) from exc
    return pyseccomp


@functools.cache
def seccomp_bpf() -> bytes:
    """The filter as a classic BPF program for the native architecture (cached).

    Raises:
        InvalidInput: libseccomp is not installed.
    """
    seccomp = _libseccomp()
    deny = seccomp.ERRNO(errno.EPERM)
    program = seccomp.SyscallFilter(seccomp.ALLOW)
    program.set_attr(seccomp.Attr.ACT_BADARCH, deny)
    for name in DENIED:
        number = seccomp.resolve_syscall(seccomp.Arch.NATIVE, name)
        if number >= 0:  # negative: a pseudo-number for a syscall this CPU lacks
            program.add_rule(deny, number)
    new_user = seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER)
    for name in ("unshare", "clone"):
        program.add_rule(deny, name, new_user)
    program.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    with _memfd() as file:
        program.export_bpf(file)
        file.seek(0)
        return file.read()


@contextlib.contextmanager
def seccomp_fd() -> Iterator[int]:
    """A readable fd holding :func:`seccomp_bpf`, for bwrap's ``--seccomp FD``.

    Give it to the child with ``pass_fds=(fd,)``: subprocess keeps the number
    and makes the fd inheritable in the child alone (it is close-on-exec here,
    so no other child inherits it). bwrap reads it to the end, so each spawn
    needs a fresh one; it is closed when the block ends, once the child runs::

        with seccomp_fd() as fd:
            await spawn(
                "bwrap", ..., "--seccomp", str(fd), "--", *argv, pass_fds=(fd,)
            )

    A memfd, not a pipe: a program larger than the pipe buffer would block the
    writer before the child starts reading.
    """
    with _memfd() as file:
        file.write(seccomp_bpf())
        file.seek(0)
        yield file.fileno()


def _memfd() -> io.FileIO:
    return open(os.memfd_create("taskyard-seccomp", os.MFD_CLOEXEC), "w+b", buffering=0)
