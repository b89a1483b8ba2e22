"""``taskyard notifications`` through click's runner, against the real API on loopback."""

from __future__ import annotations

from pathlib import Path

from standardwebhooks.webhooks import Webhook

from taskyard.config import Settings
from taskyard.model.status import TaskStatus
from tests.cli.test_cli_client import Cli, run
from tests.notify.conftest import change_status, send_all
from tests.notify.receiver import receiver

__all__ = ["run"]  # the fixture: a CLI against an in-process API


def test_channels_preferences_and_the_delivery_log(run: Cli, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", secret_key="test-secret-key")  # run's
    assert "No channels" in run("notifications", "channels").stderr
    with receiver(500) as hook:
        added = run("notifications", "add", "webhook", "ci", "--url", hook.url)
        assert added.stdout.startswith("Channel 1: webhook ci → http://127.0.0.1:")
        secret = added.stderr.rsplit(" ", 1)[1].strip()
        assert secret.startswith("whsec_")
        assert secret not in run("notifications", "channels").stdout
        assert "Nothing chosen" in run("notifications", "preferences").stderr
        shown = run.json("notifications", "preferences", "--on", "task.created", "--only", "ci")
        assert shown == [{"event": "task.created", "enabled": True, "channels": ["ci"]}]
        shown = run.json("notifications", "preferences", "--off", "task.failed")
        assert [(p["event"], p["enabled"]) for p in shown] == [
            ("task.created", True),
            ("task.failed", False),
        ]
        task = run.json(
            "tasks", "create", "--title", "Fix login", "--repo", "acme/shop", "--no-run"
        )
        change_status(settings, task["id"], TaskStatus.FAILED, "no")
        send_all(settings.model_copy(update={"notify_retry_base_seconds": 3600}))
        (got,) = hook.received  # created only: failed is off; answered 500
        Webhook(secret).verify(got.body, got.headers)
    log = run("notifications", "deliveries").stdout.splitlines()
    assert log[0].split()[:7] == ["ID", "EVENT", "TASK", "CHANNEL", "STATUS", "TRIES", "CODE"]
    assert log[1].split()[:7] == ["1", "task.created", task["key"], "ci", "pending", "1", "500"]
    assert run("notifications", "replay", "1").stdout == "Delivery 1 will be sent again.\n"
    assert "No notification delivery 9" in run("notifications", "replay", "9", code=1).stderr
    bad = run("notifications", "preferences", "--on", "task.exploded", code=1)
    assert "Unknown event 'task.exploded'. Events: task.created" in bad.stderr
    assert run("notifications", "enable", "1", "--off").stdout == "Channel 1 off.\n"
    assert run("notifications", "remove", "1").stdout == "Channel 1 removed.\n"
