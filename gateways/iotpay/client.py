"""The IOTPay gateway client: one door (``_request``) that signs, times out, verifies, logs and maps failures.

Nothing here retries. A create_order that got no answer may have charged the card: callers poll
query_order for that mchOrderNo and never send create_order for it again (docs/iotpay.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import urlencode

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import ReadTimeoutError

from gateways.exchange import Exchange
from gateways.iotpay.checks import check_cents, check_currency, check_text
from gateways.iotpay.errors import (
    GatewayRefused,
    InvalidResponse,
    InvalidSignature,
    IOTPayError,
    OrderNotFound,
    OutcomeUnknown,
)
from gateways.iotpay.results import CreateOrderResult, QueryOrderResult, RefundOrderResult
from gateways.iotpay.signing import Signature, field_text, response_signature, sign
from gateways.iotpay.wire import Call, decode, read_capped
from gateways.text import to_text

__all__ = ["IOTPayClient"]

CHANNEL_ID = "CC_PAX"
NOTIFY_URL = "http://localhost"  # what IOTPay requires for CC_PAX: the answer is synchronous
ORDER_NOT_FOUND = "0112"


_Result = TypeVar("_Result")


NO_ANSWER_CODES = frozenset({"0010", "0110", "0111", "0118"})
"""System error or time-out, third-party time-out or exception, database error: refusals that may hide an
order the bank acted on, so they count as no answer (docs/iotpay.md, "create_order", revised)."""


class IOTPayClient:
    """Client for IOTPay's POS semi-integration (channel CC_PAX).

    Thread-safe as far as the ``requests.Session`` is. A session passed in stays the caller's to close;
    one created here is closed by ``close()`` / the ``with`` block.
    """

    def __init__(
        self,
        *,
        base_url: str,
        mch_id: str,
        key: str,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        session: requests.Session | None = None,
    ) -> None:
        if not base_url:
            raise ValueError("base_url is required")
        if not key:
            raise ValueError("key is required")
        check_text({"mchId": mch_id})
        self.base_url = base_url.rstrip("/")
        self.mch_id = mch_id
        self._key = key
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            # Explicitly no retries: a create_order sent twice could charge twice.
            session.mount("http://", HTTPAdapter(max_retries=0))
            session.mount("https://", HTTPAdapter(max_retries=0))
        self._session = session
        # What requests' Session.request works out again for every call, worked out once: the session's headers
        # with ours, and the environment's proxies and CA bundle for the gateway's host (the same for every
        # endpoint under base_url). Each call then only prepares its body and sends, through the session (its
        # connections, its cookies): a query_order call 0.55 -> 0.44 ms of CPU (docs/performance.md, sixth pass).
        self._headers = CaseInsensitiveDict(session.headers)
        self._headers.update({"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"})
        self._send_settings = session.merge_environment_settings(f"{self.base_url}/", {}, True, None, None)

    def __repr__(self) -> str:
        return f"IOTPayClient(base_url={self.base_url!r}, mch_id={self.mch_id!r})"

    # ------------------------------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---------------------------------------------------------------------------------------- endpoints

    def create_order(
        self,
        *,
        mch_order_no: str,
        amount: int,
        currency: str,
        device: str,
        job_no: str,
        client_ip: str,
        subject: str,
        body: str,
        tip: int = 0,
        extra: str = '{"pos_flag":"yes"}',
        remarks: str = "",
        source: str = "store-console",
        read_timeout: float | None = None,
    ) -> CreateOrderResult:
        """Ask the terminal ``device`` to take a card payment; blocks until the cardholder is done.

        Call it with no database transaction open, and with ``read_timeout`` longer than the terminal's
        own time-out. Any ``outcome_unknown`` error means: poll query_order, never resend.
        """
        check_cents("amount", amount)
        check_cents("tip", tip, allow_zero=True)
        check_currency(currency)
        text = {
            "mchOrderNo": mch_order_no,
            "clientIp": client_ip,
            "device": device,
            "subject": subject,
            "body": body,
            "extra": extra,
            "jobNo": job_no,
            "remarks": remarks,
            "source": source,
        }
        check_text(text)
        fields: dict[str, object] = {
            "mchOrderNo": mch_order_no,
            "channelId": CHANNEL_ID,
            "currency": currency,
            "amount": amount,
            "tip": tip,
            "clientIp": client_ip,
            "device": device or None,
            "notifyUrl": NOTIFY_URL,
            "subject": subject,
            "body": body,
            "extra": extra,
            "jobNo": job_no,
            "remarks": remarks or None,
            "source": source or None,
        }
        data, exchange = self._request("create_order", fields, read_timeout=read_timeout)
        return self._build(CreateOrderResult.from_response, data, exchange, mch_order_no=mch_order_no)

    def query_order(
        self, *, mch_order_no: str | None = None, pay_order_id: str | None = None
    ) -> QueryOrderResult:
        """The order's current state. Raises ``OrderNotFound`` when the gateway has no such order."""
        if (mch_order_no is None) == (pay_order_id is None):
            raise ValueError("give exactly one of mch_order_no and pay_order_id")
        if mch_order_no is not None:
            check_text({"mchOrderNo": mch_order_no})
        else:
            check_text({"payOrderId": pay_order_id})
        fields = {"mchOrderNo": mch_order_no, "payOrderId": pay_order_id}
        data, exchange = self._request("query_order", fields)
        return self._build(
            QueryOrderResult.from_response,
            data,
            exchange,
            mch_order_no=mch_order_no,
            pay_order_id=pay_order_id,
        )

    def refund_order(
        self,
        *,
        mch_refund_no: str,
        pay_order_id: str,
        refund_amount: int,
        currency: str,
        client_ip: str,
        login_name: str,
        device: str = "",
    ) -> RefundOrderResult:
        """Refund part or all of a paid order. An ``outcome_unknown`` error: query before retrying."""
        check_cents("refund_amount", refund_amount)
        check_currency(currency)
        check_text(
            {
                "mchRefundNo": mch_refund_no,
                "payOrderId": pay_order_id,
                "clientIp": client_ip,
                "loginName": login_name,
                "device": device,
            }
        )
        fields: dict[str, object] = {
            "mchRefundNo": mch_refund_no,
            "payOrderId": pay_order_id,
            "refundAmount": refund_amount,
            "currency": currency,
            "clientIp": client_ip,
            "device": device or None,
            "loginName": login_name,
        }
        data, exchange = self._request("refund_order", fields)
        return self._build(RefundOrderResult.from_response, data, exchange, mch_refund_no=mch_refund_no)

    # ------------------------------------------------------------------------------------------ the door

    def _request(
        self, endpoint: str, fields: Mapping[str, object], *, read_timeout: float | None = None
    ) -> tuple[dict[str, Any], Exchange]:
        """POST one signed call; return the parsed SUCCESS answer or raise a typed error.

        Never raises anything but ``IOTPayError`` subclasses: whatever goes wrong while reading, parsing or
        checking an answer (a body too large, JSON nested until Python's recursion limit, bytes that are
        not text) is ``OutcomeUnknown``, the same as no answer at all.
        """
        params = {name: field_text(value) for name, value in fields.items() if value is not None}
        params["mchId"] = self.mch_id
        params.pop("sign", None)
        params["sign"] = sign(params, self._key)
        url = f"{self.base_url}/{endpoint}"
        timeout = (self.connect_timeout, self.read_timeout if read_timeout is None else read_timeout)
        call = Call(endpoint, params)
        try:
            prepared = requests.PreparedRequest()
            prepared.prepare(
                method="POST",
                url=url,
                headers=self._headers,
                data=urlencode({"params": json.dumps(params, ensure_ascii=False)}).encode("ascii"),
                cookies=self._session.cookies,
            )
            response = self._session.send(prepared, timeout=timeout, allow_redirects=False, **self._send_settings)
            content = read_capped(response)
        except IOTPayError as exc:
            raise call.fail(OutcomeUnknown, call.exchange(str(exc)), reason="too_large") from None
        except requests.Timeout as exc:
            raise call.fail(OutcomeUnknown, call.exchange(f"timeout: {exc}"), reason="timeout") from exc
        except requests.ConnectionError as exc:
            # requests reports a read time-out while streaming the body as a ConnectionError.
            reason = "timeout" if any(isinstance(a, ReadTimeoutError) for a in exc.args) else "connection"
            raise call.fail(OutcomeUnknown, call.exchange(f"{reason}: {exc}"), reason=reason) from exc
        except requests.exceptions.ChunkedEncodingError as exc:
            raise call.fail(OutcomeUnknown, call.exchange(f"connection: {exc}"), reason="connection") from exc
        except requests.RequestException as exc:
            # Bad URL or configuration: raised before anything was sent.
            raise call.fail(IOTPayError, call.exchange(f"not sent: {exc}")) from exc
        try:
            return self._answer(call, response.status_code, content)
        except IOTPayError:
            raise
        except Exception as exc:  # a poison answer is no answer; it must never reach the caller as a crash
            error = f"answer could not be read: {exc.__class__.__name__}"
            raise call.fail(OutcomeUnknown, call.exchange(error, status=response.status_code,
                                                          text=decode(content[:2000])),
                            reason="unreadable") from None

    def _answer(self, call: Call, status: int, content: bytes) -> tuple[dict[str, Any], Exchange]:
        """Parse and classify one HTTP answer (see docs/reliability.md, "Every answer and what it does")."""
        text = decode(content)
        try:
            parsed = json.loads(text) if text.strip() else None
        except (ValueError, RecursionError):
            parsed = None
        data = parsed if isinstance(parsed, dict) else None

        if status >= 500:
            raise call.fail(OutcomeUnknown, call.exchange(f"HTTP {status}", status=status, text=text, data=data),
                            reason="http_5xx")
        if data is None:
            reason = "http_4xx" if 400 <= status < 500 else "unparsable"
            what = "without a JSON body" if reason == "http_4xx" else "body is not a JSON object"
            raise call.fail(OutcomeUnknown, call.exchange(f"HTTP {status} {what}", status=status, text=text),
                            reason=reason)

        signature = response_signature(data, self._key)
        ret_code = str(data.get("retCode", "")).strip().upper()
        res_code = str(data.get("resCode", "")).strip().upper()

        def answered(error: str | None) -> Exchange:
            return call.exchange(error, status=status, text=text, data=data, signature=signature)

        if signature == Signature.INVALID:
            raise call.fail(InvalidSignature, answered("sign does not verify"))
        if "FAIL" in (ret_code, res_code):
            err_code = to_text(data.get("errCode"), 10)
            first, second = ("errCodeDes", "retMsg") if res_code == "FAIL" else ("retMsg", "errCodeDes")
            message = to_text(data.get(first)) or to_text(data.get(second)) or "refused"
            described = f"[{err_code}] {message}" if err_code else message
            if err_code in NO_ANSWER_CODES:
                # A time-out or system error behind the gateway: the bank may have acted.
                raise call.fail(OutcomeUnknown, answered(f"no answer: {described}"), reason="gateway_error")
            if signature == Signature.UNVERIFIABLE:
                raise call.fail(OutcomeUnknown, answered(f"unverifiable refusal: {described}"),
                                reason="unverifiable")
            cls = OrderNotFound if call.endpoint == "query_order" and err_code == ORDER_NOT_FOUND else GatewayRefused
            raise call.fail(cls, answered(f"refused: {described}"), err_code=err_code, message=message)
        if ret_code != "SUCCESS" or res_code != "SUCCESS":
            raise call.fail(InvalidResponse, answered(f"unexpected codes retCode={ret_code[:20]!r} "
                                                      f"resCode={res_code[:20]!r}"))
        if signature == Signature.UNSIGNED:
            raise call.fail(InvalidSignature, answered("SUCCESS response without sign"))
        ex = replace(answered(None), outcome="success" if signature == Signature.VERIFIED else f"success ({signature})")
        return data, ex

    def _build(
        self,
        builder: Callable[..., _Result],
        data: dict[str, Any],
        exchange: Exchange,
        **expected: str | None,
    ) -> _Result:
        try:
            return builder(data, exchange, **expected)
        except InvalidResponse as exc:
            exc.exchange = replace(exchange, error=str(exc), outcome="InvalidResponse")
            raise
        except Exception as exc:  # junk the builder did not foresee is a poison answer: no answer
            error = f"answer could not be read: {exc.__class__.__name__}"
            raise InvalidResponse(f"{exchange.endpoint}: {error}",
                                  exchange=replace(exchange, error=error, outcome="InvalidResponse")) from None
