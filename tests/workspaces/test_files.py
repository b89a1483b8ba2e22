"""Writing into the agent's home: links planted there are never followed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from taskyard.model.errors import InvalidInput
from taskyard.workspaces.files import backdate, hand_over, sandbox_ids, write_file


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "host" / "victim"
    path.parent.mkdir()
    path.write_text("untouched\n")
    return path


def test_writes_a_config_file_the_sandbox_user_owns(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    write_file(home, ".config/tool/settings.json", "{}")
    written = home / ".config" / "tool" / "settings.json"
    assert written.read_text() == "{}"
    owner = sandbox_ids()
    if owner is not None:
        for path in (written, written.parent, written.parent.parent):
            assert (path.stat().st_uid, path.stat().st_gid) == owner


def test_a_link_at_the_file_is_replaced_not_written_through(tmp_path: Path, victim: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".claude.json").symlink_to(victim)
    write_file(home, ".claude.json", "{}")
    assert victim.read_text() == "untouched\n"
    assert not (home / ".claude.json").is_symlink()
    assert (home / ".claude.json").read_text() == "{}"


def test_a_hard_link_is_replaced_not_written_through(tmp_path: Path, victim: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    os.link(victim, home / "config.toml")
    write_file(home, "config.toml", "x = 1\n")
    assert victim.read_text() == "untouched\n"


def test_a_link_on_the_way_is_refused(tmp_path: Path, victim: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".codex").symlink_to(victim.parent)
    with pytest.raises(InvalidInput, match="not a directory"):
        write_file(home, ".codex/config.toml", "x = 1\n")
    assert sorted(p.name for p in victim.parent.iterdir()) == ["victim"]


@pytest.mark.parametrize("relative", ["../escape", "/etc/passwd", "a/../../escape", ""])
def test_paths_outside_the_root_are_refused(tmp_path: Path, relative: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with pytest.raises(InvalidInput):
        write_file(home, relative, "x")


def test_hand_over_changes_links_not_their_targets(tmp_path: Path, victim: Path) -> None:
    tree = tmp_path / "checkout"
    (tree / "sub" / "deeper").mkdir(parents=True)
    (tree / "sub" / "deeper" / "file").write_text("x")
    (tree / "link").symlink_to(victim)
    (tree / "sub" / "dirlink").symlink_to(victim.parent, target_is_directory=True)
    before = victim.stat()
    hand_over(tree)
    after = victim.stat()
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    # Nothing reached through a link to a directory, nor that directory itself.
    assert victim.parent.stat().st_uid == os.getuid()
    owner = sandbox_ids()
    if owner is not None:
        handed = (tree, tree / "sub" / "deeper" / "file", tree / "link", tree / "sub" / "dirlink")
        for path in handed:
            assert (path.lstat().st_uid, path.lstat().st_gid) == owner


def test_backdate_dates_the_files_back_and_nothing_through_a_link(
    tmp_path: Path, victim: Path
) -> None:
    tree = tmp_path / "checkout"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "file").write_text("x")
    (tree / ".git").mkdir()
    (tree / ".git" / "index").write_text("i")
    (tree / "link").symlink_to(victim)
    (tree / "dirlink").symlink_to(victim.parent, target_is_directory=True)
    untouched = (tree / ".git" / "index", victim)
    before = [path.stat().st_mtime_ns for path in untouched]
    now = int(time.time())
    backdate(tree, 5)
    assert int((tree / "sub" / "file").stat().st_mtime) <= now - 5
    # Not git's own files (its index must be newer than the files), nor a link's target.
    assert [path.stat().st_mtime_ns for path in untouched] == before
