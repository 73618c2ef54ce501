"""Sending a sale to the terminal: charged once through the gateway door, by the gateway's own rules.

No transaction (and no database connection) is held while a gateway call is open: the state is claimed
in one short transaction, the call is made, and what it came to is applied in another.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.db.models.functions import Now
from django.utils import timezone

from gateways.base import Charge, ChargeOutcome, GatewayError, OrderState, Outcome, Sale
from payments import causes
from payments.models import AttemptStatus, PaymentAttempt
from payments.services.door import gateway_door, record_safely
from payments.services.outcomes import apply_order, card_fields, go_unknown
from payments.services.statements import claim_in_time, prepared
from payments.services.transitions import (
    change_locked,
    changed_in_database,
    exchange_causes,
    record_exchanges,
    transition,
)

S = AttemptStatus
log = logging.getLogger(__name__)


def too_old() -> Q:
    """A CREATED attempt older than CONSOLE_STALE_CREATED_AFTER_MAX by the database's clock."""
    return Q(created_at__lt=Now() - timedelta(seconds=settings.CONSOLE_STALE_CREATED_AFTER_MAX))


def attempt_fail_if_too_old(attempt_id: int) -> bool:
    """A sale whose task never ran in time is not sent: a terminal must not ask for a card for a sale from
    long ago (the customer may have paid otherwise, or left)."""
    return transition(
        attempt_id, from_statuses=[S.CREATED], to=S.FAILED, where=too_old(),
        cause=causes.TOO_OLD, message=causes.MSG_TOO_OLD,
    ) is not None


def attempt_claim(attempt_id: int) -> PaymentAttempt | None:
    """CREATED → SENT, with what the sale needs read with it; or CREATED → FAILED when too old (by the
    database's clock); None when the attempt is no longer CREATED (another caller claimed it, or it failed).

    One locked read decides both: the same rules as ``attempt_fail_if_too_old`` then a ``transition`` to SENT,
    in one short transaction instead of two, and no reload after it.
    """
    with transaction.atomic(), prepared():
        if (attempt := claim_in_time(attempt_id)) is not None:  # the usual case, in one statement
            changed_in_database(attempt, previous=S.CREATED, to=S.SENT, cause=causes.SENT)
            return attempt
        try:  # too old, or no longer CREATED: the locked read decides which
            attempt = (PaymentAttempt.objects.select_for_update(of=("self",))
                       .select_related("merchant", "terminal", "lane", "store")
                       .annotate(stale=ExpressionWrapper(too_old(), output_field=BooleanField()))
                       .get(pk=attempt_id, status=S.CREATED))
        except PaymentAttempt.DoesNotExist:
            return None
        if attempt.stale:
            change_locked(attempt, to=S.FAILED, cause=causes.TOO_OLD, message=causes.MSG_TOO_OLD)
            return None
        change_locked(attempt, to=S.SENT, cause=causes.SENT, sent_at=timezone.now())
    return attempt


def sale_of(attempt: PaymentAttempt) -> Sale:
    return Sale(
        order_reference=attempt.order_reference,
        amount=attempt.amount,
        tip=attempt.tip,
        currency=attempt.currency,
        terminal=attempt.terminal.device,
        operator=attempt.terminal.gateway_login or attempt.merchant.gateway_login,
        client_ip=settings.CONSOLE_CLIENT_IP,
        title=f"{attempt.store.name} {attempt.lane.code}",
        description=f"Sale at {attempt.store.name}, lane {attempt.lane.code}",
        timeout=settings.GATEWAY_CHARGE_TIMEOUT,
    )


def attempt_send(*, attempt_id: int) -> None:
    """Charge the sale once. Called with no transaction open: it blocks while the cardholder acts.

    Only the caller that moves CREATED → SENT sends; a task delivered twice, retried or started late finds
    the attempt past CREATED and does nothing (the resume job looks after SENT and UNKNOWN).
    """
    with gateway_door() as door:
        attempt = attempt_claim(attempt_id)
        if attempt is None:
            return
        sale = sale_of(attempt)
        # The call may stay open two minutes: the door gives the connection back for it. The gateway's own
        # rules (a confirming look-up) run inside the call, so a slow gateway holds up no other lane.
        try:
            charge = door.call(attempt.merchant, "charge", lambda gateway: gateway.charge(sale))
        except GatewayError as exc:  # only the door's own conversion: a gateway's charge() never raises
            charge = Charge(ChargeOutcome.NO_ANSWER, reason=str(exc), exchanges=exc.exchanges)
        record_safely(attempt_id, lambda: _apply_charge(attempt, charge), from_statuses=[S.SENT],
                      what=causes.THE_ANSWER)


