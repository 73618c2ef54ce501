"""What the sandbox sends back: replies, IOTPay's order objects, and the poison answers of the cents table."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from .store import OrderRow

HTML_ERROR_PAGE = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
    b"<h1>Bad Gateway</h1><p>The upstream server returned an invalid response.</p></body></html>"
)


@dataclass
class Reply:
    """What to send back; ``drop`` closes the connection without any HTTP answer."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    drop: bool = False
    ret_code: str | None = None
    res_code: str | None = None
    err_code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(payload: dict[str, Any] | list[Any], status: int = 200) -> Reply:
    reply = Reply(status=status, body=json.dumps(payload, ensure_ascii=False).encode("utf-8"))
    if isinstance(payload, dict):
        reply.ret_code, reply.res_code = payload.get("retCode"), payload.get("resCode")
        reply.err_code = payload.get("errCode")
    return reply


def now_ms() -> int:
    return int(time.time() * 1000)


def store_id(mch_id: str) -> str:
    return hashlib.sha256(f"store:{mch_id}".encode()).hexdigest()[:9]


def pay_order_object(row: OrderRow, at_ms: int, *, status: int | None = None,
                     extra: str | None = None) -> dict[str, Any]:
    """``payOrder`` as in the reference page's sample; ``status``/``extra`` override (forged answers)."""
    status = row.status_at(at_ms) if status is None else status
    paid = status in (2, 3)
    return {
        "userName": row.job_no, "storeId": store_id(row.mch_id), "payOrderId": row.pay_order_id,
        "mchId": row.mch_id, "mchOrderNo": row.mch_order_no, "transId": "", "originalOrderId": "",
        "channelId": row.channel_id, "currency": row.currency, "amount": row.amount, "tip": row.tip,
        "rate": 0, "payType": "pay", "refundable": row.refundable if paid else 0, "clientIp": row.client_ip,
        "deviceId": row.device, "deviceType": "", "notifyUrl": row.notify_url, "subject": row.subject,
        "body": row.body, "param1": "", "param2": "",
        "extra": row.extra_at(at_ms) if extra is None else extra,
        "channelOrderNo": row.channel_order_no if paid else "", "status": status, "remarks": row.remarks,
        "rateValue": 0, "trxAmount": row.amount + row.tip if paid else 0, "costAmount": 0, "currencyAmount": 0,
        "paySuccTime": row.resolve_ms if paid else "", "createDate": row.created_ms,
        "updateDate": max(row.created_ms, min(at_ms, row.resolve_ms)),
    }


def query_fields(row: OrderRow, at_ms: int) -> dict[str, Any]:
    status = row.status_at(at_ms)
    paid = status in (2, 3)
    return {
        "mchId": row.mch_id, "mchOrderNo": row.mch_order_no, "payOrderId": row.pay_order_id,
        "channelId": row.channel_id, "currency": row.currency, "amount": row.amount, "tip": row.tip,
        "clientIp": row.client_ip, "device": row.device, "subject": row.subject, "body": row.body,
        "extra": row.extra_at(at_ms), "paySuccTime": row.resolve_ms if paid else "",
        "channelOrderNo": row.channel_order_no if paid else "", "status": status,
        # Not in docs/iotpay.md's list: a field the gateway may add. It says what is left to refund.
        "refundable": row.refundable_at(at_ms),
    }


def seq_num(extra: str) -> str:
    try:
        return str(json.loads(extra).get("seqNum", ""))
    except ValueError:
        return ""




def poison_deep() -> Reply:
    """A JSON object whose payOrder is nested 100,000 arrays deep: a parser with a recursion limit fails."""
    depth = 100_000
    body = b'{"retCode":"SUCCESS","resCode":"SUCCESS","payOrder":' + b"[" * depth + b"]" * depth + b"}"
    return Reply(status=200, body=body, content_type="application/json")


def poison_huge() -> Reply:
    """A 5 MB JSON answer (a padding field): no IOTPay answer comes near it."""
    body = json.dumps({"retCode": "SUCCESS", "resCode": "SUCCESS", "padding": "x" * 5_000_000}).encode()
    return Reply(status=200, body=body, content_type="application/json")


def bom_reply(payload: dict[str, Any]) -> Reply:
    """JSON preceded by a UTF-8 byte-order mark, with a Content-Type that names another charset."""
    reply = json_reply(payload)
    reply.body = b"\xef\xbb\xbf" + reply.body
    reply.content_type = "application/json; charset=ISO-8859-1"
    return reply
