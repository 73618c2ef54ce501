"""Creating attempts (one charge per intent) and resolving them by hand."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext, gettext_lazy

from lanes.models import Lane, Terminal
from payments import causes, logcontext
from payments.models import IN_FLIGHT_STATUSES, AttemptStatus, PaymentAttempt, PaymentEvent
from payments.queue import SEND_ATTEMPT, enqueue
from payments.services.idempotency import check_replay
from payments.services.statements import insert_events, prepared
from payments.services.transitions import transition
from payments.signals import notify_attempt_changed

S = AttemptStatus


class TerminalUnavailable(Exception):
    """The lane has no terminal, or it is disabled: nothing can be sent."""


class TerminalBusy(Exception):
    """Another attempt is in flight on this terminal; its id is in `attempt`."""

    def __init__(self, attempt: PaymentAttempt | None) -> None:
        super().__init__("terminal busy: a payment is already in progress on this lane")
        self.attempt = attempt


class SaleBlocked(Exception):
    """The sale may not be charged again: ``code`` is ``sale_already_paid`` (an attempt of it is APPROVED),
    ``sale_needs_review`` (one is UNKNOWN or NEEDS_REVIEW: it may have been charged) or
    ``sale_in_progress`` (one is being sent right now); ``attempt`` is that attempt."""

    MESSAGES = {
        "sale_already_paid": gettext_lazy("This sale is already paid (payment #{id}): it is not charged again."),
        "sale_needs_review": gettext_lazy("Payment #{id} of this sale may have been charged (its outcome is not "
                                          "known yet): it is not charged again without a supervisor."),
        "sale_in_progress": gettext_lazy("Payment #{id} of this sale is being sent to a terminal right now."),
    }

    def __init__(self, code: str, attempt: PaymentAttempt) -> None:
        super().__init__(str(self.MESSAGES[code]).format(id=attempt.pk))
        self.code = code
        self.attempt = attempt

    @property
    def overridable(self) -> bool:
        return self.code != "sale_in_progress"


@dataclass(frozen=True)
class Override:
    """A supervisor's permission to charge a blocked sale again, and why."""

    approver: User
    reason: str


@dataclass(frozen=True)
class AttemptCreation:
    attempt: PaymentAttempt
    created: bool


# Which earlier attempt of a sale blocks a new one, most serious first.
_BLOCKING = (
    ("sale_already_paid", (S.APPROVED,)),
    ("sale_needs_review", (S.UNKNOWN, S.NEEDS_REVIEW)),
    ("sale_in_progress", (S.CREATED, S.SENT)),
)


