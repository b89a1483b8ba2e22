"""The tool cache, with packages built here: no registry is needed."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from taskyard.agents import toolcache
from taskyard.agents.toolcache import MARKER, ToolInstallError, ensure_npm_tool, ensure_pip_tool
from taskyard.model.errors import InvalidInput

# Like Claude Code's package: the bin is a placeholder until postinstall replaces it.
PLACEHOLDER = "#!/bin/sh\necho 'placeholder: the postinstall step did not run' >&2\nexit 1\n"
INSTALL_CJS = """
const fs = require("fs");
fs.writeFileSync("bin/cli.sh", "#!/bin/sh\\necho ty-fake-cli 1.2.3\\n");
fs.appendFileSync(process.env.TY_INSTALL_LOG, "installed\\n");
"""


def npm_tarball(where: Path, name: str, postinstall: bool) -> Path:
    package = where / name
    (package / "bin").mkdir(parents=True)
    (package / "bin" / "cli.sh").write_text(PLACEHOLDER)
    manifest = {"name": name, "version": "1.2.3", "bin": {name: "bin/cli.sh"}}
    if postinstall:
        manifest["scripts"] = {"postinstall": "node install.cjs"}
        (package / "install.cjs").write_text(INSTALL_CJS)
    (package / "package.json").write_text(json.dumps(manifest))
    out = subprocess.run(
        ["npm", "pack", "--silent", "--pack-destination", str(where)],
        cwd=package,
        check=True,
        capture_output=True,
        text=True,
    )
    return where / out.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def tarballs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    where = tmp_path_factory.mktemp("npm")
    return {
        "good": npm_tarball(where, "ty-fake-cli", postinstall=True),
        "broken": npm_tarball(where, "ty-broken-cli", postinstall=False),
    }


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TASKYARD_TOOL_CACHE", str(tmp_path / "tools"))
    monkeypatch.setenv("TY_INSTALL_LOG", str(tmp_path / "install.log"))
    monkeypatch.delenv("TASKYARD_TOOLS_OFFLINE", raising=False)
    (tmp_path / "install.log").touch()
    return tmp_path / "tools"


def installs(cache: Path) -> int:
    return len((cache.parent / "install.log").read_text().splitlines())


def test_installs_once_and_runs_the_postinstall_npm_skipped(
    cache: Path, tarballs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = ensure_npm_tool("ty-fake-cli", "1.2.3", "ty-fake-cli", source=str(tarballs["good"]))
    assert tool.root == cache / "ty-fake-cli@1.2.3"
    assert tool.version_output == "ty-fake-cli 1.2.3"
    assert subprocess.run([tool.binary], capture_output=True, text=True).stdout == (
        "ty-fake-cli 1.2.3\n"
    )
    assert json.loads((tool.root / MARKER).read_text())["version"] == "1.2.3"
    assert not any((cache / ".staging").iterdir())
    # Installed: found again without npm or the network.
    monkeypatch.setenv("TASKYARD_TOOLS_OFFLINE", "1")
    assert ensure_npm_tool("ty-fake-cli", "1.2.3", "ty-fake-cli") == tool
    assert installs(cache) == 1


def test_concurrent_workers_install_once(cache: Path, tarballs: dict[str, Path]) -> None:
    source = str(tarballs["good"])
    with ThreadPoolExecutor(4) as pool:
        tools = list(
            pool.map(
                lambda _: ensure_npm_tool("ty-fake-cli", "1.2.3", "ty-fake-cli", source=source),
                range(4),
            )
        )
    assert len(set(tools)) == 1
    assert installs(cache) == 1


def test_a_binary_that_does_not_run_is_not_cached(cache: Path, tarballs: dict[str, Path]) -> None:
    source = str(tarballs["broken"])
    with pytest.raises(ToolInstallError, match="placeholder"):
        ensure_npm_tool("ty-broken-cli", "1.2.3", "ty-broken-cli", source=source)
    assert not (cache / "ty-broken-cli@1.2.3").exists()
    assert not any((cache / ".staging").iterdir())


def test_offline_never_installs(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKYARD_TOOLS_OFFLINE", "1")
    with pytest.raises(ToolInstallError, match="TASKYARD_TOOLS_OFFLINE"):
        ensure_npm_tool("ty-absent", "1.0.0", "ty-absent")
    with pytest.raises(ToolInstallError, match="No installed"):
        ensure_npm_tool("ty-absent", "", "ty-absent")


def test_offline_latest_is_the_newest_installed(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKYARD_TOOLS_OFFLINE", "1")
    monkeypatch.setattr(toolcache, "_latest", {})
    for version in ("1.9.0", "1.10.0", "1.11.0-beta"):
        (cache / f"@scope/cli@{version}").mkdir(parents=True)
    for version in ("1.9.0", "1.10.0"):  # the beta never finished installing
        (cache / f"@scope/cli@{version}" / MARKER).write_text("{}")
    assert ensure_npm_tool("@scope/cli", "", "cli").version == "1.10.0"


@pytest.mark.parametrize(
    ("name", "version", "binary"),
    [
        ("../evil", "1", "x"),
        ("@scope/../x", "1", "x"),
        ("a b", "1", "x"),
        ("ok", "../../1", "x"),
        ("ok", "1", "../x"),
    ],
)
def test_rejects_names_that_would_leave_the_cache(
    cache: Path, name: str, version: str, binary: str
) -> None:
    with pytest.raises(InvalidInput):
        ensure_npm_tool(name, version, binary)
    with pytest.raises(InvalidInput):
        ensure_pip_tool(name, version, binary)


def wheel(where: Path) -> Path:
    """A minimal wheel with a console script, as a build backend would make it."""
    files = {
        "ty_fake_tool/__init__.py": "def main():\n    print('ty-fake-tool 0.1.0')\n",
        "ty_fake_tool-0.1.0.dist-info/METADATA": (
            "Metadata-Version: 2.1\nName: ty-fake-tool\nVersion: 0.1.0\n"
        ),
        "ty_fake_tool-0.1.0.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: taskyard-tests\nRoot-Is-Purelib: true\n"
            "Tag: py3-none-any\n"
        ),
        "ty_fake_tool-0.1.0.dist-info/entry_points.txt": (
            "[console_scripts]\nty-fake-tool = ty_fake_tool:main\n"
        ),
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{name},sha256={digest.decode()},{len(text.encode())}")
    record.append("ty_fake_tool-0.1.0.dist-info/RECORD,,")
    files["ty_fake_tool-0.1.0.dist-info/RECORD"] = "\n".join(record) + "\n"
    path = where / "ty_fake_tool-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def test_pip_tools_live_in_a_relocatable_venv(cache: Path, tmp_path: Path) -> None:
    tool = ensure_pip_tool(
        "ty-fake-tool", "0.1.0", "ty-fake-tool", python=sys.executable, source=str(wheel(tmp_path))
    )
    assert tool.root == cache / "pip" / "ty-fake-tool@0.1.0"
    assert tool.version_output == "ty-fake-tool 0.1.0"
    # It was verified in staging; it must still run where it was moved to.
    done = subprocess.run([tool.binary], capture_output=True, text=True, check=True)
    assert done.stdout == "ty-fake-tool 0.1.0\n"
