"""IOTPay gateway client (POS semi-integration, channel CC_PAX). Pure Python: no Django import here.

IOTPAY.md (the gateway as the project relies on it) describes the protocol. Errors whose ``outcome_unknown`` is True (``OutcomeUnknown``,
``InvalidResponse``, ``InvalidSignature``) mean the payment may or may not have happened: poll
``query_order``, never resend ``create_order`` for the same mchOrderNo.
"""

from payments.iotpay.cards import CardData, Verification
from payments.iotpay.client import IOTPayClient
from payments.iotpay.errors import (
    GatewayRefused,
    InvalidResponse,
    InvalidSignature,
    IOTPayError,
    OrderNotFound,
    OutcomeUnknown,
)
from payments.iotpay.results import (
    FINAL_STATUSES,
    PAID_STATUSES,
    CreateOrderResult,
    Exchange,
    PayOrder,
    QueryOrderResult,
    RefundOrderResult,
    redact_extra,
)
from payments.iotpay.signing import Signature, flat_fields, response_signature, sign, verify, verify_response
from payments.iotpay.text import clean_text, money

__all__ = [
    "FINAL_STATUSES",
    "PAID_STATUSES",
    "CardData",
    "CreateOrderResult",
    "Exchange",
    "GatewayRefused",
    "IOTPayClient",
    "IOTPayError",
    "InvalidResponse",
    "InvalidSignature",
    "OrderNotFound",
    "OutcomeUnknown",
    "PayOrder",
    "QueryOrderResult",
    "RefundOrderResult",
    "Signature",
    "Verification",
    "clean_text",
    "flat_fields",
    "money",
    "redact_extra",
    "response_signature",
    "sign",
    "verify",
    "verify_response",
]
