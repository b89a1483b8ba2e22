"""forges from configuration: organization and repository settings, each task's forge

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "forge_settings",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("org_id", BigId, sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("repository", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("api_url", sa.String(length=500), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("org_id", "repository"),
    )
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(
            sa.Column("forge", sa.String(length=40), nullable=False, server_default="")
        )
        for column in ("forge_url", "forge_api_url"):
            batch.add_column(
                sa.Column(column, sa.String(length=500), nullable=False, server_default="")
            )
    # What the path test decided before: local paths and file:// URLs were local,
    # everything else GitHub at the server's settings.
    op.execute(
        "UPDATE tasks SET forge = CASE WHEN repository LIKE '/%' OR repository LIKE 'file://%' "
        "THEN 'local' ELSE 'github' END"
    )


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("forge_api_url")
        batch.drop_column("forge_url")
        batch.drop_column("forge")
    op.drop_table("forge_settings")
