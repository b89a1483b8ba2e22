"""workspace checkpoints: each task's work as of its last completed turn, for every worker

A task's checkout lives on one worker; this is what another worker rebuilds it
from when that one is gone, and what a retried turn starts from. Setup now runs
once per checkout (a rebuilt one runs it again), so the task-wide flag goes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workspace_checkpoints",
        sa.Column(
            "task_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("tasks.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("base", sa.String(length=64), nullable=False),
        sa.Column("head", sa.String(length=64), nullable=False),
        sa.Column("agent_head", sa.String(length=64), nullable=False),
        sa.Column("pack", sa.LargeBinary(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("setup_done_at")


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("setup_done_at", sa.DateTime(timezone=True), nullable=True))
    op.drop_table("workspace_checkpoints")
