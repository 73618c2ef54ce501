"""IOTPay as a ``PaymentGateway``: its endpoints, status codes and rules, translated into the neutral words.

IOTPay's rules for trusting an answer live here (docs/iotpay.md): the synchronous create_order answer is kept but
confirmed at once by a query_order (flat, so verifiable); a refusal is final only when that query finds no
order or a cancelled one; errCodes 0010/0110/0111/0118 and anything unreadable are no answer; a refund is
refunded only with status 2.
"""

from __future__ import annotations

from dataclasses import replace

import requests

from gateways.base import (
    Charge,
    ChargeOutcome,
    Exchange,
    NoAnswer,
    NotSent,
    OrderState,
    Outcome,
    RefundOutcome,
    RefundRequest,
    RefundResult,
    Refused,
    Sale,
)
from gateways.iotpay.client import IOTPayClient
from gateways.iotpay.errors import (
    GatewayRefused,
    InvalidResponse,
    InvalidSignature,
    IOTPayError,
    OrderNotFound,
    OutcomeUnknown,
)
from gateways.iotpay.results import (
    FINAL_STATUSES,
    PAID_STATUSES,
    REFUND_DONE_STATUS,
    REFUND_FAILED_STATUSES,
    CreateOrderResult,
    PayOrder,
)

__all__ = ["IOTPayGateway", "order_state"]

NO_ANSWER = (OutcomeUnknown, InvalidSignature, InvalidResponse)
CONNECTION_TEST_ORDER = "CONNECTION-TEST"


def _outcome(status: int | None) -> Outcome:
    if status in PAID_STATUSES:
        return Outcome.PAID
    if status in FINAL_STATUSES:
        return Outcome.DECLINED
    return Outcome.IN_PROGRESS  # 0 created, 1 paying, and any value IOTPay has not documented


def order_state(order: PayOrder, *, verified: bool, exchanges: tuple[Exchange, ...]) -> OrderState:
    return OrderState(
        outcome=_outcome(order.status), order_reference=order.mch_order_no, gateway_reference=order.pay_order_id,
        amount=order.amount, tip=order.tip, currency=order.currency, paid_at=order.pay_succ_time, card=order.card,
        text=order.receipt_disp, refundable=order.refundable, status="" if order.status is None else str(order.status),
        verified=verified, exchanges=exchanges,
    )


def _exchanges(*items: object) -> tuple[Exchange, ...]:
    return tuple(item for item in (getattr(i, "exchange", i) for i in items) if isinstance(item, Exchange))


