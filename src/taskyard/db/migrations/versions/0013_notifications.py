"""notifications: users' channels, preferences (users' and teams' defaults), the outbox

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 02:41:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notification_channels",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("org_id", BIG_ID, sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("user_id", BIG_ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("config_ciphertext", sa.Text(), nullable=False),
        sa.Column("summary", sa.String(300), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.UniqueConstraint("user_id", "name", name="uq_notification_channels_user"),
    )
    op.create_index("ix_notification_channels_org_id", "notification_channels", ["org_id"])
    op.create_table(
        "notification_preferences",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("org_id", BIG_ID, sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("user_id", BIG_ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
        sa.Column("team_id", BIG_ID, sa.ForeignKey("teams.id", ondelete="CASCADE"), nullable=True),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.UniqueConstraint("user_id", "event", name="uq_notification_preferences_user"),
        sa.UniqueConstraint("team_id", "event", name="uq_notification_preferences_team"),
    )
    op.create_index("ix_notification_preferences_org_id", "notification_preferences", ["org_id"])
    op.create_table(
        "notification_deliveries",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("org_id", BIG_ID, sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("user_id", BIG_ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "channel_id",
            BIG_ID,
            sa.ForeignKey("notification_channels.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("task_id", BIG_ID, sa.ForeignKey("tasks.id", ondelete="SET NULL"), nullable=True),
        sa.Column("notice_id", sa.String(64), nullable=False, unique=True),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("url", sa.String(600), nullable=False),
        sa.Column("task_key", sa.String(32), nullable=False),
        sa.Column("task_status", sa.String(20), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("thread", sa.String(100), nullable=False),
        sa.Column("occurred_at", WHEN, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=False),
        sa.Column("next_attempt_at", WHEN, nullable=True),
        sa.Column("claimed_until", WHEN, nullable=True),
        sa.Column("sent_at", WHEN, nullable=True),
        sa.Column("reference", sa.String(200), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
    )
    for name, columns in (
        ("ix_notification_deliveries_due", ["status", "next_attempt_at"]),
        ("ix_notification_deliveries_user", ["user_id", "id"]),
        ("ix_notification_deliveries_thread", ["thread", "id"]),
        ("ix_notification_deliveries_org_id", ["org_id"]),
        ("ix_notification_deliveries_channel_id", ["channel_id"]),
        ("ix_notification_deliveries_task_id", ["task_id"]),
    ):
        op.create_index(name, "notification_deliveries", columns)


def downgrade() -> None:
    op.drop_table("notification_deliveries")
    op.drop_table("notification_preferences")
    op.drop_table("notification_channels")
