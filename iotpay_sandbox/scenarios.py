"""What the virtual cardholder and bank do, scripted by the amount's cents, and the card data they produce.

The table is documented in README.md; keep the two in step.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from dataclasses import dataclass
from enum import Enum

# The reference page's "not completed" sample, byte for byte.
NOT_COMPLETED_EXTRA = (
    '{"cardType":" ","cardNum":"","expireDate":"    ","emvLabel":"","emvAID":"","emvTVR":"","emvTSI":"",'
    '"emvTC":"","termNum":"25957","bankTermNum":"40880013","termInvoiceNum":"167339","seqNum":"000000000000",'
    '"authNum":"","batchNum":"0000","trxMethod":"","accountType":"","receiptDisp":"Transaction Not Completed 05",'
    '"cashbackAmount":"","timeStamp":"20210922-15231494","surchargeAmount":"","langCode":"E","trxDate":"",'
    '"trxTime":"","cvmResults":"","trxCode":"00"}'
)

APPROVED_TEXT_EN = "000 Approved 00 Thank You"
APPROVED_TEXT_FR = "000 Approuvee 00 Merci"
DECLINED_TEXT = "051 Declined 05 Do Not Honour"
NOT_COMPLETED_TEXT = "Transaction Not Completed 05"
NO_RESPONSE_TEXT = "third-party exception: terminal did not respond"


class Outcome(Enum):
    """One row of the cents table."""

    APPROVED = "approved"
    DECLINED = "declined"
    NOT_COMPLETED = "not_completed"
    GATEWAY_FAIL = "gateway_fail"
    BUSY = "busy"
    LATE = "late"
    NEVER_ANSWERS = "never_answers"
    DROP = "drop"
    HTTP_500 = "http_500"
    HTML_PAGE = "html_page"
    FORGED = "forged"
    AMOUNT_MISMATCH = "amount_mismatch"
    SIGNED_SORTED = "signed_sorted"
    FAIL_BUT_PAID = "fail_but_paid"
    POISON_DEEP = "poison_deep"
    POISON_HUGE = "poison_huge"
    CONTROL_TEXT = "control_text"
    UNVERIFIABLE = "unverifiable"
    TIP_DIFFERS = "tip_differs"
    CASHBACK = "cashback"
    REFUSED_DIRTY = "refused_dirty"
    BARE_4XX = "bare_4xx"
    CONFIRM_OUTAGE = "confirm_outage"
    QUERY_POISON = "query_poison"
    BOM = "bom"
    REFUSED_CLOSED = "refused_closed"
    REFUSED_BUT_PAID = "refused_but_paid"
    CONFIRM_DISAGREES = "confirm_disagrees"
    INTERACTIVE = "interactive"


CENTS_TABLE: dict[int, Outcome] = {
    1: Outcome.DECLINED,
    2: Outcome.NOT_COMPLETED,
    3: Outcome.GATEWAY_FAIL,
    4: Outcome.BUSY,
    5: Outcome.LATE,
    6: Outcome.NEVER_ANSWERS,
    7: Outcome.DROP,
    8: Outcome.HTTP_500,
    9: Outcome.HTML_PAGE,
    10: Outcome.FORGED,
    11: Outcome.AMOUNT_MISMATCH,
    12: Outcome.SIGNED_SORTED,
    13: Outcome.FAIL_BUT_PAID,
    14: Outcome.POISON_DEEP,
    15: Outcome.POISON_HUGE,
    16: Outcome.CONTROL_TEXT,
    17: Outcome.UNVERIFIABLE,
    18: Outcome.TIP_DIFFERS,
    19: Outcome.CASHBACK,
    20: Outcome.REFUSED_DIRTY,
    21: Outcome.BARE_4XX,
    22: Outcome.CONFIRM_OUTAGE,
    23: Outcome.QUERY_POISON,
    24: Outcome.BOM,
    # 52, 53 and 58: cents no earlier test or benchmark used for an approval
    52: Outcome.REFUSED_CLOSED,
    53: Outcome.REFUSED_BUT_PAID,
    58: Outcome.CONFIRM_DISAGREES,
    99: Outcome.INTERACTIVE,
}

# Paid at the bank whatever the answer says (or does not say): query_order tells the truth.
PAID_OUTCOMES = frozenset({
    Outcome.APPROVED, Outcome.LATE, Outcome.DROP, Outcome.AMOUNT_MISMATCH, Outcome.SIGNED_SORTED,
    Outcome.FAIL_BUT_PAID, Outcome.POISON_DEEP, Outcome.POISON_HUGE, Outcome.CONTROL_TEXT, Outcome.UNVERIFIABLE,
    Outcome.TIP_DIFFERS, Outcome.CASHBACK, Outcome.BARE_4XX, Outcome.CONFIRM_OUTAGE, Outcome.QUERY_POISON,
    Outcome.BOM, Outcome.REFUSED_BUT_PAID,
})

CONTROL_RECEIPT_TEXT = "000 Approved\x00\x1b@\x1dV\x00 00 Thank\r\nYou\x07\u202e"
CONTROL_LABEL = "VISA\x1bE\x00 CREDIT\x1d!\x11"
PROCESSOR_REFUSAL = "0014 transaction refused by the processor"
DIRTY_REFUSAL = "0014 parameter error: jobNo\x00\x1b@\x1dV\x00 unknown login"

# Final status stored on the order for each outcome (what query_order reports once resolved).
# NEVER_ANSWERS stays "paying" (1) for ever; INTERACTIVE starts as 9 (the time-out) until a press.
FINAL_STATUS: dict[Outcome, int] = {
    **{outcome: 2 for outcome in PAID_OUTCOMES},
    Outcome.DECLINED: 9,
    Outcome.NOT_COMPLETED: 9,
    Outcome.GATEWAY_FAIL: 9,
    Outcome.NEVER_ANSWERS: 1,
    Outcome.HTTP_500: 9,
    Outcome.HTML_PAGE: 9,
    Outcome.FORGED: 9,
    Outcome.REFUSED_CLOSED: 9,
    Outcome.CONFIRM_DISAGREES: 9,
    Outcome.INTERACTIVE: 9,
}


class RefundOutcome(Enum):
    """refund_order is scripted by the refund amount's cents too."""

    REFUNDED = "refunded"
    ANSWER_LOST = "answer_lost"  # cents 07: refunded at the bank, the connection closed unanswered
    FAIL_BUT_APPLIED = "fail_but_applied"  # cents 10: refunded at the bank, answered FAIL 0010 (a time-out)


