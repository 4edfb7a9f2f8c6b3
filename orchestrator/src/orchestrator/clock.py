"""Naive UTC timestamps: what every table stores and every lease comparison uses."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