def _lock_sale(sale_id: uuid.UUID) -> None:
    """Serialise the attempts of one sale for the rest of the transaction (PostgreSQL advisory lock; SQLite's
    immediate transactions already serialise every writer)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [sale_id.int & (2**63 - 1)])


def sale_blocker(sale_id: uuid.UUID) -> SaleBlocked | None:
    """Why this sale may not be charged again, or None."""
    attempts = list(PaymentAttempt.objects.filter(sale_id=sale_id, status__in=[s for _, group in _BLOCKING
                                                                                for s in group]).order_by("pk"))
    for code, statuses in _BLOCKING:
        for attempt in attempts:
            if attempt.status in statuses:
                return SaleBlocked(code, attempt)
    return None


def new_merchant_reference(prefix: str) -> str:
    """Our order reference ('SC') or refund reference ('RF'): prefix + UTC time to the millisecond + 10
    random characters, 27 characters in all (gateways allow 30); 40 random bits: no two alike in a millisecond."""
    now = datetime.now(UTC)
    return f"{prefix}{now:%y%m%d%H%M%S}{now.microsecond // 1000:03d}{secrets.token_hex(5).upper()}"


def new_order_reference() -> str:
    return new_merchant_reference("SC")


def _existing_for_key(lane: Lane, idempotency_key: str | None) -> PaymentAttempt | None:
    if not idempotency_key:
        return None
    return PaymentAttempt.objects.filter(lane=lane, idempotency_key=idempotency_key).first()


def _replay(lane: Lane, idempotency_key: str | None, fingerprint: str) -> AttemptCreation | None:
    """The attempt made earlier with this key (``IdempotencyConflict`` when its request differed), or None."""
    if (existing := _existing_for_key(lane, idempotency_key)) is None:
        return None
    check_replay(existing, fingerprint)
    return AttemptCreation(existing, created=False)


def attempt_create(
    *,
    lane: Lane,
    amount: int,
    tip: int = 0,
    user: User | None = None,
    idempotency_key: str | None = None,
    sale_id: uuid.UUID | None = None,
    override: Override | None = None,
    fingerprint: str = "",
    reference: str = "",
    actor_key: str = "",
) -> AttemptCreation:
    """Create the attempt and send it once committed.

    The database refuses a second in-flight attempt on the terminal (partial unique index), so two
    concurrent Pay presses give one attempt and one TerminalBusy. A repeated Idempotency-Key returns
    the first attempt instead of creating another. A sale (``sale_id``) with an attempt that is paid, or
    may have been (UNKNOWN, NEEDS_REVIEW), is refused (``SaleBlocked``) unless a supervisor's ``override``
    (checked by the caller) comes with it; the override is recorded on the new attempt. ``reference`` is the
    register's own (validated by the caller); ``actor_key`` names the API key that asked, when no person did.
    """
    # A repeated key is found by the unique index refusing the insert (no look-up before every new payment),
    # except where an earlier check would answer first: a sale's blocking attempt (often the key's own).
    if sale_id is not None and (replay := _replay(lane, idempotency_key, fingerprint)) is not None:
        return replay
    try:
        terminal = _usable_terminal(lane)
    except TerminalUnavailable:
        if (replay := _replay(lane, idempotency_key, fingerprint)) is not None:
            return replay
        raise
    try:
        with transaction.atomic(), prepared():
            blocked = None
            if sale_id is not None:
                _lock_sale(sale_id)
                blocked = sale_blocker(sale_id)
                if blocked is not None and (override is None or not blocked.overridable):
                    raise blocked
            attempt = _new_attempt(lane, terminal, amount=amount, tip=tip, user=user, sale_id=sale_id,
                                   idempotency_key=idempotency_key, fingerprint=fingerprint,
                                   reference=reference, actor_key=actor_key)
            if blocked is not None and override is not None:
                _record_override(attempt, blocked, override)
            notify_attempt_changed(attempt)
            transaction.on_commit(lambda: _enqueue_send(attempt.pk))
    except IntegrityError:
        if (replay := _replay(lane, idempotency_key, fingerprint)) is not None:
            return replay
        busy = PaymentAttempt.objects.filter(terminal=terminal, status__in=IN_FLIGHT_STATUSES).first()
        raise TerminalBusy(busy) from None
    return AttemptCreation(attempt, created=True)


def _usable_terminal(lane: Lane) -> Terminal:
    try:
        terminal = lane.terminal
    except Terminal.DoesNotExist:
        raise TerminalUnavailable(gettext("this lane has no card terminal configured")) from None
    if not terminal.enabled:
        raise TerminalUnavailable(gettext("the card terminal of this lane is disabled"))
    return terminal


def _new_attempt(lane: Lane, terminal: Terminal, *, amount: int, tip: int, user: User | None,
                 sale_id: uuid.UUID | None, idempotency_key: str | None, fingerprint: str, reference: str,
                 actor_key: str) -> PaymentAttempt:
    """The CREATED attempt and its first event, inside the caller's transaction."""
    merchant = lane.store.merchant
    attempt = PaymentAttempt.objects.create(
        order_reference=new_order_reference(),
        sale_id=sale_id or uuid.uuid4(),
        merchant=merchant,
        store=lane.store,
        lane=lane,
        terminal=terminal,
        created_by=user if user is not None and user.is_authenticated else None,
        idempotency_key=idempotency_key or None,
        idempotency_fingerprint=fingerprint if idempotency_key else "",
        amount=amount,
        tip=tip,
        currency=merchant.currency,
        reference=reference,
    )
    data: dict[str, object] = {"amount": amount, "tip": tip, "device": terminal.device}
    if reference:
        data["reference"] = reference
    insert_events([PaymentEvent(
        attempt=attempt,
        kind=PaymentEvent.Kind.STATE,
        to_status=S.CREATED,
        cause=causes.REQUESTED,
        actor=attempt.created_by,
        actor_key=actor_key if attempt.created_by is None else "",
        data=data,
    )])
    logcontext.bind_payment(attempt_id=attempt.pk, lane_id=lane.pk, store_id=lane.store_id,
                            order_reference=attempt.order_reference)
    return attempt


def _record_override(attempt: PaymentAttempt, blocked: SaleBlocked, override: Override) -> None:
    PaymentEvent.objects.create(
        attempt=attempt, kind=PaymentEvent.Kind.NOTE, actor=override.approver,
        cause=causes.OVERRIDE.format(approver=override.approver.get_username(), code=blocked.code,
                                     attempt=blocked.attempt.pk, reason=override.reason)[:255],
        data={"override": blocked.code, "blocking_attempt": blocked.attempt.pk,
              "reason": override.reason, "approved_by": override.approver.get_username()},
    )


def _enqueue_send(attempt_id: int) -> None:
    enqueue(SEND_ATTEMPT, attempt_id)


RESOLVABLE = {S.APPROVED, S.DECLINED, S.FAILED}


def attempt_resolve(
    *, attempt_id: int, status: str, user: User, reason: str, evidence: str
) -> PaymentAttempt | None:
    """A person closes an attempt whose outcome the console could not establish: NEEDS_REVIEW, or UNKNOWN
    once its polling window has passed (its chain of polls may have died with a worker). ``evidence`` is
    what they checked it against (the gateway's portal reference, the terminal's report); both are recorded."""
    if status not in RESOLVABLE:
        raise ValueError(f"an attempt can be resolved only as {', '.join(sorted(RESOLVABLE))}")
    reason, evidence = " ".join(reason.split()), " ".join(evidence.split())
    if not reason:
        raise ValueError(gettext("a reason is required"))
    if not evidence:
        raise ValueError(gettext("the evidence is required (the gateway's portal reference or the terminal's record)"))
    return transition(
        attempt_id,
        from_statuses=[S.NEEDS_REVIEW, S.UNKNOWN],
        to=status,
        where=Q(status=S.NEEDS_REVIEW) | Q(poll_deadline__lte=Now()),
        cause=causes.RESOLVED.format(user=user.get_username(), reason=reason, evidence=evidence)[:255],
        actor=user,
        data={"reason": reason, "evidence": evidence},
        terminal_outcome="",
        message=causes.MSG_CLOSED.format(reason=reason)[:255],
    )
