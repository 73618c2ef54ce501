"""IOTPay (POS semi-integration, channel CC_PAX) as a payment gateway: ``IOTPayGateway``, and the client and
signing under it. Pure Python: no Django import here. docs/iotpay.md (the gateway as the project relies on it)
describes the protocol.

The client's errors whose ``outcome_unknown`` is True (``OutcomeUnknown``, ``InvalidResponse``,
``InvalidSignature``) mean the payment may or may not have happened: poll ``query_order``, never resend
``create_order`` for the same mchOrderNo. ``IOTPayGateway`` turns them into the neutral ``NoAnswer``.
"""

from gateways.cards import CardDetails, Verification
from gateways.exchange import Exchange, redact_extra
from gateways.iotpay.client import IOTPayClient
from gateways.iotpay.errors import (
    GatewayRefused,
    InvalidResponse,
    InvalidSignature,
    IOTPayError,
    OrderNotFound,
    OutcomeUnknown,
)
from gateways.iotpay.extra import card_from_extra
from gateways.iotpay.gateway import IOTPayGateway
from gateways.iotpay.results import (
    FINAL_STATUSES,
    PAID_STATUSES,
    CreateOrderResult,
    PayOrder,
    QueryOrderResult,
    RefundOrderResult,
)
from gateways.iotpay.signing import Signature, flat_fields, response_signature, sign, verify, verify_response
from gateways.text import clean_text, money

__all__ = [
    "FINAL_STATUSES",
    "PAID_STATUSES",
    "CardDetails",
    "CreateOrderResult",
    "Exchange",
    "GatewayRefused",
    "IOTPayClient",
    "IOTPayError",
    "IOTPayGateway",
    "InvalidResponse",
    "InvalidSignature",
    "OrderNotFound",
    "OutcomeUnknown",
    "PayOrder",
    "QueryOrderResult",
    "RefundOrderResult",
    "Signature",
    "Verification",
    "card_from_extra",
    "clean_text",
    "flat_fields",
    "money",
    "redact_extra",
    "response_signature",
    "sign",
    "verify",
    "verify_response",
]
