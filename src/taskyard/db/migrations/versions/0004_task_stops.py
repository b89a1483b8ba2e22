"""task stops: a cancel or budget stop the gateway and the running turn read

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(
            sa.Column("stop_kind", sa.String(length=20), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("stop_reason", sa.String(length=300), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("stop_requested_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("stop_requested_at")
        batch.drop_column("stop_reason")
        batch.drop_column("stop_kind")
