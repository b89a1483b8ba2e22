"""Documentation that must not drift from the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import taskyard
from taskyard.config import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    missing = [n for n in Settings.model_fields if f"`TASKYARD_{n.upper()}`" not in text]
    assert not missing, f"document these in docs/configuration.md: {missing}"


def test_settings_table_is_current() -> None:
    root = DOCS.parent
    result = subprocess.run(
        [sys.executable, str(root / "scripts" / "gen_config_docs.py"), "--check"], check=False
    )
    assert result.returncode == 0, "run: python scripts/gen_config_docs.py"


def test_public_names_are_pinned() -> None:
    assert taskyard.__all__ == [
        "AsyncClient",
        "Client",
        "TaskyardAPIError",
        "TaskyardConnectionError",
        "__version__",
    ]
