"""The card data a semi-integrated terminal reports for a receipt, and the cardholder verification its CVM says.

A neutral value: each gateway reads its own wire format into it. Never holds the card expiry date. Every
text field is cleaned (``text.clean_text``); money fields keep what they could not read in ``*_raw`` so
that a receipt shows it instead of silently dropping the line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from gateways.text import to_int, to_text

__all__ = ["MONEY_FIELDS", "CardDetails", "Verification"]

_CARD_TYPE_BRANDS = {
    "V": "VISA",
    "M": "MASTERCARD",
    "AX": "AMEX",
    "A": "AMEX",
    "P": "INTERAC",
    "DP": "INTERAC",
    "D": "DISCOVER",
    "J": "JCB",
    "U": "UNIONPAY",
    "UP": "UNIONPAY",
    "CUP": "UNIONPAY",
    "DC": "DINERS CLUB",
}
_ENTRY_METHODS = {"C": "CHIP", "T": "TAP", "S": "SWIPE", "M": "MANUAL"}
MONEY_FIELDS = frozenset({"cashback_amount", "surcharge_amount"})


@dataclass(frozen=True)
class Verification:
    """The cardholder verification of EMV tag 9F34 (``cvmResults``: method, condition, result bytes).

    ``method``: PIN, PIN_AND_SIGNATURE, SIGNATURE, NONE (no CVM required / performed), FAILED (CVM
    processing failed), OTHER (a code EMV leaves to the payment systems; ``code`` says which), or "" when
    the terminal sent none. ``failed``: the result byte says the verification failed.
    """

    method: str
    code: str
    failed: bool

    @property
    def signature_line(self) -> bool:
        """The merchant copy carries a line for the cardholder to sign."""
        return self.method in ("PIN_AND_SIGNATURE", "SIGNATURE")

    @classmethod
    def from_cvm_results(cls, cvm_results: str) -> Verification:
        text = cvm_results.strip().upper()
        if not re.fullmatch(r"[0-9A-F]{2}(?:[0-9A-F]{2}){0,2}", text):
            return cls(method="", code=text[:6], failed=False)
        first = int(text[:2], 16) & 0x3F  # bit 7 only says whether the next CVM rule may be tried
        failed = len(text) == 6 and text[4:6] == "01"
        if first in (0x01, 0x02, 0x04):
            method = "PIN"
        elif first in (0x03, 0x05):
            method = "PIN_AND_SIGNATURE"
        elif first == 0x1E:
            method = "SIGNATURE"
        elif first in (0x1F, 0x3F):
            method = "NONE"
        elif first == 0x00:
            method = "FAILED"
        else:
            method = "OTHER"
        return cls(method=method, code=text[:2], failed=failed or method == "FAILED")


@dataclass(frozen=True)
class CardDetails:
    """Card transaction data a terminal reports for receipts. Amounts are cents.

    ``CardDetails.from_dict(card.as_dict())`` round-trips.
    """

    card_type: str = ""
    card_num: str = ""
    emv_label: str = ""
    emv_aid: str = ""
    emv_tvr: str = ""
    emv_tsi: str = ""
    emv_tc: str = ""
    term_num: str = ""
    bank_term_num: str = ""
    term_invoice_num: str = ""
    seq_num: str = ""
    auth_num: str = ""
    batch_num: str = ""
    trx_method: str = ""
    account_type: str = ""
    terminal_text: str = ""  # the terminal's approval or decline text
    cashback_amount: int | None = None
    surcharge_amount: int | None = None
    cashback_raw: str = ""
    surcharge_raw: str = ""
    time_stamp: str = ""
    lang_code: str = ""
    trx_date: str = ""
    trx_time: str = ""
    cvm_results: str = ""
    trx_code: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CardDetails:
        """Rebuild from ``as_dict()`` output (unknown keys ignored, junk tolerated)."""
        values: dict[str, Any] = {
            f.name: to_int(data.get(f.name)) if f.name in MONEY_FIELDS else to_text(data.get(f.name))
            for f in fields(cls)
        }
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def last4(self) -> str:
        match = re.search(r"(\d{4})$", self.card_num)
        return match.group(1) if match else ""

    @property
    def brand(self) -> str:
        if self.emv_label:
            return self.emv_label.upper()
        code = self.card_type.upper()
        return _CARD_TYPE_BRANDS.get(code, code)

    @property
    def entry_method(self) -> str:
        return _ENTRY_METHODS.get(self.trx_method.upper(), "")

    @property
    def verification(self) -> Verification:
        return Verification.from_cvm_results(self.cvm_results)

    @property
    def cvm(self) -> str:
        """"SIGNATURE" (a line to sign), "PIN", "NONE", or "" (see ``verification`` for the whole story)."""
        method = self.verification.method
        return {"PIN_AND_SIGNATURE": "SIGNATURE", "SIGNATURE": "SIGNATURE", "PIN": "PIN",
                "NONE": "NONE"}.get(method, "")

    @property
    def is_empty(self) -> bool:
        """No brand, no card number, no authorisation: the terminal never read a card."""
        return not (self.brand or self.card_num or self.auth_num)
