"""The file ``taskyard login`` keeps the server URL and token in (mode 0600).

``$TASKYARD_CONFIG``, else ``$XDG_CONFIG_HOME/taskyard/config.json``, else
``~/.config/taskyard/config.json``. The environment and the command line win over it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

MAX_SIZE = 64 * 1024


def path() -> Path:
    explicit = os.environ.get("TASKYARD_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "taskyard" / "config.json"


def load() -> dict[str, str]:
    """The saved ``url`` and ``token``; nothing if no one logged in."""
    file = path()
    try:
        if file.stat().st_size > MAX_SIZE:
            raise click.ClickException(f"{file} is too large to be taskyard's config.")
        data = json.loads(file.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise click.ClickException(
            f"Cannot read {file} ({exc}): fix it, or run `taskyard logout`."
        ) from exc
    if not isinstance(data, dict):
        raise click.ClickException(f"{file} is not a JSON object: run `taskyard logout`.")
    return {k: v for k, v in data.items() if k in ("url", "token") and isinstance(v, str)}


def save(url: str, token: str) -> Path:
    """Write the file readable by its owner only, replacing any earlier one at once."""
    file = path()
    file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = file.with_name(f".{file.name}.{os.getpid()}")
    staging.unlink(missing_ok=True)
    # Created 0600 from the start: the token is never readable by others, not even briefly.
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"url": url, "token": token}, out, indent=2)
        out.write("\n")
    os.replace(staging, file)
    return file


def remove() -> Path | None:
    file = path()
    try:
        file.unlink()
    except FileNotFoundError:
        return None
    return file
