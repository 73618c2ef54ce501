"""Reading an IOTPay request off the wire and checking its fields (no state, no I/O)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

FORM_TYPE = "application/x-www-form-urlencoded"
MAX_BODY = 64 * 1024

ERR_SYSTEM = "0010"
ERR_POST_REQUIRED = "0011"
ERR_EMPTY_POST = "0012"
ERR_SIGNATURE = "0013"
ERR_PARAMETER = "0014"
ERR_MERCHANT = "0015"
ERR_THIRD_PARTY = "0111"
ERR_NOT_FOUND = "0112"


class ProtocolError(Exception):
    """A request refused before any business rule: answered with retCode FAIL, unsigned."""

    def __init__(self, err_code: str, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.err_code = err_code
        self.message = message
        self.detail = detail


def parameter_error(name: str, detail: str) -> ProtocolError:
    return ProtocolError(ERR_PARAMETER, f"{ERR_PARAMETER} parameter error: {name}", detail)


def _as_text(name: str, value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise parameter_error(name, f"{name} must be a string")


def parse_request(method: str, content_type: str, body: bytes) -> dict[str, str | None]:
    """The request's fields, from ``params=<JSON>`` or from plain form fields.

    Anything else (GET, an empty body, JSON or multipart bodies) raises ProtocolError 0011/0012.
    """
    if method != "POST":
        raise ProtocolError(ERR_POST_REQUIRED, f"{ERR_POST_REQUIRED} POST required")
    if not body.strip():
        raise ProtocolError(ERR_EMPTY_POST, f"{ERR_EMPTY_POST} empty post: send params=<JSON> as {FORM_TYPE}")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type and media_type != FORM_TYPE:
        raise ProtocolError(ERR_EMPTY_POST, f"{ERR_EMPTY_POST} expected {FORM_TYPE}, got {media_type}")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError(ERR_EMPTY_POST, f"{ERR_EMPTY_POST} body is not {FORM_TYPE}") from None
    form = dict(pairs)
    if "params" not in form:
        return {name: value for name, value in form.items()}
    try:
        params = json.loads(form["params"])
    except ValueError:
        raise parameter_error("params", "params must be a JSON object") from None
    if not isinstance(params, dict):
        raise parameter_error("params", "params must be a JSON object")
    return {str(name): _as_text(str(name), value) for name, value in params.items()}


@dataclass(frozen=True)
class Rule:
    name: str
    required: bool
    max_len: int
    kind: str = "text"  # text | amount (>0) | cents (>=0) | currency | channel


CREATE_RULES = (
    Rule("mchOrderNo", True, 30),
    Rule("channelId", True, 24, "channel"),
    Rule("currency", True, 3, "currency"),
    Rule("amount", True, 12, "amount"),
    Rule("clientIp", True, 32),
    Rule("device", True, 64),
    Rule("notifyUrl", True, 200),
    Rule("subject", True, 64),
    Rule("body", True, 255),
    Rule("extra", True, 512),
    Rule("jobNo", True, 50),
    Rule("tip", False, 12, "cents"),
    Rule("remarks", False, 200),
    Rule("source", False, 64),
)
QUERY_RULES = (
    Rule("payOrderId", False, 30),
    Rule("mchOrderNo", False, 30),
)
REFUND_RULES = (
    Rule("mchRefundNo", True, 30),
    Rule("payOrderId", True, 30),
    Rule("refundAmount", True, 12, "amount"),
    Rule("currency", True, 3, "currency"),
    Rule("clientIp", True, 32),
    Rule("device", False, 64),
    Rule("loginName", True, 50),
)
RULES = {"create_order": CREATE_RULES, "query_order": QUERY_RULES, "refund_order": REFUND_RULES}

_DIGITS = re.compile(r"[0-9]+")
_CURRENCY = re.compile(r"[A-Z]{3}")


def check_fields(endpoint: str, fields: dict[str, str | None]) -> dict[str, str]:
    """The endpoint's fields, validated (first failing field raises 0014 naming it); empties dropped."""
    clean: dict[str, str] = {}
    for rule in RULES[endpoint]:
        value = fields.get(rule.name)
        if value is None or value == "":
            if rule.required:
                raise parameter_error(rule.name, f"{rule.name} is required")
            continue
        if len(value) > rule.max_len:
            raise parameter_error(rule.name, f"{rule.name} is longer than {rule.max_len}")
        if rule.kind in ("amount", "cents"):
            if not _DIGITS.fullmatch(value) or (rule.kind == "amount" and int(value) <= 0):
                adjective = "positive" if rule.kind == "amount" else "non-negative"
                raise parameter_error(rule.name, f"{rule.name} must be a {adjective} integer of cents")
        elif rule.kind == "currency" and not _CURRENCY.fullmatch(value):
            raise parameter_error(rule.name, f"{rule.name} must be 3 upper-case letters")
        elif rule.kind == "channel" and value != "CC_PAX":
            raise parameter_error(rule.name, f"{rule.name} must be CC_PAX (the only channel served)")
        clean[rule.name] = value
    if endpoint == "query_order" and not (clean.get("payOrderId") or clean.get("mchOrderNo")):
        raise parameter_error("payOrderId", "payOrderId or mchOrderNo is required")
    return clean
