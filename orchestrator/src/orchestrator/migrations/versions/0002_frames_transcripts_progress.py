"""per-frame results, transcript segments and source, progress, notes

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("frames", sa.JSON()))
        batch.add_column(sa.Column("transcript_segments", sa.JSON()))
        batch.add_column(sa.Column("transcript_source", sa.String(32)))
        batch.add_column(sa.Column("transcript_language", sa.String(32)))
        batch.add_column(sa.Column("progress", sa.JSON()))
        batch.add_column(sa.Column("notes", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        for column in ("notes", "progress", "transcript_language", "transcript_source", "transcript_segments",
                       "frames"):
            batch.drop_column(column)
