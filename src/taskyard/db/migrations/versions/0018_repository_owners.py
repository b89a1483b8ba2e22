"""repository owners: which forge owners' repositories an organization may work on

The forge's credentials are the whole server's, so an organization names only the owners
(``acme`` of ``acme/shop``) the installation admin granted it. The first organization, the
one a single-organization server has, keeps every owner (``*``); any other starts with none.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "organizations",
        sa.Column("repository_owners", sa.String(4000), nullable=False, server_default=""),
    )
    op.execute(
        "UPDATE organizations SET repository_owners = '*' "
        "WHERE id = (SELECT MIN(id) FROM organizations)"
    )


def downgrade() -> None:
    # Not through a batch: SQLite would copy and drop the table the others refer to.
    op.drop_column("organizations", "repository_owners")
