"""intake: sources of tasks in other products (Sentry, support queues, webhooks)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 02:42:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "intake_sources",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("org_id", BIG_ID, sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("slug", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("creator_id", BIG_ID, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("repository", sa.String(500), nullable=False),
        sa.Column("team", sa.String(64), nullable=True),
        sa.Column("template", sa.String(100), nullable=True),
        sa.Column("workflow", sa.String(100), nullable=True),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("intake_sources")
