"""Migration 0018 on a server that already has organizations, on SQLite and PostgreSQL: the
first keeps every forge owner, the others are granted none until the installation admin
says which."""

from __future__ import annotations

from alembic import command
from sqlalchemy import select, text

from taskyard.db.models import Organization
from taskyard.db.session import get_engine, session_scope
from tests.db.test_migration_0003 import alembic


def test_the_first_organization_keeps_every_owner_and_the_others_get_none(
    database_url: str,
) -> None:
    config = alembic(database_url)
    command.upgrade(config, "0017")
    with get_engine(database_url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO organizations (id, slug, name, created_at) VALUES "
                "(1, 'default', 'D', CURRENT_TIMESTAMP), (2, 'other', 'O', CURRENT_TIMESTAMP)"
            )
        )
    command.upgrade(config, "head")
    with session_scope(database_url, write=False) as session:
        rows = session.execute(select(Organization.slug, Organization.repository_owners))
        owners = {slug: granted for slug, granted in rows}
    assert owners == {"default": "*", "other": ""}
    command.downgrade(config, "0017")
    command.upgrade(config, "head")
