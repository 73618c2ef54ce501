"""What payments tell the layers above them. The live push (``live``) and the webhooks (``webhooks``) listen:
payments never import them.

Both signals are sent by the services inside the transaction that made the change: a receiver may write rows
that must commit or roll back with it (the webhooks' outbox), and one that reaches outside the process must
wait for the commit (``transaction.on_commit``).

- ``attempt_changed(attempt)``: anything shown of the attempt (or of its refunds) changed.
- ``status_changed(attempt, refund, previous, status)``: the attempt's status, or one refund's (``refund`` is
  then that refund, else None), moved from ``previous`` to ``status``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.dispatch import Signal

if TYPE_CHECKING:
    from payments.models import PaymentAttempt, Refund

attempt_changed = Signal()
status_changed = Signal()


def notify_attempt_changed(attempt: PaymentAttempt) -> None:
    attempt_changed.send(sender=type(attempt), attempt=attempt)


def notify_status_changed(*, attempt: PaymentAttempt, refund: Refund | None, previous: str, status: str) -> None:
    status_changed.send(sender=type(refund if refund is not None else attempt), attempt=attempt, refund=refund,
                        previous=previous, status=status)
