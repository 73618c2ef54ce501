"""The steps that talk to IOTPay: send, confirm, poll, and the resume job.

No transaction (and no database connection) is held while a gateway call is open: the state is
claimed in one short transaction, the call is made, and the answer is applied in another.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from payments.gateway import client_for
from payments.iotpay import (
    CreateOrderResult,
    GatewayRefused,
    InvalidResponse,
    InvalidSignature,
    IOTPayError,
    OrderNotFound,
    OutcomeUnknown,
    PayOrder,
    QueryOrderResult,
)
from payments.models import AttemptStatus, PaymentAttempt
from payments.money import format_money
from payments.services.transitions import record_exchange, record_exchanges, transition, update

S = AttemptStatus
log = logging.getLogger(__name__)

NO_ANSWER = (OutcomeUnknown, InvalidSignature, InvalidResponse)

# A gateway worker holds hundreds of calls open with no database connection; when many end at once,
# each would want one. These slots bound the connections one worker process uses at a time; close()
# gives the connection back to the process's pool (or closes it when the pool is off).
_db_slots = threading.BoundedSemaphore(settings.CONSOLE_GATEWAY_DB_CONNECTIONS)


@contextmanager
def _db_slot() -> Iterator[None]:
    with _db_slots:
        try:
            yield
        finally:
            connection.close()


def _poll_later(attempt_id: int, *, countdown: float) -> None:
    from payments.tasks import poll_attempt

    transaction.on_commit(lambda: poll_attempt.apply_async((attempt_id,), countdown=countdown))


def _go_unknown(attempt: PaymentAttempt, *, cause: str, from_statuses: list[str], **fields: Any) -> None:
    deadline = timezone.now() + timedelta(seconds=settings.IOTPAY_POLL_WINDOW)
    with transaction.atomic():
        moved = transition(
            attempt.pk, from_statuses=from_statuses, to=S.UNKNOWN, cause=cause, poll_deadline=deadline, **fields
        )
        if moved is not None:
            _poll_later(attempt.pk, countdown=settings.IOTPAY_POLL_INTERVAL)


def attempt_send(*, attempt_id: int) -> None:
    """Send create_order once. Called with no transaction open: it blocks while the cardholder acts.

    Only the caller that moves CREATED → SENT sends; a task delivered twice, retried or started late
    finds the attempt past CREATED and does nothing (the resume job looks after SENT and UNKNOWN).
    """
    with _db_slot():
        attempt = transition(
            attempt_id,
            from_statuses=[S.CREATED],
            to=S.SENT,
            cause="create_order sent to IOTPay",
            sent_at=timezone.now(),
        )
        if attempt is None:
            return
        attempt = PaymentAttempt.objects.select_related("merchant", "terminal", "lane", "store").get(pk=attempt_id)
        client = client_for(attempt.merchant)
    # The call may stay open two minutes: the slot's connection was given back above.
    outcome: CreateOrderResult | ValueError | IOTPayError
    try:
        result = client.create_order(
            mch_order_no=attempt.mch_order_no,
            amount=attempt.amount,
            tip=attempt.tip,
            currency=attempt.currency,
            device=attempt.terminal.device,
            job_no=attempt.terminal.job_no or attempt.merchant.job_no,
            client_ip=settings.CONSOLE_CLIENT_IP,
            subject=f"{attempt.store.name} {attempt.lane.code}"[:64],
            body=f"Sale at {attempt.store.name}, lane {attempt.lane.code}"[:255],
            remarks=attempt.mch_order_no,
            read_timeout=settings.IOTPAY_CREATE_TIMEOUT,
        )
    except (ValueError, IOTPayError) as exc:  # handled below, once a database slot is free
        outcome = exc
    else:
        outcome = result
    # payOrder is not covered by the response signature: a verifiable query_order decides. It is asked at
    # once, with no slot held, so a slow IOTPay does not hold up the claims and answers of other lanes; then
    # the answer, the confirmation and the outcome are recorded in one transaction (one push).
    confirmation: QueryOrderResult | ValueError | IOTPayError | None = None
    if isinstance(outcome, CreateOrderResult):
        try:
            confirmation = client.query_order(mch_order_no=attempt.mch_order_no)
        except (IOTPayError, ValueError) as exc:
            confirmation = exc
    with _db_slot(), transaction.atomic():
        _apply_send_outcome(attempt, outcome, confirmation)


def _apply_send_outcome(
    attempt: PaymentAttempt,
    outcome: CreateOrderResult | ValueError | IOTPayError,
    confirmation: QueryOrderResult | ValueError | IOTPayError | None,
) -> None:
    """Record create_order's outcome and, when IOTPay answered, the query_order that confirms it."""
    attempt_id = attempt.pk
    if isinstance(outcome, ValueError):
        transition(attempt_id, from_statuses=[S.SENT], to=S.FAILED, cause="not sent: request refused locally",
                   message=str(outcome)[:255])
        return
    if isinstance(outcome, NO_ANSWER):
        record_exchange(attempt_id, outcome.exchange, cause=f"create_order: {outcome}")
        _go_unknown(attempt, cause=f"no clear answer to create_order ({outcome})", from_statuses=[S.SENT])
        return
    if isinstance(outcome, GatewayRefused):
        record_exchange(attempt_id, outcome.exchange, cause=f"create_order refused: {outcome.message}")
        transition(
            attempt_id,
            from_statuses=[S.SENT],
            to=S.FAILED,
            cause="IOTPay refused the order before reaching the bank",
            message=(outcome.message or outcome.err_code or "refused by IOTPay")[:255],
            answered_at=timezone.now(),
        )
        return
    if isinstance(outcome, IOTPayError):  # a plain IOTPayError: the request never left (bad URL)
        record_exchange(attempt_id, outcome.exchange, cause=f"create_order not sent: {outcome}")
        transition(attempt_id, from_statuses=[S.SENT], to=S.FAILED, cause="create_order could not be sent",
                   message=str(outcome)[:255])
        return
    answer = (outcome.exchange, "create_order answered")
    answered = {"answered_at": timezone.now(), "pay_order_id": outcome.pay_order_id or "",
                "response_verified": outcome.verified}
    if not isinstance(confirmation, QueryOrderResult):
        record_exchanges(attempt_id, [answer, (getattr(confirmation, "exchange", None),
                                               f"confirming query_order: {confirmation}")])
        _go_unknown(attempt, cause=f"answer not yet confirmed by query_order ({confirmation})",
                    from_statuses=[S.SENT], **answered)
        return
    record_exchanges(attempt_id, [answer, (confirmation.exchange, "query_order confirming the answer")])
    if not _apply_order(attempt, confirmation.order, source="create_order answer confirmed by query_order",
                        **answered):
        _go_unknown(attempt, cause="IOTPay reports the order still in progress", from_statuses=[S.SENT],
                    **answered)