def refund_outcome_for(amount: int) -> RefundOutcome:
    return {7: RefundOutcome.ANSWER_LOST, 10: RefundOutcome.FAIL_BUT_APPLIED}.get(amount % 100,
                                                                                RefundOutcome.REFUNDED)


def outcome_for(amount: int) -> Outcome:
    """The scripted outcome of an order of ``amount`` cents."""
    return CENTS_TABLE.get(amount % 100, Outcome.APPROVED)


@dataclass(frozen=True)
class CardProfile:
    """A card the virtual cardholder presents, chosen by the dollars (``amount // 100 % 4``)."""

    name: str
    card_type: str
    card_num: str
    expire_date: str
    emv_label: str
    emv_aid: str
    emv_tvr: str
    emv_tsi: str
    trx_method: str
    account_type: str
    lang_code: str
    cvm_results: str


CARD_PROFILES: tuple[CardProfile, ...] = (
    CardProfile("Visa credit, tap, no CVM", "V", "XXXXXXXXXXXX4021", "1028", "VISA CREDIT",
                "A0000000031010", "0000000000", "0000", "T", "", "E", "1F0302"),
    CardProfile("Mastercard credit, chip, PIN", "M", "XXXXXXXXXXXX1166", "0627", "MASTERCARD",
                "A0000000041010", "0000008000", "E800", "C", "", "E", "410302"),
    CardProfile("Interac debit, chip, PIN, French", "P", "XXXXXXXXXXXX2748", "1129", "INTERAC",
                "A0000002771010", "8000048000", "6800", "C", "CHEQUING", "F", "420300"),
    CardProfile("American Express, chip, signature", "AX", "XXXXXXXXXXX1009", "0330", "AMERICAN EXPRESS",
                "A00000002501", "0000008000", "E800", "C", "", "E", "1E0300"),
)


