"""The beat job that picks up attempts whose task died (worker killed, broker restarted). Times are the
database's clock, so a process with a wrong clock neither resumes too early nor gives up too late."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Now

from payments import causes
from payments.models import AttemptStatus, PaymentAttempt
from payments.queue import POLL_ATTEMPT, REQUERY_ATTEMPT, SEND_ATTEMPT, enqueue
from payments.services.outcomes import go_unknown
from payments.services.sending import attempt_fail_if_too_old, too_old

S = AttemptStatus
log = logging.getLogger(__name__)


def _ago(seconds: float) -> CombinedExpression:
    return Now() - timedelta(seconds=seconds)


def attempts_resume_stalled() -> dict[str, int]:
    """CREATED ones are sent (the CREATED → SENT claim keeps that to one send), or failed when too old to
    send; SENT ones older than the charge time-out are moved to polling; UNKNOWN ones whose polling
    stopped are polled; NEEDS_REVIEW ones of the last day are re-queried now and then (a late result), unless the
    terminal's own answer is what is unconfirmed."""
    counts = {"sent": 0, "too_old": 0, "to_polling": 0, "polled": 0, "requeried": 0}
    created = PaymentAttempt.objects.filter(status=S.CREATED, created_at__lt=_ago(settings.CONSOLE_STALE_CREATED_AFTER))
    for attempt_id in created.filter(too_old()).values_list("pk", flat=True)[:500]:
        counts["too_old"] += attempt_fail_if_too_old(attempt_id)
    for attempt_id in created.exclude(too_old()).values_list("pk", flat=True)[:500]:
        enqueue(SEND_ATTEMPT, attempt_id)
        counts["sent"] += 1
    lost_after = settings.GATEWAY_CHARGE_TIMEOUT + settings.GATEWAY_CONNECT_TIMEOUT + 5
    for attempt_id in PaymentAttempt.objects.filter(status=S.SENT, sent_at__lt=_ago(lost_after)).values_list(
            "pk", flat=True)[:500]:
        counts["to_polling"] += go_unknown(attempt_id, from_statuses=[S.SENT],
                                           cause=causes.CHARGE_TASK_LOST)
    quiet = max(5 * settings.PAYMENT_POLL_INTERVAL, 10)
    free = Q(poll_claimed_until__isnull=True) | Q(poll_claimed_until__lt=Now())
    for attempt_id in PaymentAttempt.objects.filter(free, status=S.UNKNOWN, updated_at__lt=_ago(quiet)).values_list(
            "pk", flat=True)[:500]:
        enqueue(POLL_ATTEMPT, attempt_id)
        counts["polled"] += 1
    every = settings.CONSOLE_REVIEW_REQUERY_INTERVAL
    # Not those where the terminal's own answer is still unconfirmed (``terminal_outcome``: the charge's answer
    # said paid and the gateway's look-up did not, or the window ended before a confirmation): another look-up
    # would settle them by the very source that disagreed with the terminal. A person decides (Re-query, Close
    # by hand).
    for attempt_id in PaymentAttempt.objects.filter(
        Q(last_polled_at__lt=_ago(every)) | Q(last_polled_at__isnull=True),
        free,
        status=S.NEEDS_REVIEW,
        terminal_outcome="",
        created_at__gt=_ago(86400),
    ).values_list("pk", flat=True)[:100]:
        enqueue(REQUERY_ATTEMPT, attempt_id)
        counts["requeried"] += 1
    if any(counts.values()):
        log.info("resume job: %s", counts)
    return counts
