"""Migration 0003 on a database that already holds data, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import select, text

from taskyard.db.models import ApiToken, LinkedIdentity
from taskyard.db.session import MIGRATIONS, get_engine, session_scope


def alembic(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["engine"] = get_engine(url)
    return config


def test_identities_become_per_organization_and_the_first_admin_an_installation_admin(
    database_url: str,
) -> None:
    config = alembic(database_url)
    command.upgrade(config, "0002")
    with get_engine(database_url).begin() as conn:
        for statement in (
            "INSERT INTO organizations (id, slug, name, created_at) VALUES "
            "(1, 'default', 'D', CURRENT_TIMESTAMP), (2, 'other', 'O', CURRENT_TIMESTAMP)",
            "INSERT INTO users (id, org_id, username, name, email, is_admin, created_at) VALUES "
            "(1, 1, 'admin', '', '', true, CURRENT_TIMESTAMP), "
            "(2, 2, 'boss', '', '', true, CURRENT_TIMESTAMP)",
            "INSERT INTO api_tokens (id, user_id, name, prefix, token_hash, scopes, created_at) "
            "VALUES (1, 1, 'first', 'ty_a', 'h1', '[\"admin\"]', CURRENT_TIMESTAMP), "
            "(2, 2, 'other', 'ty_b', 'h2', '[\"admin\"]', CURRENT_TIMESTAMP), "
            "(3, 1, 'reader', 'ty_c', 'h3', '[\"tasks:read\"]', CURRENT_TIMESTAMP)",
            "INSERT INTO linked_identities (user_id, provider, external_id, login) "
            "VALUES (2, 'github', '42', 'octo')",
        ):
            conn.execute(text(statement))
    command.upgrade(config, "head")
    with session_scope(database_url) as session:
        scopes = {t.id: t.scopes for t in session.scalars(select(ApiToken))}
        assert scopes == {
            1: ["admin", "installation:admin"],
            2: ["admin"],
            3: ["tasks:read"],
        }
        identity = session.scalars(select(LinkedIdentity)).one()
        assert identity.org_id == 2
    command.downgrade(config, "0002")
    command.upgrade(config, "head")
    with session_scope(database_url) as session:
        # The same account may now be linked in the first organization too.
        session.add(
            LinkedIdentity(org_id=1, user_id=1, provider="github", external_id="42", login="")
        )
