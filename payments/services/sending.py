"""Sending a sale to the terminal: create_order once, confirmed at once by query_order.

No transaction (and no database connection) is held while a gateway call is open: the state is claimed
in one short transaction, the calls are made, and what they answered is applied in another.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.db.models.functions import Now
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
    QueryOrderResult,
)
from payments.models import AttemptStatus, PaymentAttempt
from payments.services.door import db_slot, record_safely
from payments.services.outcomes import apply_order, card_fields, go_unknown
from payments.services.transitions import record_exchange, record_exchanges, transition

S = AttemptStatus
log = logging.getLogger(__name__)

NO_ANSWER = (OutcomeUnknown, InvalidSignature, InvalidResponse)
CreateOutcome = CreateOrderResult | ValueError | IOTPayError
Confirmation = QueryOrderResult | ValueError | IOTPayError | None


def too_old() -> Q:
    """A CREATED attempt older than CONSOLE_STALE_CREATED_AFTER_MAX by the database's clock."""
    return Q(created_at__lt=Now() - timedelta(seconds=settings.CONSOLE_STALE_CREATED_AFTER_MAX))


def attempt_fail_if_too_old(attempt_id: int) -> bool:
    """A sale whose task never ran in time is not sent: a terminal must not ask for a card for a sale from
    long ago (the customer may have paid otherwise, or left)."""
    return transition(
        attempt_id, from_statuses=[S.CREATED], to=S.FAILED, where=too_old(),
        cause="not sent: too old (its task did not run in time)",
        message="Not sent, too old: the payment waited too long to reach the terminal. Nothing was charged.",
    ) is not None


