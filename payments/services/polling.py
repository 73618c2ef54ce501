"""Looking up at the gateway an attempt whose outcome is unknown or needs review: one look-up at a time.

A poll is claimed (``poll_claimed_until``) before it asks, so two deliveries of a task, or the resume job
and a chain of polls, never ask at once; the claim lapses by itself if the worker dies. Deadlines are the
database's clock. The deadline is checked before anything that can fail: an attempt always ends, or needs
review, by its window.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Now

from gateways.base import CardDetails, GatewayError, OrderState, Outcome
from payments import causes
from payments.models import AttemptStatus, PaymentAttempt
from payments.services.door import Door, gateway_door
from payments.services.outcomes import apply_order, poll_later
from payments.services.transitions import exchange_causes, record_exchanges, record_note, transition
from payments.signals import notify_attempt_changed

S = AttemptStatus
log = logging.getLogger(__name__)


def _claim_ttl() -> timedelta:
    return timedelta(seconds=settings.GATEWAY_CONNECT_TIMEOUT + settings.GATEWAY_QUERY_TIMEOUT + 5)


def _claim(attempt_id: int, status: str, *, count: bool) -> bool:
    """Take the attempt's look-up slot (one look-up in flight per attempt); ``count`` adds one to
    ``poll_count`` in the same statement."""
    changes: dict[str, object] = {"poll_claimed_until": Now() + _claim_ttl(), "last_polled_at": Now(),
                                  "updated_at": Now()}
    if count:
        changes["poll_count"] = F("poll_count") + 1
    free = Q(poll_claimed_until__isnull=True) | Q(poll_claimed_until__lt=Now())
    return PaymentAttempt.objects.filter(free, pk=attempt_id, status=status).update(**changes) == 1


def _release(attempt_id: int) -> None:
    PaymentAttempt.objects.filter(pk=attempt_id).update(poll_claimed_until=None)


def _push(attempt_id: int) -> None:
    attempt = PaymentAttempt.objects.select_related("lane").filter(pk=attempt_id).first()
    if attempt is not None:
        notify_attempt_changed(attempt)


def look_up(door: Door, attempt: PaymentAttempt, *, cause: str) -> OrderState | None:
    """One look-up through the door, its calls recorded; None when the gateway gave no usable answer or has
    no such order."""
    try:
        order = door.call(attempt.merchant, "look up", lambda gateway: gateway.lookup(attempt.order_reference))
    except GatewayError as exc:
        record_exchanges(attempt.pk, exchange_causes(exc.exchanges, causes.STEP.format(step=cause, found=exc)))
        return None
    found = causes.NO_SUCH_ORDER if order.outcome is Outcome.NOT_FOUND else order.outcome.value
    record_exchanges(attempt.pk, exchange_causes(order.exchanges, causes.STEP.format(step=cause, found=found)))
    return None if order.outcome is Outcome.NOT_FOUND else order


def _provisional_card(attempt: PaymentAttempt) -> CardDetails | None:
    return CardDetails.from_dict(attempt.card) if isinstance(attempt.card, dict) else None


def _review_message(attempt: PaymentAttempt) -> str:
    name = attempt.merchant.gateway_name
    if attempt.terminal_outcome == "APPROVED":
        return causes.MSG_UNCONFIRMED.format(name=name)
    return causes.MSG_NO_OUTCOME.format(name=name)


def attempt_poll(*, attempt_id: int) -> None:
    """One look-up for an UNKNOWN attempt; schedules the next until the window ends."""
    with gateway_door() as door:
        if not _claim(attempt_id, S.UNKNOWN, count=True):
            return  # not UNKNOWN any more, or another poll is asking right now
        attempt = PaymentAttempt.objects.select_related("merchant").get(pk=attempt_id)
        past_deadline = PaymentAttempt.objects.filter(pk=attempt_id, poll_deadline__lte=Now()).exists()
        if past_deadline:
            # Before the last look-up, which may fail in any way: the window is kept whatever happens next.
            transition(attempt_id, from_statuses=[S.UNKNOWN], to=S.NEEDS_REVIEW,
                       cause=causes.LOOKUPS_EXHAUSTED.format(count=attempt.poll_count),
                       message=_review_message(attempt))
        else:
            _push(attempt_id)  # the page shows how many times the gateway was asked
        try:
            order = look_up(door, attempt, cause=causes.POLLING)
            applied = order is not None and apply_order(attempt, order, source=causes.SOURCE_POLLING,
                                                        fallback_card=_provisional_card(attempt))
        except Exception as exc:  # a poison answer that got this far is no answer: the next poll asks again
            log.exception("attempt %s: the poll's answer could not be applied", attempt_id)
            record_note(attempt_id, cause=causes.LOOKUP_NOT_RECORDED.format(error=exc.__class__.__name__))
            applied = False
        with transaction.atomic():
            _release(attempt_id)
            if not applied and not past_deadline:
                poll_later(attempt_id, countdown=settings.PAYMENT_POLL_INTERVAL)


def attempt_requery(*, attempt_id: int) -> PaymentAttempt:
    """Look up again an attempt that needs review (a person's button, or the resume job)."""
    with gateway_door() as door:
        if _claim(attempt_id, S.NEEDS_REVIEW, count=False):
            attempt = PaymentAttempt.objects.select_related("merchant").get(pk=attempt_id)
            try:
                order = look_up(door, attempt, cause=causes.REQUERY_REVIEW)
                if order is not None:
                    apply_order(attempt, order, source=causes.SOURCE_REQUERY, fallback_card=_provisional_card(attempt))
            except Exception as exc:
                log.exception("attempt %s: the re-query's answer could not be applied", attempt_id)
                record_note(attempt_id,
                            cause=causes.LOOKUP_NOT_RECORDED.format(error=exc.__class__.__name__))
            finally:
                _release(attempt_id)
        return PaymentAttempt.objects.get(pk=attempt_id)
