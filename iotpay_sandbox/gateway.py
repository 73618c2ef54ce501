"""The three IOTPay endpoints: checks, scripted outcomes, and the answers (signed over flat fields)."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
import sys
import threading
import time
from typing import Any

from . import scenarios
from .answers import (
    HTML_ERROR_PAGE,
    Reply,
    bom_reply,
    json_reply,
    now_ms,
    pay_order_object,
    poison_deep,
    poison_huge,
    query_fields,
    seq_num,
)
from .config import SandboxConfig
from .protocol import (
    ERR_MERCHANT,
    ERR_NOT_FOUND,
    ERR_PARAMETER,
    ERR_SIGNATURE,
    ERR_THIRD_PARTY,
    ProtocolError,
    check_fields,
    parameter_error,
    parse_request,
)
from .scenarios import Outcome
from .signing import sign_response, verify
from .store import OrderRow, RefundRow, Store
from .terminals import Session, TerminalRegistry

ENDPOINTS = ("create_order", "query_order", "refund_order")
ERR_SYSTEM_TIMEOUT = "0010"
class Gateway:
    """Serves create/query/refund for the configured merchants; one instance per running sandbox."""

    def __init__(self, config: SandboxConfig, store: Store, terminals: TerminalRegistry,
                 stopping: threading.Event) -> None:
        self.config = config
        self.store = store
        self.terminals = terminals
        self.stopping = stopping
        self._ids = itertools.count(random.randrange(10**9))
        self._open_lock = threading.Lock()
        self.open_calls = 0

    # ---- entry point -------------------------------------------------------------------------------
    def handle(self, endpoint: str, method: str, content_type: str, body: bytes) -> Reply:
        """Answer one request to /v1/<endpoint> (endpoint is one of ENDPOINTS)."""
        started = time.monotonic()
        received_at = time.time()
        fields: dict[str, str | None] = {}
        reply: Reply | None = None
        try:
            fields = parse_request(method, content_type, body)
        except ProtocolError as exc:
            reply = self._fail(exc)
        log_id = self.store.log_request(
            at_ms=now_ms(), endpoint=endpoint, mch_id=fields.get("mchId"), mch_order_no=fields.get("mchOrderNo"),
            pay_order_id=fields.get("payOrderId"), mch_refund_no=fields.get("mchRefundNo"),
        )
        if reply is None:
            try:
                reply = self._dispatch(endpoint, fields, received_at)
            except ProtocolError as exc:
                reply = self._fail(exc)
        duration = int((time.monotonic() - started) * 1000)
        self.store.log_result(log_id, http_status=None if reply.drop else reply.status, ret_code=reply.ret_code,
                              res_code=reply.res_code, err_code=reply.err_code, duration_ms=duration)
        if endpoint == "create_order" and not reply.drop and fields.get("mchId") and fields.get("mchOrderNo"):
            # Timed after every write of this call: what is left is handing the bytes to the socket.
            self.store.note_time(str(fields["mchId"]), str(fields["mchOrderNo"]), "answeredAt", time.time())
        if self.config.verbose:
            shown = "dropped" if reply.drop else f"{reply.status} {reply.ret_code}/{reply.res_code}"
            print(f"iotpay-sandbox {endpoint} mchId={fields.get('mchId')} mchOrderNo={fields.get('mchOrderNo')}"
                  f" payOrderId={fields.get('payOrderId')} -> {shown} err={reply.err_code} {duration} ms",
                  file=sys.stderr, flush=True)
        return reply

    def _dispatch(self, endpoint: str, fields: dict[str, str | None], received_at: float) -> Reply:
        mch_id = fields.get("mchId")
        if not mch_id or len(mch_id) > 30:
            raise parameter_error("mchId", "mchId is required (at most 30 characters)")
        key = self.config.merchants.get(mch_id)
        if key is None:
            raise ProtocolError(ERR_MERCHANT, f"{ERR_MERCHANT} merchant not found", f"mchId {mch_id} is unknown")
        if not verify(fields, key):
            raise ProtocolError(ERR_SIGNATURE, f"{ERR_SIGNATURE} signature error", "sign missing or wrong")
        clean = check_fields(endpoint, fields)
        if endpoint == "create_order":
            self._count_open(+1)
            try:
                return self._create(mch_id, key, clean, received_at)
            finally:
                self._count_open(-1)
        if endpoint == "query_order":
            return self._query(mch_id, key, clean)
        return self._refund(mch_id, key, clean)

    def _count_open(self, delta: int) -> None:
        with self._open_lock:
            self.open_calls += delta

    # ---- answers -----------------------------------------------------------------------------------
    @staticmethod
    def _fail(exc: ProtocolError) -> Reply:
        payload = {"retCode": "FAIL", "retMsg": exc.message, "errCode": exc.err_code}
        if exc.detail:
            payload["errCodeDes"] = exc.detail
        return json_reply(payload)

    @staticmethod
    def _refuse(key: str, err_code: str, message: str, **more: Any) -> Reply:
        payload = {"retCode": "SUCCESS", "resCode": "FAIL", "errCode": err_code, "errCodeDes": message,
                   "retMsg": message, **more}
        return json_reply(sign_response(payload, key))

    def _new_id(self, prefix: str) -> str:
        now = dt.datetime.now()
        return f"{prefix}{now:%Y%m%d%H%M%S}{now.microsecond // 1000:03d}{next(self._ids) % 10**9:09d}"

    def _wait_until(self, at_ms: int) -> bool:
        """Sleep until the wall-clock time ``at_ms``; False if the sandbox is stopping."""
        while (left := at_ms / 1000 - time.time()) > 0:
            if self.stopping.wait(left):
                return False
        return not self.stopping.is_set()

    # ---- create_order ------------------------------------------------------------------------------
    def _create(self, mch_id: str, key: str, f: dict[str, str], received_at: float) -> Reply:
        """Called with no lock held: blocks on the virtual cardholder for the think time (or a press)."""
        mch_order_no, device, amount = f["mchOrderNo"], f["device"], int(f["amount"])
        tip = int(f.get("tip", "0"))
        self.terminals.note_seen(device)
        if self.store.order_by_mch_order_no(mch_id, mch_order_no) is not None:
            return self._refuse(key, ERR_PARAMETER, f"mchOrderNo {mch_order_no} already used",
                                mchOrderNo=mch_order_no)
        outcome = scenarios.outcome_for(amount)
        busy = f"terminal {device} is busy"
        if outcome is Outcome.BUSY:
            return self._refuse(key, ERR_THIRD_PARTY, busy, mchOrderNo=mch_order_no)
        if outcome is Outcome.REFUSED_DIRTY:
            return self._refuse(key, ERR_PARAMETER, scenarios.DIRTY_REFUSAL, mchOrderNo=mch_order_no)
        charged = amount + 1 if outcome is Outcome.AMOUNT_MISMATCH else amount
        if outcome is Outcome.TIP_DIFFERS:
            tip += 100
        interactive = outcome is Outcome.INTERACTIVE
        row = self._new_order(mch_id, f, outcome, charged, tip)
        session = Session(row.pay_order_id, mch_order_no, charged + tip, row.currency, interactive,
                          self.config.think_time)
        if not self.terminals.claim(device, session):
            return self._refuse(key, ERR_THIRD_PARTY, busy, mchOrderNo=mch_order_no)
        screen = ""
        try:
            if not self.store.insert_order(row):
                return self._refuse(key, ERR_PARAMETER, f"mchOrderNo {mch_order_no} already used",
                                    mchOrderNo=mch_order_no)
            self.store.note_time(mch_id, mch_order_no, "receivedAt", received_at)
            finished = self._await_interactive(row, session) if interactive else self._wait_until(row.resolve_ms)
            if not finished:
                return Reply(drop=True)
            if not interactive:  # an interactive order's paidAt is its press, noted in _await_interactive
                self.store.note_time(mch_id, mch_order_no, "paidAt", row.resolve_ms / 1000)
            screen = self._screen_text(outcome, row)
        finally:
            self.terminals.release(device, session, screen)
        return self._create_answer(outcome, row, key)

    def _new_order(self, mch_id: str, f: dict[str, str], outcome: Outcome, charged: int, tip: int) -> OrderRow:
        created = now_ms()
        pay_order_id = self._new_id("CP")
        if outcome is Outcome.INTERACTIVE:
            resolve = created + math.ceil(self.config.interactive_timeout * 1000)
        else:
            resolve = created + math.ceil(self.config.think_time * 1000)
        final_status = scenarios.FINAL_STATUS[outcome]
        if outcome in scenarios.PAID_OUTCOMES or outcome is Outcome.DECLINED:
            extra = scenarios.card_extra(amount=charged, device=f["device"], pay_order_id=pay_order_id,
                                         approved=final_status == 2,
                                         when=dt.datetime.fromtimestamp(resolve / 1000), outcome=outcome)
        else:
            extra = scenarios.NOT_COMPLETED_EXTRA
        return OrderRow(
            pay_order_id=pay_order_id, mch_id=mch_id, mch_order_no=f["mchOrderNo"], channel_id=f["channelId"],
            currency=f["currency"], amount=charged, tip=tip, client_ip=f["clientIp"], device=f["device"],
            notify_url=f["notifyUrl"], subject=f["subject"], body=f["body"], request_extra=f["extra"],
            job_no=f["jobNo"], remarks=f.get("remarks", ""), source=f.get("source", ""), outcome=outcome.value,
            final_status=final_status, final_extra=extra,
            channel_order_no=seq_num(extra) if final_status == 2 else "",
            created_ms=created, resolve_ms=resolve, refundable=charged + tip,
        )

    def _await_interactive(self, row: OrderRow, session: Session) -> bool:
        """Wait for Approve / Decline / Cancel on the terminal page; no press in time = not completed."""
        session.event.wait(self.config.interactive_timeout)
        pressed_at = time.time()
        choice = self.terminals.finish_interactive(session)
        if self.stopping.is_set():
            return False
        row.resolve_ms = min(now_ms(), row.resolve_ms)
        if choice in ("approve", "decline"):
            row.final_status = 2 if choice == "approve" else 9
            row.final_extra = scenarios.card_extra(amount=row.amount, device=row.device,
                                                   pay_order_id=row.pay_order_id, approved=choice == "approve")
        row.channel_order_no = seq_num(row.final_extra) if row.final_status == 2 else ""
        self.store.resolve_order(row.pay_order_id, final_status=row.final_status, final_extra=row.final_extra,
                                 channel_order_no=row.channel_order_no, resolve_ms=row.resolve_ms)
        if choice is not None:
            self.store.note_time(row.mch_id, row.mch_order_no, "paidAt", pressed_at)
        return True

    @staticmethod
    def _screen_text(outcome: Outcome, row: OrderRow) -> str:
        if outcome is Outcome.GATEWAY_FAIL:
            return "Communication error"
        if outcome is Outcome.NEVER_ANSWERS:
            return "No response"
        receipt = scenarios.receipt_text(row.final_extra)
        if row.final_status == 2:
            return f"APPROVED — {receipt}"
        return receipt or "Transaction Not Completed"

    def _create_answer(self, outcome: Outcome, row: OrderRow, key: str) -> Reply:
        if (early := self._broken_create_answer(outcome, row, key)) is not None:
            return early
        at = max(now_ms(), row.resolve_ms)
        payload: dict[str, Any] = {"retCode": "SUCCESS", "resCode": "SUCCESS", "retParams": "",
                                   "payOrderId": row.pay_order_id, "mchOrderNo": row.mch_order_no,
                                   "retDetail": ""}
        if outcome is Outcome.FORGED:
            fake = scenarios.card_extra(amount=row.amount, device=row.device, pay_order_id=row.pay_order_id,
                                        approved=True)
            payload["payOrder"] = pay_order_object(row, at, status=2, extra=fake)
            sign_response(payload, key + "-forged")
        elif outcome is Outcome.CONFIRM_DISAGREES:
            # signed with the merchant's own key, says paid; query_order says the order ended unpaid
            said = scenarios.card_extra(amount=row.amount, device=row.device, pay_order_id=row.pay_order_id,
                                        approved=True)
            payload["payOrder"] = pay_order_object(row, at, status=2, extra=said)
            sign_response(payload, key)
        else:
            payload["payOrder"] = pay_order_object(row, at)
            nested = {Outcome.SIGNED_SORTED: "sorted", Outcome.UNVERIFIABLE: "spaced"}.get(outcome, "compact")
            sign_response(payload, key, nested)
        if outcome is Outcome.LATE and self.stopping.wait(self.config.late_delay):
            return Reply(drop=True)
        return bom_reply(payload) if outcome is Outcome.BOM else json_reply(payload)

    def _broken_create_answer(self, outcome: Outcome, row: OrderRow, key: str) -> Reply | None:
        """The answers of the cents table that are not a signed order: refusals, errors, poison, nothing."""
        ids = {"payOrderId": row.pay_order_id, "mchOrderNo": row.mch_order_no}
        if outcome is Outcome.GATEWAY_FAIL:
            return self._refuse(key, ERR_THIRD_PARTY, scenarios.NO_RESPONSE_TEXT, **ids)
        if outcome is Outcome.FAIL_BUT_PAID:
            return self._refuse(key, ERR_SYSTEM_TIMEOUT, "system error: time-out waiting for the bank", **ids)
        if outcome in (Outcome.REFUSED_CLOSED, Outcome.REFUSED_BUT_PAID):
            # a refusal that is not one of the time-out codes, on an order that exists: closed unpaid, or
            # paid at the bank all the same (only query_order tells which)
            return self._refuse(key, ERR_PARAMETER, scenarios.PROCESSOR_REFUSAL, **ids)
        if outcome is Outcome.NEVER_ANSWERS:
            self.stopping.wait(self.config.hang_time)
            return Reply(drop=True)
        if outcome in (Outcome.DROP, Outcome.QUERY_POISON):
            return Reply(drop=True)
        if outcome is Outcome.HTTP_500:
            return Reply(status=500, body=b"Internal Server Error", content_type="text/plain; charset=utf-8")
        if outcome is Outcome.HTML_PAGE:
            return Reply(status=200, body=HTML_ERROR_PAGE, content_type="text/html; charset=utf-8")
        if outcome is Outcome.BARE_4XX:
            return Reply(status=400, body=b"", content_type="text/plain")
        if outcome is Outcome.POISON_DEEP:
            return poison_deep()
        if outcome is Outcome.POISON_HUGE:
            return poison_huge()
        return None

    # ---- query_order -------------------------------------------------------------------------------
    def _query(self, mch_id: str, key: str, f: dict[str, str]) -> Reply:
        if "payOrderId" in f:
            row = self.store.order_by_pay_order_id(mch_id, f["payOrderId"])
            if row is not None and f.get("mchOrderNo", row.mch_order_no) != row.mch_order_no:
                row = None
        else:
            row = self.store.order_by_mch_order_no(mch_id, f["mchOrderNo"])
        if row is None:
            return self._refuse(key, ERR_NOT_FOUND, "order not found (merchant order id not found)",
                                **{name: f[name] for name in ("payOrderId", "mchOrderNo") if name in f})
        outcome = Outcome(row.outcome)
        if outcome is Outcome.QUERY_POISON:
            return poison_deep()
        if outcome is Outcome.CONFIRM_OUTAGE and now_ms() < row.resolve_ms + self.config.outage_time * 1000:
            return Reply(status=503, body=b"Service Unavailable", content_type="text/plain")
        payload = {"retCode": "SUCCESS", "resCode": "SUCCESS", **query_fields(row, now_ms())}
        return json_reply(sign_response(payload, key))

    # ---- refund_order ------------------------------------------------------------------------------
    def _refund(self, mch_id: str, key: str, f: dict[str, str]) -> Reply:
        order = self.store.order_by_pay_order_id(mch_id, f["payOrderId"])
        if order is None:
            return self._refuse(key, ERR_NOT_FOUND, f"payOrderId {f['payOrderId']} not found",
                                mchRefundNo=f["mchRefundNo"])
        if order.status_at(now_ms()) not in (2, 3):
            return self._refuse(key, ERR_PARAMETER, f"order {order.pay_order_id} is not paid",
                                mchRefundNo=f["mchRefundNo"])
        if f["currency"] != order.currency:
            return self._refuse(key, ERR_PARAMETER, f"currency {f['currency']} does not match the order",
                                mchRefundNo=f["mchRefundNo"])
        refund_id = self._new_id("RF")
        wanted = RefundRow(
            refund_order_id=refund_id, mch_id=mch_id, mch_refund_no=f["mchRefundNo"],
            pay_order_id=order.pay_order_id, refund_amount=int(f["refundAmount"]), currency=f["currency"],
            client_ip=f["clientIp"], device=f.get("device", ""), login_name=f["loginName"], created_ms=now_ms(),
            refundable_after=0,
        )
        kind, refund = self.store.apply_refund(wanted)
        if kind == "exceeds" or refund is None:
            left = order.refundable
            latest = self.store.order_by_pay_order_id(mch_id, order.pay_order_id)
            if latest is not None:
                left = latest.refundable
            return self._refuse(key, ERR_PARAMETER, f"refund amount exceeds refundable ({wanted.refund_amount}"
                                f" > {left} left)", mchRefundNo=f["mchRefundNo"], refundable=left)
        lost = scenarios.refund_outcome_for(refund.refund_amount)
        if lost is scenarios.RefundOutcome.ANSWER_LOST:
            return Reply(drop=True)  # applied at the bank; the answer never leaves
        if lost is scenarios.RefundOutcome.FAIL_BUT_APPLIED:
            return self._refuse(key, ERR_SYSTEM_TIMEOUT, "system error: time-out waiting for the bank",
                                mchRefundNo=refund.mch_refund_no)
        payload = {
            "retCode": "SUCCESS", "resCode": "SUCCESS", "mchId": mch_id, "refundOrderId": refund.refund_order_id,
            "mchRefundNo": refund.mch_refund_no, "payOrderId": refund.refund_order_id,
            "originalOrderId": refund.pay_order_id, "payType": "refund", "refundAmount": refund.refund_amount,
            "refundable": refund.refundable_after, "currency": refund.currency, "status": 2,
            "extra": scenarios.refund_extra(refund_order_id=refund.refund_order_id, device=order.device,
                                            amount=refund.refund_amount),
        }
        return json_reply(sign_response(payload, key))

