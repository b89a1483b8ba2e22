"""A worker's name and own task queue, and the marks of what its checkouts hold."""

from __future__ import annotations

from pathlib import Path

from taskyard.config import Settings
from taskyard.engine.home import Mark, clear_mark, home_queue, read_mark, worker_name, write_mark


def test_a_worker_keeps_the_name_it_made_up(tmp_path: Path) -> None:
    one = Settings(data_dir=tmp_path / "one")
    other = Settings(data_dir=tmp_path / "other")
    name = worker_name(one)
    assert name == worker_name(Settings(data_dir=tmp_path / "one"))  # a restart
    assert name != worker_name(other)  # another host
    assert home_queue(one) == f"taskyard@{name}"


def test_a_configured_name_wins(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, worker_id="builder-7", task_queue="q")
    assert home_queue(settings) == "q@builder-7"
    assert not (tmp_path / "worker-id").exists()


def test_a_mark_is_whole_or_absent(tmp_path: Path) -> None:
    path = tmp_path / "marks" / "1" / "TY-1" / "mark.json"
    assert read_mark(path) is None
    write_mark(path, Mark(3, setup=True, sessions=False))
    assert read_mark(path) == Mark(3, True, False)
    path.write_text('{"seq": 3}')  # not one this server wrote whole
    assert read_mark(path) is None
    clear_mark(path)
    clear_mark(path)
    assert read_mark(path) is None
