"""The state machine's one mechanism: a conditional change in a short transaction, with its event."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, overload

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Now
from django.utils import timezone

from gateways.base import Exchange
from payments import causes, logcontext
from payments.metrics import PAYMENTS
from payments.models import FINAL_STATUSES, AttemptStatus, PaymentAttempt, PaymentEvent, Refund
from payments.services.statements import (
    change_in_one_statement,
    insert_events,
    one_statement_changes,
    prepared,
)
from payments.signals import notify_attempt_changed, notify_status_changed

S = AttemptStatus

# Which statuses may follow which. UNKNOWN and NEEDS_REVIEW accept a late result from the gateway.
ALLOWED = {
    S.CREATED: {S.SENT, S.FAILED},
    S.SENT: {S.APPROVED, S.DECLINED, S.FAILED, S.UNKNOWN, S.NEEDS_REVIEW},
    S.UNKNOWN: {S.APPROVED, S.DECLINED, S.FAILED, S.NEEDS_REVIEW},
    S.NEEDS_REVIEW: {S.APPROVED, S.DECLINED, S.FAILED},
    S.APPROVED: set(),
    S.DECLINED: set(),
    S.FAILED: set(),
}


# A status table: which statuses may follow which (the refunds have their own, in refund_steps).
Allowed = Mapping[AttemptStatus, AbstractSet[AttemptStatus]]


@overload
def transition(
    obj_id: int, *, from_statuses: Iterable[str], to: str, cause: str, actor: User | None = None,
    data: dict[str, Any] | None = None, model: type[PaymentAttempt] = PaymentAttempt,
    allowed: Allowed = ALLOWED, where: Q | None = None, **fields: Any,
) -> PaymentAttempt | None: ...
@overload
def transition(
    obj_id: int, *, from_statuses: Iterable[str], to: str, cause: str, actor: User | None = None,
    data: dict[str, Any] | None = None, model: type[Refund],
    allowed: Allowed = ALLOWED, where: Q | None = None, **fields: Any,
) -> Refund | None: ...
def transition(
    obj_id: int,
    *,
    from_statuses: Iterable[str],
    to: str,
    cause: str,
    actor: User | None = None,
    data: dict[str, Any] | None = None,
    model: type[PaymentAttempt] | type[Refund] = PaymentAttempt,
    allowed: Allowed = ALLOWED,
    where: Q | None = None,
    **fields: Any,
) -> PaymentAttempt | Refund | None:
    """Move the attempt (or refund: `model=Refund` with its own `allowed` table) to `to` if it is in one of
    `from_statuses` (and matches `where`); None when it is not (idempotent).

    The row is locked only for this short transaction; the event names the attempt (and the refund); the
    change is told inside it (``status_changed``, then ``attempt_changed``) and the snapshot pushed after commit.
    A field value may be a callable of the database's clock (``lambda now: now + window``): deadlines are set by
    the database, not by this process's clock.
    """
    allowed_from = [s for s in from_statuses if to in allowed.get(S(s), set())]
    # Inside a caller's transaction, part of it (no savepoint: nothing here is caught and carried on from).
    clock = any(callable(v) for v in fields.values())
    with transaction.atomic(savepoint=False), prepared():
        # most changes of an attempt, on PostgreSQL: one statement
        if issubclass(model, PaymentAttempt) and where is None and not clock and one_statement_changes():
            changed = change_in_one_statement(obj_id, allowed_from, to, fields)
            if changed is None:
                return None
            attempt, previous = changed
            changed_in_database(attempt, previous=previous, to=to, cause=cause, actor=actor, data=data)
            return attempt
        rows = _locked(model, obj_id, allowed_from, where, clock=clock)
        try:
            row = rows.get()  # get(), not first(): no ORDER BY for a primary key
        except model.DoesNotExist:
            return None
        change_locked(row, to=to, cause=cause, actor=actor, data=data, allowed=allowed, **fields)
    return row


def change_locked(row: PaymentAttempt | Refund, *, to: str, cause: str, actor: User | None = None,
                  data: dict[str, Any] | None = None, allowed: Allowed = ALLOWED, **fields: Any) -> None:
    """The second half of ``transition``: ``row`` was read locked (``select_for_update``) in the transaction
    still open, and its status checked; for a caller that decides ``to`` from the locked row itself (one
    locked read instead of one per possible change)."""
    if to not in allowed.get(S(row.status), set()):
        raise ValueError(f"{row.status} → {to} is not allowed")
    now = timezone.now()
    previous = row.status
    for name, value in fields.items():
        # db_now: annotated by the locked read whenever a value is a callable
        setattr(row, name, value(getattr(row, "db_now", None)) if callable(value) else value)
    row.status = to
    changed = [*fields, "status", "updated_at"]  # only what changed: the row has some 40 columns
    if to in FINAL_STATUSES:
        row.finalized_at = now
        changed.append("finalized_at")
    row.save(update_fields=changed)
    changed_in_database(row, previous=previous, to=to, cause=cause, actor=actor, data=data)


def changed_in_database(row: PaymentAttempt | Refund, *, previous: str, to: str, cause: str,
                        actor: User | None = None, data: dict[str, Any] | None = None) -> None:
    """What follows a change already written to ``row`` (locked, in the transaction still open): its event, the
    logs' and metrics' view of it, and the signals (the webhooks' outbox, the push after commit). For a caller
    that made the change by its own statement (``attempt_claim``); ``change_locked`` ends here too."""
    refund: Refund | None
    if isinstance(row, Refund):
        refund, attempt = row, PaymentAttempt.objects.select_related("lane").get(pk=row.attempt_id)
    else:
        refund, attempt = None, row
    _observed(attempt, to, final=refund is None and to in FINAL_STATUSES)
    insert_events([PaymentEvent(
        attempt=attempt,
        refund=refund,
        kind=PaymentEvent.Kind.STATE,
        from_status=previous,
        to_status=to,
        cause=cause[:255],
        data=data or {},
        actor=actor,
    )])
    notify_status_changed(attempt=attempt, refund=refund, previous=previous, status=to)
    notify_attempt_changed(attempt)


def _observed(attempt: PaymentAttempt, to: str, *, final: bool) -> None:
    """The logs name the payment from now on; a payment's final status is counted once it is committed."""
    logcontext.bind_payment(attempt_id=attempt.pk, lane_id=attempt.lane_id, store_id=attempt.store_id,
                            order_reference=attempt.order_reference)
    if final:
        transaction.on_commit(lambda: PAYMENTS.labels(status=to).inc())


def _locked(model: type[PaymentAttempt] | type[Refund], obj_id: int, statuses: list[str], where: Q | None, *,
            clock: bool) -> QuerySet[PaymentAttempt] | QuerySet[Refund]:
    """The row to change, locked; ``clock`` annotates the database's time as ``db_now``."""
    rows: QuerySet[PaymentAttempt] | QuerySet[Refund]
    if issubclass(model, PaymentAttempt):
        # the pushed snapshot names the lane; only the attempt is locked
        rows = model.objects.select_for_update(of=("self",)).select_related("lane")
    else:
        rows = model.objects.select_for_update(of=("self",))
    rows = rows.filter(pk=obj_id, status__in=statuses)
    if where is not None:
        rows = rows.filter(where)
    return rows.annotate(db_now=Now()) if clock else rows


def update(attempt_id: int, *, in_statuses: Iterable[str], **fields: Any) -> PaymentAttempt | None:
    """Change fields other than the status (answer details, poll count) while the status is one of these."""
    with transaction.atomic(savepoint=False), prepared():
        try:
            attempt = (PaymentAttempt.objects.select_for_update(of=("self",)).select_related("lane")
                       .get(pk=attempt_id, status__in=list(in_statuses)))
        except PaymentAttempt.DoesNotExist:
            return None
        for name, value in fields.items():
            setattr(attempt, name, value)
        attempt.save(update_fields=[*fields, "updated_at"])
        notify_attempt_changed(attempt)
    return attempt


def record_exchange(attempt_id: int, exchange: Exchange | None, *, cause: str, refund: Refund | None = None) -> None:
    """Keep the request and the answer (redacted) of one gateway call."""
    record_exchanges(attempt_id, [(exchange, cause)], refund=refund)


def record_exchanges(attempt_id: int, exchanges: Sequence[tuple[Exchange | None, str]], *,
                     refund: Refund | None = None) -> None:
    """Several gateway calls (exchange, cause), in this order, in one INSERT."""
    insert_events([
        PaymentEvent(attempt_id=attempt_id, refund=refund, kind=PaymentEvent.Kind.GATEWAY, cause=cause[:255],
                     data=exchange.as_log() if exchange is not None else {})
        for exchange, cause in exchanges
    ])


def record_note(attempt_id: int, *, cause: str, data: dict[str, Any] | None = None,
                actor: User | None = None, refund: Refund | None = None) -> None:
    insert_events([PaymentEvent(
        attempt_id=attempt_id, refund=refund, kind=PaymentEvent.Kind.NOTE, cause=cause[:255], data=data or {},
        actor=actor,
    )])


def exchange_causes(exchanges: Sequence[Exchange], summary: str) -> list[tuple[Exchange | None, str]]:
    """Each call with its own cause (its endpoint and how it was classed); the last one also says ``summary``.
    An error with no call made is recorded as a note-like gateway event with ``summary`` alone."""
    if not exchanges:
        return [(None, summary)]
    said: list[tuple[Exchange | None, str]] = [
        (exchange, f"{exchange.endpoint}: {exchange.outcome or exchange.error or 'answered'}") for exchange in exchanges
    ]
    last, call = said[-1]
    said[-1] = (last, causes.CALL.format(summary=summary, call=call))
    return said
