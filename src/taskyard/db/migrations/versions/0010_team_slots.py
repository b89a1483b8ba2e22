"""team slots: a per-team limit on agent runs at once, and the line of tasks waiting for one

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("teams", sa.Column("max_running", sa.Integer(), nullable=True))
    op.create_table(
        "team_slots",
        sa.Column(
            "task_id",
            BIG_ID,
            sa.ForeignKey("tasks.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("team_id", BIG_ID, sa.ForeignKey("teams.id"), nullable=False),
        sa.Column("running", sa.Boolean(), nullable=False),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_team_slots_team_id", "team_slots", ["team_id"])


def downgrade() -> None:
    op.drop_index("ix_team_slots_team_id", table_name="team_slots")
    op.drop_table("team_slots")
    # Not a batch: SQLite would copy the teams table, which the tasks refer to.
    op.drop_column("teams", "max_running")
