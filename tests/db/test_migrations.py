"""Every migration runs down and up again, and the head schema is what the models say."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from taskyard.db.models import Base
from taskyard.db.session import get_engine
from tests.db.test_migration_0003 import alembic


def test_the_chain_downgrades_to_nothing_and_upgrades_again(database_url: str) -> None:
    config = alembic(database_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    command.upgrade(config, "head")
    with get_engine(database_url).connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        drift = compare_metadata(context, Base.metadata)
    # Index and type spellings differ between dialects; tables and columns must not.
    missing = [
        d for d in drift if d[0] in ("add_table", "remove_table", "add_column", "remove_column")
    ]
    assert missing == []
