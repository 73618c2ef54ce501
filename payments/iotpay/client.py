"""The IOTPay gateway client: one door (``_request``) that signs, times out, verifies, logs and maps failures.

Nothing here retries. A create_order that got no answer may have charged the card: callers poll
query_order for that mchOrderNo and never send create_order for it again (IOTPAY.md).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import TracebackType
from typing import Any, Self, TypeVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError

from payments.iotpay.errors import (
    GatewayRefused,
    InvalidResponse,
    InvalidSignature,
    IOTPayError,
    OrderNotFound,
    OutcomeUnknown,
)
from payments.iotpay.results import CreateOrderResult, Exchange, QueryOrderResult, RefundOrderResult
from payments.iotpay.signing import field_text, sign, verify_response

__all__ = ["IOTPayClient"]

CHANNEL_ID = "CC_PAX"
NOTIFY_URL = "http://localhost"  # what IOTPay requires for CC_PAX: the answer is synchronous
ORDER_NOT_FOUND = "0112"

# Field limits from IOTPAY.md / the reference page, in characters.
_LIMITS = {
    "mchId": 30,
    "mchOrderNo": 30,
    "mchRefundNo": 30,
    "currency": 3,
    "clientIp": 32,
    "device": 64,
    "subject": 64,
    "body": 255,
    "extra": 512,
    "jobNo": 50,
    "loginName": 50,
    "remarks": 200,
}
_OPTIONAL = frozenset({"device", "remarks", "source"})

logger_default = logging.getLogger("payments.iotpay")

_Result = TypeVar("_Result")


def _check_text(fields: Mapping[str, Any]) -> None:
    for name, value in fields.items():
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string, got {type(value).__name__}")
        if not value and name not in _OPTIONAL:
            raise ValueError(f"{name} is required")
        limit = _LIMITS.get(name)
        if limit is not None and len(value) > limit:
            raise ValueError(f"{name} is {len(value)} characters long; IOTPay accepts at most {limit}")


def _check_cents(name: str, value: object, *, allow_zero: bool = False) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an int number of cents, got {type(value).__name__}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else 'positive'}, got {value}")
    return value


def _check_currency(currency: str) -> None:
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha() and currency.isupper()):
        raise ValueError(f"currency must be 3 upper-case letters like 'CAD', got {currency!r}")


def _decode(content: bytes, response: requests.Response) -> str:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return response.text


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
        logger: logging.Logger | None = None,
    ) -> None:
        if not base_url:
            raise ValueError("base_url is required")
        if not key:
            raise ValueError("key is required")
        _check_text({"mchId": mch_id})
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
        self._log = logger or logger_default

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
        _check_cents("amount", amount)
        _check_cents("tip", tip, allow_zero=True)
        _check_currency(currency)
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
        _check_text(text)
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
            _check_text({"mchOrderNo": mch_order_no})
        else:
            _check_text({"payOrderId": pay_order_id})
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
        _check_cents("refund_amount", refund_amount)
        _check_currency(currency)
        _check_text(
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
        """POST one signed call; return the parsed, verified SUCCESS answer or raise a typed error."""
        params = {name: field_text(value) for name, value in fields.items() if value is not None}
        params["mchId"] = self.mch_id
        params.pop("sign", None)
        params["sign"] = sign(params, self._key)
        url = f"{self.base_url}/{endpoint}"
        timeout = (self.connect_timeout, self.read_timeout if read_timeout is None else read_timeout)
        context = {
            "endpoint": endpoint,
            "ref": params.get("mchOrderNo") or params.get("mchRefundNo") or params.get("payOrderId") or "",
        }

        def exchange(
            error: str | None,
            *,
            status: int | None = None,
            text: str | None = None,
            data: dict[str, Any] | None = None,
            verified: bool | None = None,
        ) -> Exchange:
            return Exchange(
                endpoint=endpoint,
                request=dict(params),
                http_status=status,
                response_text=text,
                response=data,
                elapsed_ms=round((time.monotonic() - started) * 1000),
                error=error,
                verified=verified,
            )

        started = time.monotonic()
        try:
            response = self._session.post(
                url,
                data={"params": json.dumps(params, ensure_ascii=False)},
                headers={"Accept": "application/json"},
                timeout=timeout,
                allow_redirects=False,
            )
            content = response.content
        except requests.Timeout as exc:
            raise self._fail(OutcomeUnknown, exchange(f"timeout: {exc}"), context, reason="timeout") from exc
        except requests.ConnectionError as exc:
            # requests reports a read time-out while streaming the body as a ConnectionError.
            reason = "timeout" if any(isinstance(a, ReadTimeoutError) for a in exc.args) else "connection"
            raise self._fail(OutcomeUnknown, exchange(f"{reason}: {exc}"), context, reason=reason) from exc
        except requests.exceptions.ChunkedEncodingError as exc:
            raise self._fail(
                OutcomeUnknown, exchange(f"connection: {exc}"), context, reason="connection"
            ) from exc
        except requests.RequestException as exc:
            # Bad URL or configuration: raised before anything was sent.
            raise self._fail(IOTPayError, exchange(f"not sent: {exc}"), context) from exc

        status = response.status_code
        text = _decode(content, response)
        try:
            parsed = json.loads(text) if text.strip() else None
        except ValueError:
            parsed = None
        data = parsed if isinstance(parsed, dict) else None

        if status >= 500:
            ex = exchange(f"HTTP {status}", status=status, text=text, data=data)
            raise self._fail(OutcomeUnknown, ex, context, reason="http_5xx")
        if data is None:
            if 400 <= status < 500:
                ex = exchange(f"HTTP {status} without a JSON body", status=status, text=text)
                raise self._fail(
                    GatewayRefused, ex, context, err_code=f"HTTP{status}", message=f"HTTP {status}"
                )
            ex = exchange(f"HTTP {status}: body is not a JSON object", status=status, text=text)
            raise self._fail(OutcomeUnknown, ex, context, reason="unparsable")

        signed = isinstance(data.get("sign"), str) and bool(data["sign"])
        verified = verify_response(data, self._key) if signed else None
        ret_code = str(data.get("retCode", "")).strip().upper()
        res_code = str(data.get("resCode", "")).strip().upper()

        def answered(error: str | None) -> Exchange:
            return exchange(error, status=status, text=text, data=data, verified=verified)

        if signed and not verified:
            raise self._fail(InvalidSignature, answered("sign does not verify"), context)
        if "FAIL" in (ret_code, res_code):
            err_code = str(data.get("errCode") or "").strip()
            if res_code == "FAIL":
                message = str(data.get("errCodeDes") or data.get("retMsg") or "refused")
            else:
                message = str(data.get("retMsg") or data.get("errCodeDes") or "refused")
            cls = (
                OrderNotFound if endpoint == "query_order" and err_code == ORDER_NOT_FOUND else GatewayRefused
            )
            ex = answered(f"refused: [{err_code}] {message}" if err_code else f"refused: {message}")
            raise self._fail(cls, ex, context, err_code=err_code, message=message)
        if ret_code != "SUCCESS" or res_code != "SUCCESS":
            ex = answered(f"unexpected codes retCode={ret_code!r} resCode={res_code!r}")
            raise self._fail(InvalidResponse, ex, context)
        if not signed:
            raise self._fail(InvalidSignature, answered("SUCCESS response without sign"), context)

        ex = answered(None)
        self._log_call(context, ex, "success")
        return data, ex

    def _fail(
        self, cls: type[IOTPayError], exchange: Exchange, context: Mapping[str, str], **kwargs: str
    ) -> IOTPayError:
        """Log the call once and build the error that carries its exchange."""
        self._log_call(context, exchange, cls.__name__)
        if issubclass(cls, GatewayRefused):
            message = kwargs.pop("message", "refused")
            return cls(message, exchange=exchange, **kwargs)
        return cls(f"{exchange.endpoint}: {exchange.error}", exchange=exchange, **kwargs)

    def _log_call(self, context: Mapping[str, str], exchange: Exchange, outcome: str) -> None:
        # Identifiers and outcome only: never the key, the sign or card data.
        self._log.info(
            "iotpay %s ref=%s http=%s elapsed_ms=%d outcome=%s%s",
            context["endpoint"],
            context["ref"],
            exchange.http_status,
            exchange.elapsed_ms,
            outcome,
            f" error={exchange.error!r}" if exchange.error and outcome != "success" else "",
            extra={
                "iotpay_endpoint": context["endpoint"],
                "iotpay_ref": context["ref"],
                "iotpay_http_status": exchange.http_status,
                "iotpay_elapsed_ms": exchange.elapsed_ms,
                "iotpay_outcome": outcome,
            },
        )

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
            exc.exchange = replace(exchange, error=str(exc))
            self._log.warning("iotpay %s: %s", exchange.endpoint, exc)
            raise
