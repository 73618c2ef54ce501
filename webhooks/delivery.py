"""Sending deliveries: one try at a time per delivery, at most WEBHOOK_ENDPOINT_CONCURRENCY tries in flight per
endpoint, retried with exponential back-off until 24 hours after the event, then failed.

A try is three steps, as a gateway call is (docs/architecture.md): claim the delivery in a short committed
transaction (a token and an expiry: only the claimer sends, and a dead worker's claim runs out), POST with no
database connection held, record the answer in a second short transaction. At least once: a try whose
answer was lost (a worker killed after the POST) is made again, with the same event id.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import prometheus_client
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone

from webhooks.models import Delivery, DeliveryStatus, DeliveryTry, Endpoint
from webhooks.queue import enqueue_delivery, enqueue_delivery_on_commit
from webhooks.sender import Answer, post_event

log = logging.getLogger(__name__)
# Each try of a delivery, by what it came to: "delivered" (a 2xx answer) or "failed" (anything else; retried
# until the retry window ends).
DELIVERIES = prometheus_client.Counter("console_webhook_deliveries", "Tries to deliver a webhook, by outcome", ["outcome"])
CLAIM_MARGIN = 10.0  # seconds past the time-outs before a try in flight counts as lost
COUNTDOWN_MAX = 300.0  # retries due later than this are left to the beat job, not held in the broker
# A delivery's due time is written by a worker's clock and compared with the database's: a try may start this
# much early, so a worker whose clock runs a little ahead does not leave its deliveries to the beat job.
CLOCK_SLACK = timedelta(seconds=2)


def retry_delay(tries: int) -> float:
    """Seconds before the next try after ``tries`` failed ones: base, 2 x base, 4 x base... up to the cap,
    each ±20 % so that the retries of many deliveries do not arrive together."""
    base, cap = settings.WEBHOOK_RETRY_BASE_SECONDS, settings.WEBHOOK_RETRY_MAX_SECONDS
    return float(min(base * 2 ** max(tries - 1, 0), cap) * random.uniform(0.8, 1.2))


def _free() -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=Now())


@dataclass(frozen=True)
class Claimed:
    delivery: Delivery
    endpoint: Endpoint
    token: str


def delivery_try(*, delivery_id: int) -> None:
    """One try of the delivery if it is due and not in flight; called by the task, no transaction open."""
    claimed = _claim(delivery_id)
    if claimed is None:
        return
    delivery = claimed.delivery
    try:
        secret = claimed.endpoint.get_secret()
    except ValueError:
        # Its encryption key was removed from FIELD_ENCRYPTION_KEYS: a failed try, kept and retried like any.
        log.error("webhook endpoint %s: its secret cannot be decrypted", delivery.endpoint_id)
        answer = Answer(timezone.now(), 0, None, "the endpoint's secret cannot be decrypted (FIELD_ENCRYPTION_KEYS)")
    else:
        connection.close()  # back to the pool: the POST may take the whole time-out
        answer = post_event(claimed.endpoint.url, event_id=delivery.event.event_id, body=delivery.event.body.encode(),
                            secret=secret, timeouts=(settings.WEBHOOK_CONNECT_TIMEOUT, settings.WEBHOOK_READ_TIMEOUT))
    delay = _record(delivery, claimed.token, answer)
    DELIVERIES.labels(outcome="delivered" if answer.delivered else "failed").inc()
    log.info("webhook %s %s to endpoint %s: %s in %s ms", delivery.event.event_id, delivery.event.type,
             delivery.endpoint_id, answer.code or answer.error, answer.duration_ms)
    if delay is not None and delay <= COUNTDOWN_MAX:
        enqueue_delivery(delivery.pk, countdown=delay)
    if answer.delivered:  # an endpoint that fails is not sent its backlog at once: each waits its own back-off
        _next_of_endpoint(delivery.endpoint_id, after=delivery.pk)


def _claim(delivery_id: int) -> Claimed | None:
    hold = timedelta(seconds=settings.WEBHOOK_CONNECT_TIMEOUT + settings.WEBHOOK_READ_TIMEOUT + CLAIM_MARGIN)
    token = uuid.uuid4().hex
    with transaction.atomic():
        delivery = Delivery.objects.select_related("event", "endpoint").filter(pk=delivery_id).first()
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return None
        # The endpoint's row is the lock under which its tries in flight are counted.
        endpoint = Endpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
        if not endpoint.active:
            Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).filter(_free()).update(
                status=DeliveryStatus.FAILED, last_error="the endpoint is not active", updated_at=Now())
            return None
        busy = Delivery.objects.filter(endpoint=endpoint, claimed_until__gt=Now()).exclude(pk=delivery_id).count()
        if busy >= settings.WEBHOOK_ENDPOINT_CONCURRENCY:
            return None  # still due: the endpoint's next free try (or the beat job) sends it
        taken = Delivery.objects.filter(_free(), pk=delivery_id, status=DeliveryStatus.PENDING,
                                        next_try_at__lte=Now() + CLOCK_SLACK).update(claim_token=token,
                                                                                      claimed_until=Now() + hold)
    if not taken:
        return None
    return Claimed(delivery, endpoint, token)


def _record(delivery: Delivery, token: str, answer: Answer) -> float | None:
    """Keep the try and move the delivery on; returns the delay before the next try, None when there is none."""
    now = timezone.now()
    delay: float | None = None
    fields: dict[str, object] = {"last_code": answer.code, "last_error": answer.error[:255]}
    if answer.delivered:
        fields.update(status=DeliveryStatus.DELIVERED, delivered_at=now)
    elif now >= delivery.give_up_at:
        fields.update(status=DeliveryStatus.FAILED)
    else:
        delay = retry_delay(delivery.tries + 1)
        fields.update(next_try_at=now + timedelta(seconds=delay))
    with transaction.atomic():
        DeliveryTry.objects.create(delivery=delivery, started_at=answer.started_at, duration_ms=answer.duration_ms,
                                   response_code=answer.code, error=answer.error[:255], delivered=answer.delivered)
        moved = Delivery.objects.filter(pk=delivery.pk, claim_token=token).update(
            **fields, tries=F("tries") + 1, claim_token="", claimed_until=None, updated_at=now)
    if not moved:
        # Our claim ran out and another try took the delivery over: that try decides what comes next.
        log.warning("webhook delivery %s: the try's claim ran out before its answer was recorded", delivery.pk)
        return None
    return delay


def _next_of_endpoint(endpoint_id: int, *, after: int) -> None:
    """Keep an endpoint's backlog moving: the next due delivery waiting for a free try of this endpoint."""
    waiting = (Delivery.objects.filter(_free(), endpoint_id=endpoint_id, status=DeliveryStatus.PENDING,
                                       next_try_at__lte=Now() + CLOCK_SLACK).exclude(pk=after)
               .order_by("next_try_at").values_list("pk", flat=True).first())
    if waiting is not None:
        enqueue_delivery(waiting)


