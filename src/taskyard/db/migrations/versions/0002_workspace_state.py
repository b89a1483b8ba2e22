"""workspace state kept by the server: base commit, setup done

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 11:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(
            sa.Column("base_commit", sa.String(length=64), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("setup_done_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("setup_done_at")
        batch.drop_column("base_commit")
