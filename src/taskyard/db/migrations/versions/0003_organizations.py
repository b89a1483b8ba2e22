"""organizations: identities unique per organization, token lineage, installation admin

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 11:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# 0001 left the identity constraint unnamed; SQLite reflects it under this convention.
UNNAMED = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
SQLITE_OLD_UNIQUE = "uq_linked_identities_provider"
POSTGRES_OLD_UNIQUE = "linked_identities_provider_external_id_key"
NEW_UNIQUE = "uq_linked_identities_org_provider_external_id"
INSTALLATION_ADMIN = "installation:admin"


def _old_unique() -> str:
    """The name the global constraint has (a downgrade names it the same way)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    return SQLITE_OLD_UNIQUE if sqlite else POSTGRES_OLD_UNIQUE


def _drop_global_unique() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("linked_identities", naming_convention=UNNAMED) as batch:
            batch.drop_constraint(SQLITE_OLD_UNIQUE, type_="unique")
    else:
        op.drop_constraint(POSTGRES_OLD_UNIQUE, "linked_identities", type_="unique")


def _grant_installation_admin() -> None:
    """The installation admin is who the first start made: the first organization's admins."""
    bind = op.get_bind()
    tokens = sa.table(
        "api_tokens",
        sa.column("id", BigId),
        sa.column("user_id", BigId),
        sa.column("scopes", sa.JSON()),
        sa.column("revoked_at", sa.DateTime(timezone=True)),
    )
    users = sa.table(
        "users", sa.column("id", BigId), sa.column("org_id", BigId), sa.column("is_admin")
    )
    first_org = bind.scalar(sa.text("SELECT MIN(id) FROM organizations"))
    if first_org is None:
        return
    rows = bind.execute(
        sa.select(tokens.c.id, tokens.c.scopes)
        .join(users, users.c.id == tokens.c.user_id)
        .where(users.c.org_id == first_org, users.c.is_admin.is_(True))
        .where(tokens.c.revoked_at.is_(None))
    ).all()
    for token_id, scopes in rows:
        if "admin" in scopes and INSTALLATION_ADMIN not in scopes:
            bind.execute(
                sa.update(tokens)
                .where(tokens.c.id == token_id)
                .values(scopes=sorted([*scopes, INSTALLATION_ADMIN]))
            )


def upgrade() -> None:
    _drop_global_unique()
    with op.batch_alter_table("linked_identities") as batch:
        batch.add_column(sa.Column("org_id", BigId, nullable=True))
    op.execute(
        "UPDATE linked_identities SET org_id = "
        "(SELECT users.org_id FROM users WHERE users.id = linked_identities.user_id)"
    )
    with op.batch_alter_table("linked_identities") as batch:
        batch.alter_column("org_id", existing_type=BigId, nullable=False)
        batch.create_foreign_key("fk_linked_identities_org_id", "organizations", ["org_id"], ["id"])
        batch.create_unique_constraint(NEW_UNIQUE, ["org_id", "provider", "external_id"])
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("parent_id", BigId, nullable=True))
        batch.create_foreign_key(
            "fk_api_tokens_parent_id", "api_tokens", ["parent_id"], ["id"], ondelete="SET NULL"
        )
    _grant_installation_admin()


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_constraint("fk_api_tokens_parent_id", type_="foreignkey")
        batch.drop_column("parent_id")
    with op.batch_alter_table("linked_identities") as batch:
        batch.drop_constraint(NEW_UNIQUE, type_="unique")
        batch.drop_constraint("fk_linked_identities_org_id", type_="foreignkey")
        batch.drop_column("org_id")
        batch.create_unique_constraint(_old_unique(), ["provider", "external_id"])