def card_profile(amount: int) -> CardProfile:
    """The card used for an order of ``amount`` cents."""
    return CARD_PROFILES[amount // 100 % 4]


def _device_digits(device: str, salt: str, length: int) -> str:
    digest = hashlib.sha256(f"{salt}:{device}".encode()).hexdigest()
    return str(int(digest, 16))[-length:].rjust(length, "0")


def batch_number(day: dt.date) -> str:
    """Constant for a whole day, like a terminal that settles once a day."""
    return f"{day.toordinal() % 9999 + 1:04d}"


def card_extra(*, amount: int, device: str, pay_order_id: str, approved: bool,
               when: dt.datetime | None = None, outcome: Outcome | None = None) -> str:
    """``payOrder.extra`` (a JSON string) for a card that reached the bank: approved or declined."""
    profile = card_profile(amount)
    when = when or dt.datetime.now()
    rng = random.Random(pay_order_id)
    if approved:
        receipt = APPROVED_TEXT_FR if profile.lang_code == "F" else APPROVED_TEXT_EN
        auth = f"{rng.randint(0, 99999):05d}{rng.choice('ABCDEFGHJKLMNPQRSTUVWXYZ0123456789')}"
    else:
        receipt, auth = DECLINED_TEXT, ""
    data = {
        "cardType": profile.card_type,
        "cardNum": profile.card_num,
        "expireDate": profile.expire_date,
        "emvLabel": profile.emv_label,
        "emvAID": profile.emv_aid,
        "emvTVR": profile.emv_tvr,
        "emvTSI": profile.emv_tsi,
        "emvTC": "ARQC: " + f"{rng.getrandbits(64):016X}",
        "termNum": _device_digits(device, "term", 5),
        "bankTermNum": _device_digits(device, "bank", 8),
        "termInvoiceNum": f"{rng.randint(1, 999999):06d}",
        "seqNum": f"{rng.randint(1, 9_999_999):012d}",
        "authNum": auth,
        "batchNum": batch_number(when.date()),
        "trxMethod": profile.trx_method,
        "accountType": profile.account_type,
        "receiptDisp": receipt,
        "cashbackAmount": "",
        "timeStamp": when.strftime("%Y%m%d-%H%M%S") + f"{when.microsecond // 10000:02d}",
        "surchargeAmount": "",
        "langCode": profile.lang_code,
        "trxDate": when.strftime("%m%d%Y"),
        "trxTime": when.strftime("%H%M%S"),
        "cvmResults": profile.cvm_results,
        "trxCode": "00",
    }
    if outcome is Outcome.CONTROL_TEXT:
        data.update(receiptDisp=CONTROL_RECEIPT_TEXT, emvLabel=CONTROL_LABEL)
    elif outcome is Outcome.CASHBACK:
        data.update(cashbackAmount="20.00", surchargeAmount="1.50")  # decimal strings, as PAX prints them
    elif outcome is Outcome.BOM:
        data.update(receiptDisp="000 Approuvée 00 Merci — Café", langCode="F")
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def refund_extra(*, refund_order_id: str, device: str, amount: int) -> str:
    """The terminal data of a refund (its own invoice, sequence, batch, authorisation and approval text)."""
    rng = random.Random(refund_order_id)
    when = dt.datetime.now()
    data = {
        "termNum": _device_digits(device, "term", 5),
        "bankTermNum": _device_digits(device, "bank", 8),
        "termInvoiceNum": f"{rng.randint(1, 999999):06d}",
        "seqNum": f"{rng.randint(1, 9_999_999):012d}",
        "authNum": f"{rng.randint(0, 99999):05d}R",
        "batchNum": batch_number(when.date()),
        "receiptDisp": "000 Refund Approved 00",
        "trxDate": when.strftime("%m%d%Y"),
        "trxTime": when.strftime("%H%M%S"),
        "trxCode": "01",
        "refundAmount": str(amount),
    }
    return json.dumps(data, separators=(",", ":"))


def receipt_text(extra: str) -> str:
    """The ``receiptDisp`` of an extra string ("" when it has none)."""
    try:
        value = json.loads(extra).get("receiptDisp", "")
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""
