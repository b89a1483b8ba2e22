"""Schedules' words: the cron expression and time zone a schedule runs on, checked here
so a bad one is refused with what to fix before Temporal ever sees it, and the
definition the engine turns into a Temporal Schedule.

Cron follows Temporal's reading of it: 5 fields (minute hour day-of-month month
day-of-week), 6 (and a year), or 7 (a second first, then those six), or one of the
shorthands ``@hourly``, ``@daily``...
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise

from taskyard.model.errors import InvalidInput

MAX_CRON = 200
MAX_ZONE = 64
SHORTHANDS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()

    def value(self, text: str) -> int:
        if text.upper() in self.names:
            return self.names.index(text.upper()) + self.low
        if not text.isdigit():
            raise InvalidInput(f"Cron {self.name} field: '{text}' is not a number.")
        number = int(text)
        if not self.low <= number <= self.high:
            raise InvalidInput(
                f"Cron {self.name} field: {number} is out of range {self.low}-{self.high}."
            )
        return number


SECOND = Field("second", 0, 59)
MINUTE = Field("minute", 0, 59)
HOUR = Field("hour", 0, 23)
DAY = Field("day-of-month", 1, 31)
MONTH = Field("month", 1, 12, MONTHS)
WEEKDAY = Field("day-of-week", 0, 7, DAYS)  # 0 and 7 are both Sunday
YEAR = Field("year", 2000, 2100)  # the years Temporal takes
FIVE = (MINUTE, HOUR, DAY, MONTH, WEEKDAY)
LAYOUTS = {5: FIVE, 6: (*FIVE, YEAR), 7: (SECOND, *FIVE, YEAR)}
ITEM = re.compile(r"^(?P<range>\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/(?P<step>[0-9]+))?$")


class Overlap(StrEnum):
    """What a fire does while the task of the schedule's last run is still open."""

    SKIP = "skip"  # record the fire as skipped, make no task
    ALLOW = "allow"  # make another task anyway


class Outcome(StrEnum):
    """What one fire of a schedule did."""

    CREATED = "created"
    SKIPPED_OVERLAP = "skipped-overlap"
    SKIPPED_PAUSED = "skipped-paused"
    FAILED = "failed"


def check_cron(expression: str, min_interval: int = 1) -> str:
    """``expression`` normalized (single spaces), or ``InvalidInput`` naming the bad part
    (or that it fires less than ``min_interval`` seconds apart)."""
    text = " ".join(expression.split())
    if not text:
        raise InvalidInput("The cron expression is empty: give e.g. '0 9 * * MON-FRI'.")
    if len(text) > MAX_CRON:
        raise InvalidInput(f"The cron expression is longer than {MAX_CRON} characters.")
    if text.startswith("@"):
        if text.lower() not in SHORTHANDS:
            known = ", ".join(sorted(SHORTHANDS))
            raise InvalidInput(f"Unknown cron shorthand '{text}'. Known: {known}.")
        return text.lower()
    parts = text.split(" ")
    layout = LAYOUTS.get(len(parts))
    if layout is None:
        raise InvalidInput(
            f"The cron expression has {len(parts)} fields; it needs 5 (minute hour "
            "day-of-month month day-of-week), 6 (and a year) or 7 (a second first)."
        )
    for field, part in zip(layout, parts, strict=True):
        _check_field(field, part)
    if len(parts) == 7:
        _check_interval(parts[0], min_interval)
    return text


def _seconds(part: str) -> set[int]:
    """The seconds of a minute a (checked) seconds field fires at."""
    found: set[int] = set()
    for item in part.split(","):
        match = ITEM.match(item)
        assert match is not None  # checked by _check_field
        span, step = match["range"], int(match["step"] or 1)
        low, _, high = ("0-59" if span == "*" else span).partition("-")
        last = int(high) if high else (59 if match["step"] else int(low))
        found.update(range(int(low), last + 1, step))
    return found


def _check_interval(part: str, min_interval: int) -> None:
    """Refuse a seconds field that fires twice less than ``min_interval`` seconds apart.

    Only the seconds field can: 5- and 6-field expressions fire at most once a minute,
    and the limit is at most 60 seconds (``TASKYARD_SCHEDULE_MIN_INTERVAL_SECONDS``).
    """
    seconds = sorted(_seconds(part))
    if len(seconds) < 2:
        return
    gaps = [b - a for a, b in pairwise(seconds)]
    gap = min([*gaps, seconds[0] + 60 - seconds[-1]])
    if gap < min_interval:
        raise InvalidInput(
            f"The cron expression fires {gap} second(s) apart; this server allows schedules "
            f"at most every {min_interval} seconds (TASKYARD_SCHEDULE_MIN_INTERVAL_SECONDS)."
        )


def _check_field(field: Field, part: str) -> None:
    for item in part.split(","):
        match = ITEM.match(item)
        if match is None:
            raise InvalidInput(f"Cron {field.name} field: '{item}' is not a value, range or step.")
        span, step = match["range"], match["step"]
        if span != "*":
            low, _, high = span.partition("-")
            if high and field.value(low) > field.value(high):
                raise InvalidInput(f"Cron {field.name} field: the range '{span}' runs backwards.")
            field.value(low)
        if step is not None and not 1 <= int(step) <= field.high:
            raise InvalidInput(f"Cron {field.name} field: step {step} is out of range.")


def check_time_zone(name: str) -> str:
    """``name`` if it is an IANA time zone (``Europe/Paris``, ``UTC``), else ``InvalidInput``."""
    if not name or len(name) > MAX_ZONE:
        raise InvalidInput("Give the time zone as an IANA name, such as 'Europe/Paris' or 'UTC'.")
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"Unknown time zone '{name}': give an IANA name such as 'Europe/Paris' or 'UTC'."
        ) from None
    return name


@dataclass(frozen=True)
class ScheduleDef:
    """What the engine keeps of a schedule: when it fires, and whether it is paused."""

    uid: str
    schedule_id: int
    cron: str
    time_zone: str
    paused: bool
    note: str = ""