def order_differences(attempt: PaymentAttempt, order: PayOrder) -> str:
    """What in IOTPay's order differs from ours; a missing amount or currency counts as different."""
    problems = []
    if order.mch_order_no != attempt.mch_order_no:
        problems.append(f"mchOrderNo {order.mch_order_no!r}")
    if order.amount is None:
        problems.append("no amount")
    elif order.amount != attempt.amount:
        problems.append(f"amount {format_money(order.amount, attempt.currency)} instead of "
                        f"{format_money(attempt.amount, attempt.currency)}")
    if (order.currency or "").upper() != attempt.currency.upper():
        problems.append(f"currency {order.currency!r}")
    return ", ".join(problems)


def _card_fields(order: PayOrder) -> dict[str, object]:
    card = order.card
    if card is None:
        return {"receipt_disp": order.receipt_disp[:255]}
    return {
        "card": card.as_dict(),
        "card_brand": card.brand[:40],
        "card_last4": card.last4,
        "auth_num": card.auth_num[:20],
        "batch_num": card.batch_num[:10],
        "receipt_disp": (card.receipt_disp or order.receipt_disp)[:255],
    }


def _apply_order(attempt: PaymentAttempt, order: PayOrder, *, source: str, **answered: Any) -> bool:
    """Apply a verified order state; False when IOTPay does not have a final outcome yet."""
    from_statuses = [S.SENT, S.UNKNOWN, S.NEEDS_REVIEW]
    common = {**answered, "gateway_status": order.status,
              "pay_order_id": order.pay_order_id or answered.get("pay_order_id") or attempt.pay_order_id}
    if problems := order_differences(attempt, order):
        transition(attempt.pk, from_statuses=[S.SENT, S.UNKNOWN], to=S.NEEDS_REVIEW,
                   cause=f"{source}: IOTPay's order differs from ours ({problems})",
                   message=f"IOTPay's record differs from this sale: {problems}"[:255], **common)
        return True
    if order.paid:
        transition(attempt.pk, from_statuses=from_statuses, to=S.APPROVED, cause=f"{source}: paid",
                   message="", paid_at=order.pay_succ_time, **common, **_card_fields(order))
        return True
    if order.final:
        transition(attempt.pk, from_statuses=from_statuses, to=S.DECLINED,
                   cause=f"{source}: not paid (status {order.status})", message="", **common, **_card_fields(order))
        return True
    return False


