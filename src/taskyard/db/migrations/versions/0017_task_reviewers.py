"""task reviewers: the people asked to review a task, who hear of it as its creator does

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "task_reviewers",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("task_id", BIG_ID, sa.ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", BIG_ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("task_id", "user_id", name="uq_task_reviewers_task_user"),
    )
    op.create_index("ix_task_reviewers_user_id", "task_reviewers", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_task_reviewers_user_id", "task_reviewers")
    op.drop_table("task_reviewers")
