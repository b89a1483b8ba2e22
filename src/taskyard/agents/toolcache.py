"""A shared cache of agent CLIs, installed once per version from npm or PyPI.

Layout under :func:`cache_root` (``<data_dir>/tools`` unless
``TASKYARD_TOOL_CACHE`` says otherwise)::

    @anthropic-ai/claude-code@2.1.330/   npm tools: node_modules/ and the marker
    pip/aider-chat@0.86.1/               pip tools: a relocatable virtual env
    .locks/  .staging/                   one lock file per tool; half-done installs

A tool is installed into ``.staging`` and renamed into place only once its binary
has answered ``--version``, under a file lock, so workers on one machine (threads
or processes) never see a half-installed tool and install each version once. An
installed pinned version is used without touching the network; ``latest`` is
resolved against the registry (once an hour per process) unless
``TASKYARD_TOOLS_OFFLINE=1``, which takes the newest installed version instead.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from taskyard.config import Settings
from taskyard.model.errors import InvalidInput, Unavailable

MARKER = ".taskyard-tool.json"
LATEST_TTL = 3600.0
INSTALL_TIMEOUT = 900.0
NPM_FLAGS = ["--no-save", "--no-package-lock", "--no-audit", "--no-fund", "--ignore-scripts"]
# npm's and uv's words for a package or version that does not exist: retrying will not help.
NOT_FOUND = re.compile(r"E404|ETARGET|not found in the package registry|No solution found")
VERSION = re.compile(r"[A-Za-z0-9][\w.+-]*")  # also fits pip names and command names
_latest: dict[str, tuple[float, str]] = {}  # "npm:pkg" -> (resolved at, version)


class ToolInstallError(Unavailable):
    """A CLI could not be installed or does not run; usually worth retrying later."""

    code = "tool_install"


@dataclass(frozen=True)
class InstalledTool:
    """One installed CLI: where it lives and what ``--version`` said."""

    package: str
    version: str
    root: Path  # the install directory; a sandbox must expose all of it
    bin_dir: Path  # put this on PATH
    binary: Path
    version_output: str


def cache_root() -> Path:
    """The cache directory: ``TASKYARD_TOOL_CACHE``, else ``<data_dir>/tools``."""
    # Read at each use, not from the process's cached settings: the cache is shared by
    # processes (tests, install scripts) that point it elsewhere as they run.
    settings = Settings()
    root = settings.tool_cache or settings.data_dir / "tools"
    # Real paths only: a sandbox binds tool directories at the same path, and a
    # path through a symlink would not exist inside it.
    return root.resolve()


def offline() -> bool:
    """Whether ``TASKYARD_TOOLS_OFFLINE`` forbids registry look-ups."""
    return Settings().tools_offline


def ensure_npm_tool(
    package: str, version: str, binary: str, *, source: str | None = None
) -> InstalledTool:
    """Install npm ``package`` at ``version`` ("" for latest) once and return it.

    npm runs with ``--ignore-scripts`` and the package's own install scripts are
    run afterwards, so the result does not depend on npm's script policy: Claude
    Code, for one, replaces a placeholder binary in ``postinstall``. ``source``
    (a packed tarball) is installed instead of the registry's copy.
    """
    if version == "":
        version = _resolve_latest("npm", package, lambda: _npm_latest(package))

    def install(staging: Path) -> None:
        spec = source or f"{package}@{version}"
        _run(["npm", "install", "--prefix", str(staging), *NPM_FLAGS, spec], f"npm install {spec}")
        _run_install_scripts(staging / "node_modules" / package)

    return _ensure(package, version, binary, _npm_dir(package), Path("node_modules/.bin"), install)


def find_uv() -> str:
    """The uv binary, found without relying on the caller's PATH.

    ``make install`` puts uv in ``~/.local/bin``, which a fresh root shell does not
    have on PATH; ``uv run`` names itself in ``UV``; a venv may hold its own copy.
    """
    candidates = [
        os.environ.get("UV", ""),
        shutil.which("uv") or "",
        str(Path(sys.executable).with_name("uv")),
        str(Path.home() / ".local" / "bin" / "uv"),
        "/usr/local/bin/uv",
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK) and Path(candidate).is_file():
            return candidate
    raise ToolInstallError(
        "uv is not installed (looked in $UV, PATH, next to Python and ~/.local/bin); "
        "it is needed to install Python agents: run `make install`."
    )


def ensure_pip_tool(
    package: str,
    version: str,
    binary: str,
    *,
    python: str | None = None,
    source: str | None = None,
) -> InstalledTool:
    """Install PyPI ``package`` at ``version`` into a relocatable venv with uv.

    ``python`` picks the interpreter (``"3.12"``); ``source`` is a requirement
    installed instead of ``package==version`` (a wheel path, for air-gapped hosts).
    """
    if not VERSION.fullmatch(package):
        raise InvalidInput(f"'{package}' is not a Python package name.")
    if version == "":
        version = _resolve_latest("pip", package, lambda: _pip_latest(package))

    def install(staging: Path) -> None:
        uv = find_uv()
        _run(
            [
                uv,
                "venv",
                "--quiet",
                "--relocatable",
                *(["--python", python] if python else []),
                str(staging),
            ],
            "uv venv",
        )
        spec = source or f"{package}=={version}"
        _run(
            [uv, "pip", "install", "--quiet", "--python", str(staging / "bin" / "python"), spec],
            f"uv pip install {spec}",
        )

    return _ensure(package, version, binary, Path("pip") / package, Path("bin"), install)


def _ensure(
    package: str,
    version: str,
    binary: str,
    name: Path,
    bin_rel: Path,
    install: Callable[[Path], None],
) -> InstalledTool:
    # Both end up in a path; neither may climb out of the cache.
    if not VERSION.fullmatch(version) or not VERSION.fullmatch(binary):
        raise InvalidInput(f"'{version}' is not a version, or '{binary}' not a command name.")
    root = cache_root()
    final = root / f"{name}@{version}"
    if (final / MARKER).is_file():
        return _load(final, package, version, binary, bin_rel)
    if offline():
        raise ToolInstallError(
            f"{package}@{version} is not in the tool cache {root}, "
            "and TASKYARD_TOOLS_OFFLINE forbids installing it."
        )
    with _locked(root, f"{name}@{version}"):
        if (final / MARKER).is_file():  # another worker installed it while we waited
            return _load(final, package, version, binary, bin_rel)
        if final.exists():  # no marker: damaged by hand; reinstall
            shutil.rmtree(final)
        staging = root / ".staging" / _slug(f"{name}@{version}")
        # Anything already there is from a crashed install: we hold the lock.
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            install(staging)
            output = _verify(staging / bin_rel / binary)
            marker = {
                "package": package,
                "version": version,
                "binary": binary,
                "version_output": output,
                "installed_at": time.time(),
            }
            (staging / MARKER).write_text(json.dumps(marker, indent=2))
            final.parent.mkdir(parents=True, exist_ok=True)
            os.rename(staging, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return _load(final, package, version, binary, bin_rel)


def _load(final: Path, package: str, version: str, binary: str, bin_rel: Path) -> InstalledTool:
    marker = json.loads((final / MARKER).read_text())
    bin_dir = final / bin_rel
    return InstalledTool(
        package, version, final, bin_dir, bin_dir / binary, str(marker.get("version_output", ""))
    )


@contextmanager
def _locked(root: Path, name: str) -> Iterator[None]:
    locks = root / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with (locks / f"{_slug(name)}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.@-]+", "+", str(name))


def _npm_dir(package: str) -> Path:
    if not re.fullmatch(r"(@[a-z0-9][\w.-]*/)?[a-z0-9][\w.-]*", package):
        raise InvalidInput(f"'{package}' is not an npm package name.")
    return Path(package)


def _run(argv: list[str], what: str, cwd: Path | None = None, stdin: str | None = None) -> str:
    # A throwaway HOME keeps CLIs that write config on first run out of the worker's home.
    with tempfile.TemporaryDirectory(prefix="taskyard-tool-home-") as home:
        # Claude Code would otherwise look for updates when asked its version.
        env = {**os.environ, "HOME": home, "DISABLE_AUTOUPDATER": "1"}
        try:
            done = subprocess.run(
                argv,
                cwd=cwd,
                env=env,
                input=stdin or "",  # never the worker's own stdin
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ToolInstallError(f"{what} failed: {exc}") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-2000:]
        if NOT_FOUND.search(tail):
            raise InvalidInput(f"{what}: no such package or version.\n{tail}")
        raise ToolInstallError(f"{what} exited with {done.returncode}.\n{tail}")
    return done.stdout


def _run_install_scripts(package_dir: Path) -> None:
    """Run the package's own ``preinstall``/``install``/``postinstall``, as npm would."""
    scripts = json.loads((package_dir / "package.json").read_text()).get("scripts", {})
    for stage in ("preinstall", "install", "postinstall"):
        if stage in scripts:
            _run(["sh", "-c", scripts[stage]], f"{package_dir.name} {stage}", cwd=package_dir)


