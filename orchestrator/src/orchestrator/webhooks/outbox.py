"""The webhook outbox: a delivery is written in the very transaction that ends its task, claimed under a
short lease by one sender at a time, and kept until it is delivered or has used every attempt.

Delivery is at least once: a sender killed after the receiver answered but before the row says so sends
the same event again, with the same webhook-id, which is what receivers deduplicate on.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from ..clock import utcnow
from ..models import WebhookDelivery

PENDING, DELIVERED, GIVEN_UP = "pending", "delivered", "given_up"


def new_delivery(task_id: str, request: dict, status: str, error: str | None, now: datetime) -> WebhookDelivery | None:
    """The delivery telling that the task ended as `status`, when it was submitted with a webhook_url."""
    url = request.get("webhook_url")
    if not url:
        return None
    event = {
        "type": f"task.{status}",
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": {"task_id": task_id, "status": status, "error": error, "url": request.get("youtube_url")},
    }
    return WebhookDelivery(id=f"msg_{uuid.uuid4().hex}", task_id=task_id, url=url,
                           payload=json.dumps(event, separators=(",", ":")), state=PENDING, attempts=0,
                           next_attempt_at=now, created_at=now)


@dataclass(frozen=True)
class DueDelivery:
    id: str
    task_id: str
    url: str
    payload: str
    attempts: int


def claim_due(sessions: sessionmaker[Session], sender: str, lease_s: float, limit: int) -> list[DueDelivery]:
    """Up to `limit` deliveries due now, leased to `sender` for `lease_s` (another sender takes them over
    only once that lapses)."""
    now = utcnow()
    due = (select(WebhookDelivery.id)
           .where(WebhookDelivery.state == PENDING, WebhookDelivery.next_attempt_at <= now,
                  or_(WebhookDelivery.lease_expires_at.is_(None), WebhookDelivery.lease_expires_at < now))
           .order_by(WebhookDelivery.next_attempt_at).limit(limit))
    with sessions.begin() as session:
        if session.bind.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list(session.execute(due).scalars())
        if not ids:
            return []
        session.execute(update(WebhookDelivery).where(WebhookDelivery.id.in_(ids))
                        .values(lease_owner=sender, lease_expires_at=now + timedelta(seconds=lease_s))
                        .execution_options(synchronize_session=False))
        rows = session.execute(select(WebhookDelivery).where(WebhookDelivery.id.in_(ids))).scalars()
        return [DueDelivery(r.id, r.task_id, r.url, r.payload, r.attempts) for r in rows]


def record_attempt(sessions: sessionmaker[Session], delivery: DueDelivery, sender: str, outcome: str,
                   delivered: bool, final: bool, retry_in_s: float) -> str:
    """Write how an attempt went; returns the delivery's state now. `final`: not worth trying again."""
    now = utcnow()
    attempts = delivery.attempts + 1
    state = DELIVERED if delivered else GIVEN_UP if final else PENDING
    with sessions.begin() as session:
        session.execute(
            update(WebhookDelivery).where(WebhookDelivery.id == delivery.id, WebhookDelivery.lease_owner == sender)
            .values(state=state, attempts=attempts, last_status=outcome[:300], lease_owner=None,
                    lease_expires_at=None, delivered_at=now if delivered else None,
                    next_attempt_at=now + timedelta(seconds=retry_in_s))
            .execution_options(synchronize_session=False))
    return state
