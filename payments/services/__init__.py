"""Every state change of a payment attempt goes through these functions, and nothing else changes state."""

from payments.services.attempts import (
    AttemptCreation,
    Override,
    SaleBlocked,
    TerminalBusy,
    TerminalUnavailable,
    attempt_create,
    attempt_resolve,
    sale_blocker,
)
from payments.services.outcomes import order_differences
from payments.services.polling import attempt_poll, attempt_requery
from payments.services.refund_steps import refund_check, refund_send, refund_settle, refunds_resume_stalled
from payments.services.refunds import (
    RefundCreation,
    RefundInProgress,
    RefundNotAllowed,
    refund_create,
    refund_in_flight,
    refundable_balance,
)
from payments.services.resume import attempts_resume_stalled
from payments.services.sending import attempt_send

__all__ = [
    "AttemptCreation",
    "Override",
    "RefundCreation",
    "RefundInProgress",
    "RefundNotAllowed",
    "SaleBlocked",
    "TerminalBusy",
    "TerminalUnavailable",
    "attempt_create",
    "attempt_poll",
    "attempt_requery",
    "attempt_resolve",
    "attempt_send",
    "attempts_resume_stalled",
    "order_differences",
    "refund_check",
    "refund_create",
    "refund_in_flight",
    "refund_send",
    "refund_settle",
    "refundable_balance",
    "refunds_resume_stalled",
    "sale_blocker",
]
