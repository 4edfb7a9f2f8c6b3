"""tasks belong to the API key that created them; idempotency keys are scoped to that owner

Revision ID: 0004
Revises: 0003
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    # Tasks from before keys existed belong to the anonymous owner ("") that a server without API_KEYS serves.
    bind.execute(sa.text("UPDATE tasks SET owner = '' WHERE owner IS NULL"))
    # The unique column now holds sha256(owner \0 key), so each owner has its own key space.
    rows = bind.execute(sa.text("SELECT id, idempotency_key FROM tasks WHERE idempotency_key IS NOT NULL")).all()
    for task_id, key in rows:
        scoped = hashlib.sha256(f"\0{key}".encode()).hexdigest()
        bind.execute(sa.text("UPDATE tasks SET idempotency_key = :key WHERE id = :id"), {"key": scoped, "id": task_id})
    with op.batch_alter_table("tasks") as batch:
        batch.alter_column("owner", existing_type=sa.String(200), nullable=False, server_default="")
        batch.create_index("ix_tasks_owner_created", ["owner", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_index("ix_tasks_owner_created")
        batch.alter_column("owner", existing_type=sa.String(200), nullable=True, server_default=None)
