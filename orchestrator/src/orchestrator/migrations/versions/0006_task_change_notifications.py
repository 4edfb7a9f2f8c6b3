"""on PostgreSQL, every write to a task notifies channel task_changed with its id (answers kept in memory are
dropped on it)

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no notifications: PRAGMA data_version tells a reader of every commit
    op.execute("""
        CREATE FUNCTION notify_task_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('task_changed', CASE TG_OP WHEN 'DELETE' THEN OLD.id ELSE NEW.id END);
            RETURN NULL;
        END $$
    """)
    op.execute("CREATE TRIGGER task_changed AFTER UPDATE OR DELETE ON tasks "
               "FOR EACH ROW EXECUTE FUNCTION notify_task_changed()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER task_changed ON tasks")
    op.execute("DROP FUNCTION notify_task_changed()")