def _said(state: OrderState | None) -> str:
    """What the terminal's answer said, while the gateway has not confirmed it."""
    if state is None:
        return ""
    return {Outcome.PAID: "APPROVED", Outcome.DECLINED: "DECLINED"}.get(state.outcome, "")


def _provisional_fields(charge: Charge) -> dict[str, object]:
    """An unconfirmed answer's card data, figures and what it said: kept, never lost (a receipt can be
    printed from it, marked as awaiting confirmation)."""
    state = charge.provisional
    if state is None:
        return {}
    fields: dict[str, object] = {"terminal_outcome": _said(state), "gateway_outcome": state.outcome.value,
                                 "gateway_amount": state.amount, "gateway_tip": state.tip,
                                 **card_fields(state.card, state.text)}
    if state.gateway_reference:
        fields["gateway_reference"] = state.gateway_reference[:40]
    return fields


def _apply_charge(attempt: PaymentAttempt, charge: Charge) -> None:
    """Record the calls and what the charge came to, in one transaction (one push)."""
    attempt_id = attempt.pk
    summary = {
        ChargeOutcome.CONFIRMED: causes.CHARGE_CONFIRMED, ChargeOutcome.REFUSED: causes.CHARGE_REFUSED,
        ChargeOutcome.CONFLICT: causes.CHARGE_DISAGREE, ChargeOutcome.NO_ANSWER: causes.CHARGE_NO_ANSWER,
        ChargeOutcome.NOT_SENT: causes.CHARGE_NOT_SENT,
    }[charge.outcome]
    record_exchanges(attempt_id, exchange_causes(charge.exchanges, f"charge: {summary}"))
    answered: dict[str, Any] = {"answered_at": timezone.now()}  # field values for transition()
    first = charge.exchanges[0] if charge.exchanges else None
    if first is not None and first.signature:  # what the charge's own answer's signature proved
        answered.update(response_verified=first.verified, response_signature=first.signature)
    if charge.provisional is not None and charge.provisional.gateway_reference:
        answered["gateway_reference"] = charge.provisional.gateway_reference[:40]
    reason = charge.reason[:255]
    name = attempt.merchant.gateway_name
    if charge.outcome is ChargeOutcome.NOT_SENT:
        transition(attempt_id, from_statuses=[S.SENT], to=S.FAILED, cause=causes.NOT_SENT_REFUSED,
                   message=reason)
    elif charge.outcome is ChargeOutcome.REFUSED:
        transition(attempt_id, from_statuses=[S.SENT], to=S.FAILED, message=reason, **answered,
                   cause=causes.REFUSED_CONFIRMED)
    elif charge.outcome is ChargeOutcome.CONFLICT:
        transition(attempt_id, from_statuses=[S.SENT], to=S.NEEDS_REVIEW, **{**answered, **_provisional_fields(charge)},
                   cause=reason or causes.ANSWERS_DISAGREE, message=causes.MSG_DISAGREE.format(name=name))
    elif charge.outcome is ChargeOutcome.CONFIRMED and charge.state is not None and apply_order(
            attempt, charge.state, source=causes.SOURCE_CONFIRMED, from_statuses=[S.SENT],
            fallback_card=charge.provisional.card if charge.provisional else None, **answered):
        return
    elif charge.outcome in (ChargeOutcome.CONFIRMED, ChargeOutcome.NO_ANSWER):
        cause = (causes.STILL_IN_PROGRESS if charge.outcome is ChargeOutcome.CONFIRMED
                 else causes.NO_CLEAR_ANSWER_YET.format(reason=reason))
        go_unknown(attempt_id, cause=cause, from_statuses=[S.SENT], **{**answered, **_provisional_fields(charge)})