class IOTPayGateway:
    """IOTPay's POS semi-integration (channel CC_PAX) for one merchant."""

    name = "IOTPay"

    def __init__(self, *, base_url: str, mch_id: str, key: str, connect_timeout: float, read_timeout: float,
                 session: requests.Session | None = None) -> None:
        self.client = IOTPayClient(base_url=base_url, mch_id=mch_id, key=key, connect_timeout=connect_timeout,
                                   read_timeout=read_timeout, session=session)

    # ---- charge ----------------------------------------------------------------------------------------
    def charge(self, sale: Sale) -> Charge:
        try:
            answer = self.client.create_order(
                mch_order_no=sale.order_reference, amount=sale.amount, tip=sale.tip, currency=sale.currency,
                device=sale.terminal, job_no=sale.operator, client_ip=sale.client_ip, subject=sale.title[:64],
                body=sale.description[:255], remarks=sale.order_reference, read_timeout=sale.timeout,
            )
        except ValueError as exc:
            return Charge(ChargeOutcome.NOT_SENT, reason=str(exc)[:255])
        except NO_ANSWER as exc:
            return Charge(ChargeOutcome.NO_ANSWER, reason=str(exc), exchanges=_exchanges(exc))
        except GatewayRefused as exc:
            return self._confirm_refusal(sale, exc)
        except IOTPayError as exc:  # a plain IOTPayError: the request never left (a bad address)
            return Charge(ChargeOutcome.NOT_SENT, reason=str(exc)[:255], exchanges=_exchanges(exc))
        return self._confirm_answer(sale, answer)

    def _query(self, order_reference: str) -> OrderState | IOTPayError | ValueError:
        """The order as a flat, verified query_order tells it (NOT_FOUND included), or the error."""
        try:
            result = self.client.query_order(mch_order_no=order_reference)
        except OrderNotFound as exc:
            return OrderState(outcome=Outcome.NOT_FOUND, order_reference=order_reference, gateway_reference="",
                              verified=exc.exchange is not None and exc.exchange.verified is True,
                              exchanges=_exchanges(exc))
        except (IOTPayError, ValueError) as exc:
            return exc
        return order_state(result.order, verified=True, exchanges=_exchanges(result))

    def _confirm_refusal(self, sale: Sale, refusal: GatewayRefused) -> Charge:
        """A refusal is final only when query_order agrees: no such order, or one that ended unpaid."""
        reason = (refusal.message or refusal.err_code or "refused by IOTPay")[:255]
        confirmation = self._query(sale.order_reference)
        exchanges = _exchanges(refusal, *(getattr(confirmation, "exchanges", ()) or (confirmation,)))
        if isinstance(confirmation, OrderState):
            if confirmation.outcome in (Outcome.NOT_FOUND, Outcome.DECLINED):
                return Charge(ChargeOutcome.REFUSED, state=confirmation, reason=reason, exchanges=exchanges)
            return Charge(ChargeOutcome.CONFIRMED, state=confirmation, reason=reason, exchanges=exchanges)
        return Charge(ChargeOutcome.NO_ANSWER, exchanges=exchanges,
                      reason=f"IOTPay refused the order ({reason}) but query_order did not confirm it")

    def _confirm_answer(self, sale: Sale, answer: CreateOrderResult) -> Charge:
        """The answer is kept (its card data) and confirmed by query_order, which decides."""
        order = answer.pay_order
        provisional = order_state(order, verified=answer.verified, exchanges=()) if order is not None else None
        if provisional is not None and answer.pay_order_id and not provisional.gateway_reference:
            provisional = replace(provisional, gateway_reference=answer.pay_order_id)
        confirmation = self._query(sale.order_reference)
        exchanges = _exchanges(answer, *(getattr(confirmation, "exchanges", ()) or (confirmation,)))
        if not isinstance(confirmation, OrderState) or confirmation.outcome is Outcome.NOT_FOUND:
            what = "IOTPay has no such order yet" if isinstance(confirmation, OrderState) else str(confirmation)
            return Charge(ChargeOutcome.NO_ANSWER, provisional=provisional, exchanges=exchanges,
                          reason=f"answer not yet confirmed by query_order ({what})")
        if provisional is not None:
            if confirmation.tip is None and provisional.tip is not None:
                confirmation = replace(confirmation, tip=provisional.tip)  # a query need not carry the tip
            if confirmation.card is None and provisional.card is not None:
                confirmation = replace(confirmation, card=provisional.card, text=confirmation.text or provisional.text)
            if (answer.verified and provisional.outcome.final and confirmation.outcome.final
                    and provisional.outcome != confirmation.outcome):
                return Charge(ChargeOutcome.CONFLICT, state=confirmation, provisional=provisional, exchanges=exchanges,
                              reason="create_order and query_order disagree on whether the card was charged")
        return Charge(ChargeOutcome.CONFIRMED, state=confirmation, provisional=provisional, exchanges=exchanges)

    # ---- lookup ----------------------------------------------------------------------------------------
    def lookup(self, order_reference: str) -> OrderState:
        found = self._query(order_reference)
        if isinstance(found, OrderState):
            return found
        if isinstance(found, ValueError):
            raise NotSent(str(found))
        if isinstance(found, NO_ANSWER) or not isinstance(found, GatewayRefused):
            raise NoAnswer(str(found), reason=getattr(found, "reason", ""), exchanges=_exchanges(found))
        # A refused query (bad credentials, a malformed id) tells nothing about the order.
        raise NoAnswer(f"query_order refused: {found}", reason="refused", exchanges=_exchanges(found))

    # ---- refund ----------------------------------------------------------------------------------------
    def refund(self, request: RefundRequest) -> RefundResult:
        try:
            result = self.client.refund_order(
                mch_refund_no=request.refund_reference, pay_order_id=request.gateway_reference,
                refund_amount=request.amount, currency=request.currency, client_ip=request.client_ip,
                login_name=request.operator, device=request.terminal,
            )
        except ValueError as exc:
            raise NotSent(str(exc)) from None
        except GatewayRefused as exc:
            raise Refused(exc.message or exc.err_code or "refused by IOTPay", code=exc.err_code,
                          exchanges=_exchanges(exc)) from None
        except NO_ANSWER as exc:
            raise NoAnswer(str(exc), reason=getattr(exc, "reason", ""), exchanges=_exchanges(exc)) from None
        except IOTPayError as exc:
            raise NotSent(str(exc), exchanges=_exchanges(exc)) from None
        found = RefundResult(RefundOutcome.UNCLEAR, gateway_refund_reference=result.refund_order_id[:40],
                             amount=result.refund_amount,
                             refundable_after=result.refundable if (result.refundable or 0) >= 0 else None,
                             card=result.card, exchanges=_exchanges(result))
        if not result.verified:
            return replace(found, outcome=RefundOutcome.UNCLEAR,
                           reason="an answer whose sign could not be verified")
        if result.status == REFUND_DONE_STATUS:
            return replace(found, outcome=RefundOutcome.REFUNDED)
        if result.status in REFUND_FAILED_STATUSES:
            return replace(found, outcome=RefundOutcome.REFUSED, reason=f"refund status {result.status}")
        status = result.status if result.status is not None else "missing"
        return replace(found, outcome=RefundOutcome.UNCLEAR, reason=f"refund status {status}")

    # ---- connection test -------------------------------------------------------------------------------
    def test_connection(self) -> tuple[bool, str]:
        """A signed query_order for an order that cannot exist: "not found" proves the mchId and key work."""
        try:
            self.client.query_order(mch_order_no=CONNECTION_TEST_ORDER)
        except OrderNotFound:
            return True, "IOTPay accepted the signed request (mchId and key are right)."
        except GatewayRefused as exc:
            return False, f"IOTPay refused the request: {exc.err_code} {exc.message}".strip()
        except IOTPayError as exc:
            return False, f"No usable answer from IOTPay: {exc}"
        except ValueError as exc:
            return False, str(exc)
        return True, "IOTPay answered the signed request."