def attempt_send(*, attempt_id: int) -> None:
    """Send create_order once. Called with no transaction open: it blocks while the cardholder acts.

    Only the caller that moves CREATED → SENT sends; a task delivered twice, retried or started late finds
    the attempt past CREATED and does nothing (the resume job looks after SENT and UNKNOWN).
    """
    with db_slot():
        if attempt_fail_if_too_old(attempt_id):
            return
        claimed = transition(attempt_id, from_statuses=[S.CREATED], to=S.SENT, where=~too_old(),
                             cause="create_order sent to IOTPay", sent_at=timezone.now())
        if claimed is None:
            return
        attempt = PaymentAttempt.objects.select_related("merchant", "terminal", "lane", "store").get(pk=attempt_id)
        client = client_for(attempt.merchant)
    # The call may stay open two minutes: the slot's connection was given back above.
    outcome: CreateOutcome
    try:
        outcome = client.create_order(
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
    # An answer (paid, declined or refused) is confirmed at once by a query_order, with no slot held, so a
    # slow IOTPay does not hold up the other lanes; then everything is recorded in one transaction (one push).
    confirmation: Confirmation = None
    if isinstance(outcome, CreateOrderResult | GatewayRefused):
        try:
            confirmation = client.query_order(mch_order_no=attempt.mch_order_no)
        except (IOTPayError, ValueError) as exc:
            confirmation = exc
    with db_slot():
        record_safely(attempt_id, lambda: _apply_send_outcome(attempt, outcome, confirmation),
                      from_statuses=[S.SENT], what="create_order's answer")


def _apply_send_outcome(attempt: PaymentAttempt, outcome: CreateOutcome, confirmation: Confirmation) -> None:
    """Record create_order's outcome and, when IOTPay answered, the query_order that confirms it."""
    attempt_id = attempt.pk
    if isinstance(outcome, ValueError):
        transition(attempt_id, from_statuses=[S.SENT], to=S.FAILED, cause="not sent: request refused locally",
                   message=str(outcome)[:255])
        return
    if isinstance(outcome, NO_ANSWER):
        record_exchange(attempt_id, outcome.exchange, cause=f"create_order: {outcome}")
        go_unknown(attempt_id, cause=f"no clear answer to create_order ({outcome})", from_statuses=[S.SENT])
        return
    if isinstance(outcome, GatewayRefused):
        _apply_refusal(attempt, outcome, confirmation)
        return
    if isinstance(outcome, IOTPayError):  # a plain IOTPayError: the request never left (bad URL)
        record_exchange(attempt_id, outcome.exchange, cause=f"create_order not sent: {outcome}")
        transition(attempt_id, from_statuses=[S.SENT], to=S.FAILED, cause="create_order could not be sent",
                   message=str(outcome)[:255])
        return
    _apply_answer(attempt, outcome, confirmation)


def _confirm_cause(confirmation: Confirmation) -> tuple[object, str]:
    if isinstance(confirmation, QueryOrderResult):
        return confirmation.exchange, "query_order confirming the answer"
    if isinstance(confirmation, OrderNotFound):
        return confirmation.exchange, "confirming query_order: IOTPay has no such order"
    return getattr(confirmation, "exchange", None), f"confirming query_order: {confirmation}"


def _apply_refusal(attempt: PaymentAttempt, refusal: GatewayRefused, confirmation: Confirmation) -> None:
    """A refusal is final only when the query_order that follows agrees: no such order, or status 4/9."""
    attempt_id = attempt.pk
    record_exchanges(attempt_id, [(refusal.exchange, f"create_order refused: {refusal.message}"),
                                  _confirm_cause(confirmation)])
    reason = (refusal.message or refusal.err_code or "refused by IOTPay")[:255]
    answered = {"answered_at": timezone.now()}
    if isinstance(confirmation, OrderNotFound) or (
            isinstance(confirmation, QueryOrderResult) and confirmation.order.final and not confirmation.order.paid):
        transition(attempt_id, from_statuses=[S.SENT], to=S.FAILED, message=reason, **answered,
                   cause="IOTPay refused the order, and query_order confirms nothing was charged")
        return
    if isinstance(confirmation, QueryOrderResult) and apply_order(
            attempt, confirmation.order, source="create_order refused, but query_order", from_statuses=[S.SENT],
            **answered):
        return
    go_unknown(attempt_id, from_statuses=[S.SENT], **answered,
               cause=f"IOTPay refused the order ({reason}) but query_order did not confirm it: polling")


def _apply_answer(attempt: PaymentAttempt, result: CreateOrderResult, confirmation: Confirmation) -> None:
    """A SUCCESS answer: its card data and status are kept at once; the verified query_order decides."""
    attempt_id = attempt.pk
    order = result.pay_order
    record_exchanges(attempt_id, [(result.exchange, "create_order answered"), _confirm_cause(confirmation)])
    said = "APPROVED" if result.paid else ("DECLINED" if order is not None and order.final else "")
    answered = {"answered_at": timezone.now(), "pay_order_id": result.pay_order_id[:40],
                "response_verified": result.verified, "response_signature": result.exchange.signature}
    card = order.card if order is not None else None
    if isinstance(confirmation, QueryOrderResult):
        confirmed = confirmation.order
        if confirmed.tip is None and order is not None and order.tip is not None:
            confirmed = replace(confirmed, tip=order.tip)  # query_order need not carry the tip: compare it too
        if result.verified and order is not None and order.final and confirmed.final and order.paid != confirmed.paid:
            transition(attempt_id, from_statuses=[S.SENT], to=S.NEEDS_REVIEW, **answered,
                       **card_fields(card, order.receipt_disp), terminal_outcome=said,
                       cause="create_order and query_order disagree on whether the card was charged",
                       message="IOTPay's two answers disagree on whether the card was charged: check IOTPay's "
                               "portal and the terminal before doing anything else.")
            return
        if apply_order(attempt, confirmed, source="create_order answer confirmed by query_order",
                       from_statuses=[S.SENT], fallback_card=card, **answered):
            return
    provisional = {**answered, "terminal_outcome": said, **card_fields(card, order.receipt_disp if order else "")}
    if order is not None:
        provisional.update(gateway_status=order.status, gateway_amount=order.amount, gateway_tip=order.tip)
    cause = ("IOTPay reports the order still in progress" if isinstance(confirmation, QueryOrderResult)
             else f"answer not yet confirmed by query_order ({confirmation})")
    go_unknown(attempt_id, cause=cause, from_statuses=[S.SENT], **provisional)

