"""github intake: webhook deliveries, triggers, threads, tracking comments, draft pull requests

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 21:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("tasks", sa.Column("thread", sa.String(300), nullable=True))
    op.create_index("ix_tasks_org_thread", "tasks", ["org_id", "thread"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("delivery_id", sa.String(100), nullable=False),
        sa.Column("event", sa.String(60), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", WHEN, nullable=False),
        sa.Column("handled_at", WHEN, nullable=True),
        sa.Column("outcome", sa.String(500), nullable=False),
        sa.UniqueConstraint("source", "delivery_id", name="uq_webhook_deliveries_source_id"),
    )
    op.create_table(
        "github_triggers",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("org_id", BIG_ID, sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("repository", sa.String(500), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("value", sa.String(300), nullable=False),
        sa.Column("paths", sa.JSON(), nullable=False),
        sa.Column("team", sa.String(64), nullable=True),
        sa.Column("template", sa.String(100), nullable=True),
        sa.Column("workflow", sa.String(100), nullable=True),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.UniqueConstraint(
            "org_id", "repository", "kind", "value", name="uq_github_triggers_org_repo_kind_value"
        ),
    )
    op.create_index("ix_github_triggers_repository", "github_triggers", ["repository"])
    op.create_table(
        "oauth_states",
        sa.Column("state_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", BIG_ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
    )
    op.create_table(
        "tracking_comments",
        sa.Column(
            "task_id", BIG_ID, sa.ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("repository", sa.String(500), nullable=False),
        sa.Column("issue_number", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.BigInteger(), nullable=False),
        sa.Column("dirty", sa.Boolean(), nullable=False),
        sa.Column("due_at", WHEN, nullable=False),
        sa.Column("claimed_until", WHEN, nullable=True),
        sa.Column("body_sha", sa.String(64), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=False),
    )
    op.create_index("ix_tracking_comments_dirty_due", "tracking_comments", ["dirty", "due_at"])
    with op.batch_alter_table("pull_requests") as batch:
        batch.add_column(sa.Column("node_id", sa.String(100), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("draft", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("repair_rounds", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("pull_requests") as batch:
        batch.drop_column("repair_rounds")
        batch.drop_column("draft")
        batch.drop_column("node_id")
    op.drop_index("ix_tracking_comments_dirty_due", table_name="tracking_comments")
    op.drop_table("tracking_comments")
    op.drop_table("oauth_states")
    op.drop_index("ix_github_triggers_repository", table_name="github_triggers")
    op.drop_table("github_triggers")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_tasks_org_thread", table_name="tasks")
    op.drop_column("tasks", "thread")