def deliveries_resume() -> int:
    """The beat job: enqueue the deliveries due for a while that no task took (an enqueue lost, a worker killed
    mid-try, a retry due later than the broker is asked to hold); at most the endpoint's concurrency each."""
    lost_after = timedelta(seconds=settings.WEBHOOK_LOST_AFTER_SECONDS)
    due = (Delivery.objects.filter(_free(), status=DeliveryStatus.PENDING, next_try_at__lt=Now() - lost_after)
           .order_by("next_try_at").values_list("pk", "endpoint_id")[:1000])
    per_endpoint: Counter[int] = Counter()
    sent = 0
    for delivery_id, endpoint_id in due:
        if per_endpoint[endpoint_id] >= settings.WEBHOOK_ENDPOINT_CONCURRENCY:
            continue
        per_endpoint[endpoint_id] += 1
        enqueue_delivery(delivery_id)
        sent += 1
    if sent:
        log.info("webhook resume job: %s deliveries enqueued", sent)
    return sent


def deliveries_send_again(delivery_ids: list[int]) -> tuple[int, int]:
    """The admin's "Send again": each delivery (delivered, failed or waiting) is tried once more now, with its
    event's id; retries follow while its 24 hours last. Returns (sent again, skipped: a try in flight)."""
    with transaction.atomic():
        free = list(Delivery.objects.select_for_update().filter(_free(), pk__in=delivery_ids)
                    .values_list("pk", flat=True))
        Delivery.objects.filter(pk__in=free).update(status=DeliveryStatus.PENDING, next_try_at=Now(),
                                                    updated_at=Now())
        for delivery_id in free:
            enqueue_delivery_on_commit(delivery_id)
    return len(free), len(set(delivery_ids)) - len(free)
