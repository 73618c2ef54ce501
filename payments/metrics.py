"""The payments' Prometheus metrics, written by whichever process does the work (a worker, Daphne) and read
through /metrics (store_console/metrics.py), across processes by prometheus_client's multiprocess mode."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from gateways.base import Charge, ChargeOutcome, NotSent, RefundOutcome, RefundResult, Refused

PAYMENTS = Counter("console_payments", "Payments that reached a final status, by that status",
                   ["status"])
# A charge stays open while the cardholder acts (two minutes by default): buckets up to three minutes.
GATEWAY_DURATION = Histogram(
    "console_gateway_request_duration_seconds", "Calls to the payment gateway through the door, by call and outcome",
    ["endpoint", "outcome"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 90, 120, 180),
)

# The door's names of its calls, as label values.
ENDPOINTS = {"charge": "charge", "look up": "lookup", "refund": "refund", "test the connection": "test_connection"}
# What a call came to, as a label value: "ok" (an answer the console acts on), "refused" (a clear no),
# "no_answer" (time-out, dropped connection, an answer not to be trusted: the outcome is unknown), "not_sent",
# "conflict" and "unclear" (answers a person must look at). Gateway errors are all but "ok" and "refused".
ERROR_OUTCOMES = ("no_answer", "not_sent", "conflict", "unclear")
_CHARGE = {ChargeOutcome.CONFIRMED: "ok", ChargeOutcome.REFUSED: "refused", ChargeOutcome.CONFLICT: "conflict",
           ChargeOutcome.NO_ANSWER: "no_answer", ChargeOutcome.NOT_SENT: "not_sent"}
_REFUND = {RefundOutcome.REFUNDED: "ok", RefundOutcome.REFUSED: "refused", RefundOutcome.UNCLEAR: "unclear"}


def call_outcome(result: object = None, error: BaseException | None = None) -> str:
    if isinstance(error, Refused):
        return "refused"
    if isinstance(error, NotSent):
        return "not_sent"
    if error is not None:
        return "no_answer"  # NoAnswer, and anything unforeseen (the door turns it into NoAnswer)
    if isinstance(result, Charge):
        return _CHARGE[result.outcome]
    if isinstance(result, RefundResult):
        return _REFUND[result.outcome]
    return "ok"


def observe_gateway_call(what: str, seconds: float, outcome: str) -> None:
    GATEWAY_DURATION.labels(endpoint=ENDPOINTS.get(what, what.replace(" ", "_")), outcome=outcome).observe(seconds)


__all__ = ["ERROR_OUTCOMES", "GATEWAY_DURATION", "PAYMENTS", "call_outcome", "observe_gateway_call"]
