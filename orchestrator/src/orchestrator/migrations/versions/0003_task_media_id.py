"""the media a task uses, so that retention can tell media in use from media to remove

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("media_id", sa.String(64)))
        batch.create_index("ix_tasks_media_id", ["media_id"])


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_index("ix_tasks_media_id")
        batch.drop_column("media_id")
