"""Every state change of a payment attempt goes through these functions, and nothing else changes state."""

from payments.services.attempts import (
    AttemptCreation,
    TerminalBusy,
    TerminalUnavailable,
    attempt_create,
    attempt_resolve,
)
from payments.services.gateway_steps import (
    attempt_poll,
    attempt_requery,
    attempt_send,
    attempts_resume_stalled,
)
from payments.services.refunds import (
    RefundCreation,
    RefundInProgress,
    RefundNotAllowed,
    refund_create,
    refund_in_flight,
    refund_recheck,
    refund_retry,
    refund_send,
    refundable_balance,
    refunds_resume_stalled,
)

__all__ = [
    "AttemptCreation",
    "RefundCreation",
    "RefundInProgress",
    "RefundNotAllowed",
    "TerminalBusy",
    "TerminalUnavailable",
    "attempt_create",
    "attempt_poll",
    "attempt_requery",
    "attempt_resolve",
    "attempt_send",
    "attempts_resume_stalled",
    "refund_create",
    "refund_in_flight",
    "refund_recheck",
    "refund_retry",
    "refund_send",
    "refundable_balance",
    "refunds_resume_stalled",
]
