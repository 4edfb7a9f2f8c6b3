"""The loop that delivers webhooks, beside the workers: a slow or failing receiver holds only its own
delivery, never a task's worker slot. Every orchestrator process that runs workers runs one; the
outbox's leases keep them off each other's deliveries."""

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from ..clients.webhooks import WebhookClient
from ..config import OrchestratorSettings
from ..metrics import WEBHOOK_DELIVERIES
from .outbox import DELIVERED, GIVEN_UP, DueDelivery, claim_due, record_attempt

log = logging.getLogger("orchestrator.webhooks")

POLL_S = 1.0  # how often the outbox is looked at when it had nothing due
AT_ONCE = 8  # deliveries in flight at once, per process


class WebhookSender:
    def __init__(self, settings: OrchestratorSettings, sessions: sessionmaker[Session], name: str):
        self._retries = settings.webhook_retries()
        self._sessions = sessions
        self._name = name
        self._client = WebhookClient(settings)
        # A delivery's lease outlasts its attempt (at most two timeouts), so a live sender keeps it, and
        # lapses soon after, so the sender's death delays it little.
        self._lease_s = settings.webhook_timeout_s * 2 + 5

    async def run(self) -> None:
        while True:
            try:
                due = await asyncio.to_thread(claim_due, self._sessions, self._name, self._lease_s, AT_ONCE)
            except Exception as exc:  # the database is away: the outbox keeps everything until it is back
                log.warning("cannot read the webhook outbox: %s", str(exc).splitlines()[0] if str(exc) else exc)
                due = []
            if due:
                await asyncio.gather(*(self._deliver(delivery) for delivery in due))
            else:
                await asyncio.sleep(POLL_S)

    async def _deliver(self, delivery: DueDelivery) -> None:
        outcome = await self._client.send(delivery.id, delivery.url, delivery.payload, datetime.now(UTC))
        attempt = delivery.attempts + 1
        final = outcome.final or not self._retries.may_retry_after(attempt)
        retry_in_s = self._retries.delay_s(attempt)
        try:
            state = await asyncio.to_thread(record_attempt, self._sessions, delivery, self._name, outcome.status,
                                            outcome.delivered, final, retry_in_s)
        except Exception as exc:  # unrecorded: the lease lapses and the event is sent again, same webhook-id
            log.warning("webhook %s for task %s: %s, not recorded (%s)", delivery.id, delivery.task_id,
                        outcome.status, exc)
            return
        WEBHOOK_DELIVERIES.labels("delivered" if state == DELIVERED else "given_up" if state == GIVEN_UP
                                  else "retried").inc()
        if state == DELIVERED:
            log.info("webhook %s for task %s delivered (%s)", delivery.id, delivery.task_id, outcome.status)
        elif state == GIVEN_UP:
            log.warning("webhook %s for task %s given up after %d attempts: %s", delivery.id, delivery.task_id,
                        delivery.attempts + 1, outcome.status)
        else:
            log.info("webhook %s for task %s: %s; trying again in %.0f s", delivery.id, delivery.task_id,
                     outcome.status, retry_in_s)

    async def aclose(self) -> None:
        await self._client.aclose()
