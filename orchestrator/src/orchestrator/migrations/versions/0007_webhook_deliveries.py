"""the webhook outbox: one row per task end to tell, with its attempts

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("task_id", sa.String(36), nullable=False, unique=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_status", sa.String(300)),
        sa.Column("lease_owner", sa.String(200)),
        sa.Column("lease_expires_at", sa.DateTime()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime()),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["state", "next_attempt_at"])
    if op.get_bind().dialect.name == "postgresql":
        # A task's answer shows its delivery: kept answers of the task are dropped when it moves (0006).
        op.execute("""
            CREATE FUNCTION notify_task_webhook_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('task_changed', NEW.task_id);
                RETURN NULL;
            END $$
        """)
        op.execute("CREATE TRIGGER task_webhook_changed AFTER INSERT OR UPDATE ON webhook_deliveries "
                   "FOR EACH ROW EXECUTE FUNCTION notify_task_webhook_changed()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER task_webhook_changed ON webhook_deliveries")
        op.execute("DROP FUNCTION notify_task_webhook_changed()")
    op.drop_table("webhook_deliveries")
