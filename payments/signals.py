"""What payments tell the layers above them. The live push (``live``) listens: payments never import it.

``attempt_changed`` is sent by the services inside the transaction that changed the attempt (or its refunds);
a receiver that reaches outside the process must wait for the commit (``transaction.on_commit``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.dispatch import Signal

if TYPE_CHECKING:
    from payments.models import PaymentAttempt

attempt_changed = Signal()


def notify_attempt_changed(attempt: PaymentAttempt) -> None:
    attempt_changed.send(sender=type(attempt), attempt=attempt)
