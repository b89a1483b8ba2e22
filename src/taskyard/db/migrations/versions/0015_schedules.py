"""schedules

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 02:43:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column("org_id", BIG_ID, sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("owner_id", BIG_ID, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("cron", sa.String(200), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("overlap", sa.String(20), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("paused_reason", sa.String(500), nullable=False),
        sa.Column("task", sa.JSON(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.UniqueConstraint("uid"),
        sa.UniqueConstraint("org_id", "name", name="uq_schedules_org_name"),
    )
    op.create_table(
        "schedule_runs",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column(
            "schedule_id",
            BIG_ID,
            sa.ForeignKey("schedules.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("fired_at", WHEN, nullable=False),
        sa.Column("task_id", BIG_ID, sa.ForeignKey("tasks.id", ondelete="SET NULL"), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.UniqueConstraint("schedule_id", "fired_at", name="uq_schedule_runs_schedule_fired"),
    )
    op.create_index("ix_schedule_runs_task_id", "schedule_runs", ["task_id"])


def downgrade() -> None:
    op.drop_index("ix_schedule_runs_task_id", "schedule_runs")
    op.drop_table("schedule_runs")
    op.drop_table("schedules")
