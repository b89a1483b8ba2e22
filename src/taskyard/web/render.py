"""Pages from templates: Jinja2 with autoescaping on, assets served by taskyard itself.

Every value a template prints is escaped unless a view marks it safe, and views mark
safe only HTML they made from escaped parts (rendered Markdown is sanitized first).
Asset URLs carry a hash of the file, so browsers may keep them for a year and still
never run a stale script after an upgrade.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from taskyard.web.markdown import render_markdown

STATIC = Path(__file__).parent / "static"


@cache
def asset(name: str) -> str:
    """The URL of a file in ``static/``, versioned by its content."""
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
    return f"/static/{name}?v={digest}"


def since(moment: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """'3 min', '2 h', '5 d': how long ago, short enough for a card."""
    if moment is None:
        return "-"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    seconds = max(0, int(((now or dt.datetime.now(dt.UTC)) - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


environment = Environment(
    loader=PackageLoader("taskyard.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.globals["asset"] = asset
environment.filters["since"] = since
environment.filters["when"] = when
environment.filters["markdown"] = render_markdown


def render(name: str, **context: Any) -> str:
    return environment.get_template(name).render(**context)
