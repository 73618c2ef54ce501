"""IOTPay gateway client (POS semi-integration, channel CC_PAX). Pure Python: no Django import here.

See /work/shared/IOTPAY.md for the protocol. Errors whose ``outcome_unknown`` is True (``OutcomeUnknown``,
``InvalidResponse``, ``InvalidSignature``) mean the payment may or may not have happened: poll
``query_order``, never resend ``create_order`` for the same mchOrderNo.
"""

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
    CardData,
    CreateOrderResult,
    Exchange,
    PayOrder,
    QueryOrderResult,
    RefundOrderResult,
    redact_extra,
)
from payments.iotpay.signing import flat_fields, sign, verify, verify_response

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
    "flat_fields",
    "redact_extra",
    "sign",
    "verify",
    "verify_response",
]
