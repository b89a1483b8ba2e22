"""How often a schedule may fire: TASKYARD_SCHEDULE_MIN_INTERVAL_SECONDS."""

from __future__ import annotations

import pytest

from taskyard.model.errors import InvalidInput
from taskyard.model.schedule import check_cron


@pytest.mark.parametrize(
    ("cron", "least", "gap"),
    [
        ("* * * * * * *", 60, 1),
        ("*/30 * * * * * *", 60, 30),
        ("0,59 * * * * * *", 60, 1),
        ("10-20/5 * * * * * *", 10, 5),
        ("5/20 * * * * * *", 30, 20),
    ],
)
def test_a_cron_firing_more_often_than_allowed_is_refused(cron: str, least: int, gap: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_cron(cron, least)
    assert f"fires {gap} second(s) apart" in refused.value.message
    assert "TASKYARD_SCHEDULE_MIN_INTERVAL_SECONDS" in refused.value.message


@pytest.mark.parametrize(
    ("cron", "least"),
    [("0 * * * * * *", 60), ("*/30 * * * * * *", 30), ("* * * * *", 60), ("0,30 * * * * * *", 30)],
)
def test_a_cron_within_the_limit_is_taken(cron: str, least: int) -> None:
    assert check_cron(cron, least) == cron
