"""Card receipts of payments and refunds: what they say (``build_receipt``) and their 42-column text.

A receipt is built only from what was stored: amounts, statuses and the card data the gateway returned
(``CardDetails.as_dict()``). ``CardDetails.from_dict`` ignores unknown keys, so an expiry date that found its way
into stored card data is never read, let alone printed. Only the last 4 digits of the card number are ever
used. Money is integer cents throughout. Content follows the Canadian semi-integrated receipt rules
summarised in docs/iotpay.md ("Card receipts").
"""

from payments.money import format_money
from payments.receipts.model import Copy, Line, Receipt, ReceiptNotAvailable, Section
from payments.receipts.payment import build_receipt
from payments.receipts.printing import render_text, render_texts
from payments.receipts.refund import build_refund_receipt

__all__ = [
    "Copy",
    "Line",
    "Receipt",
    "ReceiptNotAvailable",
    "Section",
    "build_receipt",
    "build_refund_receipt",
    "format_money",
    "render_text",
    "render_texts",
]
