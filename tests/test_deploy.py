"""deploy/: the Compose file and the image run what exists, set only real settings.

There is no Docker here; these read the files as Compose and Docker would and check
every command, setting and variable they name against taskyard itself.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from taskyard.cli.main import cli
from taskyard.config import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
COMPOSE: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
TASKYARD = ("api", "worker")


def env_example() -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in (DEPLOY / ".env.example").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    return {name: value for name, value in pairs}


def setting(variable: str) -> str:
    name = variable.removeprefix("TASKYARD_").lower()
    assert name in Settings.model_fields, f"{variable} is no setting of taskyard"
    return name


def test_the_topology() -> None:
    assert {"postgres", "temporal", "api", "worker"} <= SERVICES.keys()
    assert SERVICES["temporal"]["image"].startswith("temporalio/auto-setup:")
    for name, service in SERVICES.items():
        image = service["image"]
        tag = image.rpartition(":")[2]
        if name not in TASKYARD:
            assert re.fullmatch(r"\d+(\.\d+)+", tag), f"{name}: pin {image} to a version"
    api, worker = SERVICES["api"], SERVICES["worker"]
    assert api["command"] == ["serve", "--no-worker"] and worker["command"] == ["worker"]
    assert worker["depends_on"]["api"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", TASKYARD)
def test_commands_exist(name: str) -> None:
    result = CliRunner().invoke(cli, [*SERVICES[name]["command"], "--help"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", TASKYARD)
def test_shared_settings_come_from_the_env_file(name: str) -> None:
    service = SERVICES[name]
    assert service["env_file"] == ".env" and service["init"] is True
    for variable in service.get("environment", {}):
        setting(variable)
    assert {"TASKYARD_SECRET_KEY", "TASKYARD_DATABASE_URL", "TASKYARD_TEMPORAL_ADDRESS"} <= (
        env_example().keys()
    )


def test_workers_scale_each_with_its_own_data_dir() -> None:
    worker = SERVICES["worker"]
    # A container name or a published port would stop `--scale worker=3`.
    assert "container_name" not in worker and "ports" not in worker
    data_dir = re.search(r"TASKYARD_DATA_DIR=(\S+)", (DEPLOY / "Dockerfile").read_text())
    assert data_dir is not None
    # An anonymous volume (no name before a colon): one per replica.
    assert worker["volumes"] == [data_dir.group(1)]
    assert "SYS_ADMIN" in worker["cap_add"]
    assert "seccomp=unconfined" in worker["security_opt"]


def test_env_example_holds_real_settings_and_refuses_its_placeholder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = env_example()
    for variable, value in values.items():
        if variable.startswith("TASKYARD_"):
            setting(variable)
            monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match="TASKYARD_SECRET_KEY is a placeholder"):
        Settings()
    monkeypatch.setenv("TASKYARD_SECRET_KEY", "0f" * 32)
    loaded = Settings()
    assert loaded.log_format == "json" and loaded.temporal_address == "temporal:7233"


def test_every_interpolated_variable_is_in_the_env_file() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    required = set(re.findall(r"\$\{(\w+)(?::\?[^}]*)?\}", text))
    assert required <= env_example().keys()


def test_the_image_runs_taskyard_with_real_settings() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["taskyard"]' in text
    for variable in re.findall(r"\b(TASKYARD_\w+)=", text):
        setting(variable)
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.MULTILINE):
        for path in source.split():
            assert (ROOT / path).exists(), f"the Dockerfile copies {path}, which is not here"


def test_healthcheck_asks_a_real_route() -> None:
    from taskyard.api.routes.health import router

    check = " ".join(SERVICES["api"]["healthcheck"]["test"])
    path = re.search(r"http://127\.0\.0\.1:8420(/\w+)", check)
    assert path is not None and path.group(1) in {getattr(r, "path", "") for r in router.routes}