def _verify(binary: Path) -> str:
    if not os.access(binary, os.X_OK):
        raise ToolInstallError(f"{binary} was not installed or is not executable.")
    return _run([str(binary), "--version"], f"{binary.name} --version").strip()


def _resolve_latest(registry: str, package: str, look_up: Callable[[], str]) -> str:
    key = f"{registry}:{package}"
    cached = _latest.get(key)
    if cached and time.monotonic() - cached[0] < LATEST_TTL:
        return cached[1]
    if not offline():
        version = look_up()
        _latest[key] = (time.monotonic(), version)
        return version
    name = _npm_dir(package) if registry == "npm" else Path("pip") / package
    installed = sorted(
        (p for p in (cache_root() / name.parent).glob(f"{name.name}@*") if (p / MARKER).is_file()),
        key=lambda p: _version_key(p.name.rpartition("@")[2]),
    )
    if not installed:
        raise ToolInstallError(f"No installed {package} in the tool cache and offline is set.")
    return installed[-1].name.rpartition("@")[2]


def _version_key(version: str) -> tuple[tuple[int, str], ...]:
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in re.split(r"[.+-]", version))


def _npm_latest(package: str) -> str:
    out = _run(
        ["npm", "view", f"{_npm_dir(package)}@latest", "version", "--json"], f"npm view {package}"
    )
    return str(json.loads(out))


def _pip_latest(package: str) -> str:
    # `uv pip compile` honours the index configuration (mirrors, UV_INDEX_URL) like installs do.
    argv = [
        find_uv(),
        "pip",
        "compile",
        "--quiet",
        "--no-deps",
        "--no-header",
        "--no-annotate",
        "-",
    ]
    out = _run(argv, f"resolve {package}", stdin=package)
    match = re.search(rf"^{re.escape(package)}==(\S+)", out, re.M | re.I)
    if match is None:
        raise ToolInstallError(f"Could not resolve the latest {package}: {out[-500:]}")
    return match.group(1)