def attempt_poll(*, attempt_id: int) -> None:
    """One query_order for an attempt whose outcome is unknown; schedules the next until the window ends."""
    attempt = PaymentAttempt.objects.select_related("merchant").filter(pk=attempt_id, status=S.UNKNOWN).first()
    if attempt is None:
        return
    order = _query(attempt, cause="polling query_order")
    attempt = update(attempt_id, in_statuses=[S.UNKNOWN], poll_count=attempt.poll_count + 1,
                     last_polled_at=timezone.now())
    if attempt is None:
        return
    if order is not None and _apply_order(attempt, order, source="query_order while polling"):
        return
    if attempt.poll_deadline is not None and timezone.now() >= attempt.poll_deadline:
        transition(
            attempt_id,
            from_statuses=[S.UNKNOWN],
            to=S.NEEDS_REVIEW,
            cause=f"no final outcome from IOTPay after {attempt.poll_count} queries",
            message="IOTPay gave no final outcome in time. Check the terminal's own record before charging again.",
        )
        return
    with transaction.atomic():
        _poll_later(attempt_id, countdown=settings.IOTPAY_POLL_INTERVAL)


def _query(attempt: PaymentAttempt, *, cause: str) -> PayOrder | None:
    try:
        result = client_for(attempt.merchant).query_order(mch_order_no=attempt.mch_order_no)
    except OrderNotFound as exc:
        record_exchange(attempt.pk, exc.exchange, cause=f"{cause}: IOTPay has no such order yet")
        return None
    except (IOTPayError, ValueError) as exc:
        record_exchange(attempt.pk, getattr(exc, "exchange", None), cause=f"{cause}: {exc}")
        return None
    record_exchange(attempt.pk, result.exchange, cause=cause)
    return result.order


def attempt_requery(*, attempt_id: int) -> PaymentAttempt:
    """Ask IOTPay again about an attempt that needs review (a person's button, or the resume job)."""
    attempt = PaymentAttempt.objects.select_related("merchant").get(pk=attempt_id)
    if attempt.status == S.NEEDS_REVIEW:
        order = _query(attempt, cause="re-query of an attempt needing review")
        update(attempt_id, in_statuses=[S.NEEDS_REVIEW], last_polled_at=timezone.now())
        if order is not None:
            _apply_order(attempt, order, source="re-query")
    return PaymentAttempt.objects.get(pk=attempt_id)


def attempts_resume_stalled() -> dict[str, int]:
    """Beat job: pick up attempts whose task died (worker killed, broker restarted).

    CREATED ones are sent (the CREATED → SENT claim keeps that to one send); SENT ones older than
    the create_order time-out are moved to polling; UNKNOWN ones whose polling stopped are polled;
    NEEDS_REVIEW ones of the last day are re-queried now and then, so a late result is applied.
    """
    from payments.tasks import poll_attempt, requery_attempt, send_attempt

    now = timezone.now()
    counts = {"sent": 0, "to_polling": 0, "polled": 0, "requeried": 0}
    stale_created = now - timedelta(seconds=settings.CONSOLE_STALE_CREATED_AFTER)
    for attempt_id in PaymentAttempt.objects.filter(status=S.CREATED, created_at__lt=stale_created).values_list(
        "pk", flat=True
    )[:500]:
        send_attempt.delay(attempt_id)
        counts["sent"] += 1
    lost_after = settings.IOTPAY_CREATE_TIMEOUT + settings.IOTPAY_CONNECT_TIMEOUT + 5
    for attempt in PaymentAttempt.objects.filter(status=S.SENT, sent_at__lt=now - timedelta(seconds=lost_after))[:500]:
        _go_unknown(attempt, cause="create_order task lost (no answer recorded in time)", from_statuses=[S.SENT])
        counts["to_polling"] += 1
    quiet = max(5 * settings.IOTPAY_POLL_INTERVAL, 10)
    for attempt_id in PaymentAttempt.objects.filter(
        status=S.UNKNOWN, updated_at__lt=now - timedelta(seconds=quiet)
    ).values_list("pk", flat=True)[:500]:
        poll_attempt.delay(attempt_id)
        counts["polled"] += 1
    review_every = timedelta(seconds=settings.CONSOLE_REVIEW_REQUERY_INTERVAL)
    for attempt_id in PaymentAttempt.objects.filter(
        Q(last_polled_at__lt=now - review_every) | Q(last_polled_at__isnull=True),
        status=S.NEEDS_REVIEW,
        created_at__gt=now - timedelta(days=1),
    ).values_list("pk", flat=True)[:100]:
        requery_attempt.delay(attempt_id)
        counts["requeried"] += 1
    if any(counts.values()):
        log.info("resume job: %s", counts)
    return counts

