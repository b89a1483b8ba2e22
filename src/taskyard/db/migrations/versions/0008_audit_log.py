"""audit log: who created, approved, cancelled, or changed a template, secret, token, workflow

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("org_id", BIG_ID, sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("token_id", BIG_ID, nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_audit_entries_org_id", "audit_entries", ["org_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_entries_org_id", table_name="audit_entries")
    op.drop_table("audit_entries")
