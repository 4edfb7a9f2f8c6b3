"""Database tables. The public API's task view is built from a Task row."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Task(Base):
    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # The API key name that created the task ("" without API_KEYS); only that owner sees the task.
    owner: Mapped[str] = mapped_column(String(200), default="", server_default="")
    status: Mapped[str] = mapped_column(String(32), index=True)
    youtube_url: Mapped[str] = mapped_column(Text)
    request: Mapped[dict] = mapped_column(JSON)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)  # sha256 of (owner, key)

    video_info: Mapped[dict | None] = mapped_column(JSON)
    checkpoints: Mapped[dict] = mapped_column(JSON, default=dict)
    summary: Mapped[str | None] = mapped_column(Text)
    key_points: Mapped[list | None] = mapped_column(JSON)
    frame_analyses: Mapped[list | None] = mapped_column(JSON)
    transcript: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    frames: Mapped[list | None] = mapped_column(JSON)  # [{index, timestamp, analysis}]
    transcript_segments: Mapped[list | None] = mapped_column(JSON)
    transcript_source: Mapped[str | None] = mapped_column(String(32))
    transcript_language: Mapped[str | None] = mapped_column(String(32))
    progress: Mapped[dict | None] = mapped_column(JSON)
    notes: Mapped[list | None] = mapped_column(JSON)
    chapters: Mapped[list | None] = mapped_column(JSON)  # [{start, end, title, summary}], in order
    last_error: Mapped[str | None] = mapped_column(Text)
    media_id: Mapped[str | None] = mapped_column(String(64), index=True)  # set once downloaded

    # The lease is the fence: every write by a worker names lease_owner and attempt.
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    not_before: Mapped[datetime | None] = mapped_column(DateTime)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)

    created_at: Mapped[datetime] = mapped_column(DateTime)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        Index("ix_tasks_claimable", "status", "lease_expires_at", "created_at"),
        Index("ix_tasks_owner_created", "owner", "created_at"),
    )


class TaskEvent(Base):
    """Append-only history of status changes and retries."""

    __tablename__ = "task_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str | None] = mapped_column(String(32))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str | None] = mapped_column(Text)


class WebhookDelivery(Base):
    """The outbox of webhooks: one row per task end to tell, written in the transaction that ends the task,
    so that a restart or a kill loses none. `id` is the event's webhook-id, the same on every attempt."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # No foreign key: the end of a task deleted afterwards is still told.
    task_id: Mapped[str] = mapped_column(String(36), unique=True)
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)  # the body, byte for byte the same on every attempt
    state: Mapped[str] = mapped_column(String(16))  # pending, delivered, given_up
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    last_status: Mapped[str | None] = mapped_column(String(300))
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),)
