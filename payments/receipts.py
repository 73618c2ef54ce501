"""Card receipts of a finished attempt: what they say (``build_receipt``) and its 42-column text.

A receipt is built only from what the attempt stored: its amounts, statuses and the card data IOTPay
returned (``CardData.as_dict()``). ``CardData.from_dict`` ignores unknown keys, so an expiry date that
found its way into ``attempt.card`` is never read, let alone printed. Only the last 4 digits of the card
number are ever used. Money is integer cents throughout.

Content follows the Canadian semi-integrated receipt rules summarised in the shared IOTPAY.md.
"""

from __future__ import annotations

import re
import textwrap
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from django.conf import settings

from lanes.models import Store
from payments.iotpay.results import CardData
from payments.models import AttemptStatus, PaymentAttempt, Refund
from payments.money import format_money

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

Copy = Literal["merchant", "customer"]
Language = Literal["en", "fr"]
Outcome = Literal["APPROVED", "DECLINED", "NOT_COMPLETED"]
LineKind = Literal["center", "pair", "rule", "signature"]

S = AttemptStatus


class ReceiptNotAvailable(Exception):
    """The attempt has no card receipt: not yet (outcome not final) or never (``permanent``: FAILED)."""

    def __init__(self, reason: str, *, status: str, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.permanent = permanent


@dataclass(frozen=True)
class Line:
    """One printed line. ``pair``: ``text`` is the label, ``value`` right-aligned (may be blank).

    ``signature``: a line to sign on, ``text`` is its caption. ``rule``: a separator.
    """

    kind: LineKind
    text: str = ""
    value: str = ""
    strong: bool = False


@dataclass(frozen=True)
class Section:
    name: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Receipt:
    attempt_id: int
    copy: Copy
    language: Language
    outcome: Outcome
    copy_label: str
    sections: tuple[Section, ...]
    refund_id: int | None = None


# ------------------------------------------------------------------------------------------ wording

_WORDS: dict[str, dict[Language, str]] = {
    "record": {"en": "TRANSACTION RECORD", "fr": "RELEVÉ DE TRANSACTION"},
    "purchase": {"en": "PURCHASE", "fr": "ACHAT"},
    "card_type": {"en": "CARD TYPE", "fr": "TYPE DE CARTE"},
    "card_num": {"en": "CARD #", "fr": "NO DE CARTE"},
    "entry": {"en": "ENTRY", "fr": "MODE"},
    "account": {"en": "ACCOUNT", "fr": "COMPTE"},
    "date_time": {"en": "DATE/TIME", "fr": "DATE/HEURE"},
    "amount": {"en": "AMOUNT", "fr": "MONTANT"},
    "tip": {"en": "TIP", "fr": "POURBOIRE"},
    "cashback": {"en": "CASHBACK", "fr": "REMISE EN ARGENT"},
    "surcharge": {"en": "SURCHARGE", "fr": "SUPPLÉMENT"},
    "total": {"en": "TOTAL", "fr": "TOTAL"},
    "terminal": {"en": "TERMINAL", "fr": "TERMINAL"},
    "invoice": {"en": "INVOICE", "fr": "FACTURE"},
    "sequence": {"en": "SEQUENCE", "fr": "SÉQUENCE"},
    "batch": {"en": "BATCH", "fr": "LOT"},
    "auth": {"en": "AUTH #", "fr": "NO AUTOR."},
    "APPROVED": {"en": "APPROVED", "fr": "APPROUVÉE"},
    "DECLINED": {"en": "DECLINED", "fr": "REFUSÉE"},
    "NOT_COMPLETED": {"en": "NOT COMPLETED", "fr": "NON COMPLÉTÉE"},
    "pin": {"en": "VERIFIED BY PIN", "fr": "VÉRIFIÉ PAR NIP"},
    "no_signature": {"en": "NO SIGNATURE REQUIRED", "fr": "AUCUNE SIGNATURE REQUISE"},
    "signature": {"en": "SIGNATURE", "fr": "SIGNATURE"},
    "merchant": {"en": "MERCHANT COPY", "fr": "COPIE DU MARCHAND"},
    "customer": {"en": "CUSTOMER COPY", "fr": "COPIE DU CLIENT"},
    "retain": {
        "en": "IMPORTANT — retain this copy for your records",
        "fr": "IMPORTANT — conservez cette copie pour vos dossiers",
    },
    "order": {"en": "ORDER #", "fr": "NO DE COMMANDE"},
    "iotpay": {"en": "IOTPAY REF", "fr": "RÉF. IOTPAY"},
    "refund": {"en": "REFUND", "fr": "REMISE"},
    "refund_no": {"en": "REFUND #", "fr": "NO DE REMISE"},
    "CHIP": {"en": "CHIP", "fr": "INSÉRÉE"},
    "TAP": {"en": "TAP", "fr": "SANS CONTACT"},
    "SWIPE": {"en": "SWIPE", "fr": "GLISSÉE"},
    "MANUAL": {"en": "MANUAL", "fr": "MANUELLE"},
    "CHEQUING": {"en": "CHEQUING", "fr": "CHÈQUES"},
    "SAVINGS": {"en": "SAVINGS", "fr": "ÉPARGNE"},
}

_NOT_YET = {
    S.CREATED: "The payment is still being sent to the terminal.",
    S.SENT: "The payment is still in progress on the terminal.",
    S.UNKNOWN: "The outcome is not known yet: IOTPay is being asked. Do not charge the card again.",
    S.NEEDS_REVIEW: "The outcome needs review by a supervisor: nothing is confirmed yet.",
}

_CRYPTOGRAM = re.compile(r"^\s*(ARQC|ARPC|AAC|TC)\s*[:=]?\s*(\S+)\s*$", re.IGNORECASE)
_INTERAC_CARD_TYPES = frozenset({"P", "DP"})


# ------------------------------------------------------------------------------------------ building


def _center(text: str, *, strong: bool = False) -> Line:
    return Line("center", text=text, strong=strong)


def _pair(label: str, value: str, *, strong: bool = False) -> Line:
    return Line("pair", text=label, value=value, strong=strong)


def _outcome(attempt: PaymentAttempt, card: CardData | None, receipt_disp: str) -> Outcome:
    if attempt.status == S.APPROVED:
        return "APPROVED"
    if card is None or card.is_empty or "NOT COMPLETED" in receipt_disp.upper():
        return "NOT_COMPLETED"
    return "DECLINED"


def _check_available(attempt: PaymentAttempt) -> None:
    if attempt.status in (S.APPROVED, S.DECLINED):
        return
    if attempt.status == S.FAILED:
        why = f" ({attempt.message})" if attempt.message else ""
        raise ReceiptNotAvailable(
            f"This payment failed before reaching the card network{why}: no card was charged and there is "
            "no card receipt.",
            status=attempt.status,
            permanent=True,
        )
    raise ReceiptNotAvailable(
        _NOT_YET.get(attempt.status, "The payment is not finished.")
        + " The receipt is available once the payment is approved or declined.",
        status=attempt.status,
    )


def _brand(card: CardData | None, attempt: PaymentAttempt) -> str:
    brand = (card.brand if card is not None else "") or attempt.card_brand.upper()
    if "INTERAC" in brand or (card is not None and card.card_type.upper() in _INTERAC_CARD_TYPES):
        return "INTERAC"
    return brand


def _masked_pan(card: CardData | None, attempt: PaymentAttempt) -> str:
    """Stars and the last 4 digits, never anything else of the card number."""
    last4 = (card.last4 if card is not None else "") or attempt.card_last4
    if not re.fullmatch(r"\d{4}", last4 or ""):
        return ""
    length = len(card.card_num) if card is not None else 0
    stars = length - 4 if 13 <= length <= 19 else 12
    return "*" * stars + last4


def _account(card: CardData | None) -> str:
    raw = (card.account_type if card is not None else "").upper()
    if not raw:
        return ""
    if raw in ("C", "CHQ") or raw.startswith("CHEQ") or raw.startswith("CHECK"):
        return "CHEQUING"
    if raw in ("S", "SAV") or raw.startswith("SAVING"):
        return "SAVINGS"
    return raw


def _store_zone(attempt: PaymentAttempt) -> zoneinfo.ZoneInfo:
    for name in (attempt.store.time_zone, settings.TIME_ZONE):
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue
    return zoneinfo.ZoneInfo("UTC")


def _when(attempt: PaymentAttempt, card: CardData | None) -> datetime:
    """The terminal's own date and time (trxDate MMDDYYYY, trxTime HHMMSS) when it sent them, else ours.

    The terminal's time is already local to the store; ours is converted to the store's time zone.
    """
    if card is not None and re.fullmatch(r"\d{8}", card.trx_date) and re.fullmatch(r"\d{6}", card.trx_time):
        try:
            return datetime.strptime(card.trx_date + card.trx_time, "%m%d%Y%H%M%S")
        except ValueError:
            pass
    moment = attempt.finalized_at or attempt.paid_at or attempt.answered_at or attempt.updated_at
    return moment.astimezone(_store_zone(attempt))


def _date_time(moment: datetime, language: Language) -> str:
    # French readers take 01/02 for the 1st of February: give them the unambiguous ISO order.
    return moment.strftime("%Y-%m-%d %H:%M:%S" if language == "fr" else "%m/%d/%Y %H:%M:%S")


def _merchant_section(store: Store) -> Section:
    address = tuple(_center(row.strip()) for row in store.address.splitlines() if row.strip())
    return Section("merchant", (_center(store.name, strong=True), *address))


def _card_section(attempt: PaymentAttempt, card: CardData | None, moment: datetime, language: Language) -> Section:
    """Brand, masked number, entry and account of the attempt's card; the date and time given."""
    words = {key: value[language] for key, value in _WORDS.items()}
    lines: list[Line] = []
    if brand := _brand(card, attempt):
        lines.append(_pair(words["card_type"], brand))
    if pan := _masked_pan(card, attempt):
        lines.append(_pair(words["card_num"], pan))
    if card is not None and card.entry_method:
        lines.append(_pair(words["entry"], words[card.entry_method]))
    if account := _account(card):
        lines.append(_pair(words["account"], words.get(account, account)))
    lines.append(_pair(words["date_time"], _date_time(moment, language)))
    return Section("card", tuple(lines))


def _language(copy: Copy, card: CardData | None) -> Language:
    """The customer copy is in the cardholder's language (the card's langCode); the merchant's in English."""
    return "fr" if copy == "customer" and card is not None and card.lang_code.upper() == "F" else "en"


def _copy_section(copy: Copy, language: Language) -> Section:
    lines = [_center(_WORDS[copy][language], strong=True)]
    if copy == "customer":
        lines.append(_center(_WORDS["retain"][language]))
    return Section("copy", tuple(lines))


def build_receipt(attempt: PaymentAttempt, *, copy: Copy) -> Receipt:
    """The merchant or customer copy of a finished attempt (APPROVED or DECLINED, not-completed included).

    Raises ``ReceiptNotAvailable`` for an attempt still in flight or under review (not yet), and for a
    FAILED one (``permanent``: it never reached the card network, so there is no card receipt).
    """
    if copy not in ("merchant", "customer"):
        raise ValueError(f"copy must be 'merchant' or 'customer', not {copy!r}")
    _check_available(attempt)

    card = CardData.from_dict(attempt.card) if isinstance(attempt.card, dict) else None
    receipt_disp = attempt.receipt_disp or (card.receipt_disp if card is not None else "")
    outcome = _outcome(attempt, card, receipt_disp)
    language = _language(copy, card)

    def w(key: str) -> str:
        return _WORDS[key][language]

    def money(cents: int) -> str:
        return format_money(cents, attempt.currency)

    store = attempt.store
    sections: list[Section] = []

    sections.append(_merchant_section(store))
    sections.append(Section("title", (_center(w("record"), strong=True), _center(w("purchase")))))

    sections.append(_card_section(attempt, card, _when(attempt, card), language))

    cashback = card.cashback_amount if card is not None and card.cashback_amount else 0
    surcharge = card.surcharge_amount if card is not None and card.surcharge_amount else 0
    amounts = [_pair(w("amount"), money(attempt.amount))]
    if store.tips_enabled or attempt.tip > 0:
        amounts.append(_pair(w("tip"), money(attempt.tip)))
    if cashback > 0:
        amounts.append(_pair(w("cashback"), money(cashback)))
    if surcharge > 0:
        amounts.append(_pair(w("surcharge"), money(surcharge)))
    total = attempt.amount + attempt.tip + max(cashback, 0) + max(surcharge, 0)
    amounts += [Line("rule"), _pair(w("total"), money(total), strong=True)]
    sections.append(Section("amounts", tuple(amounts)))

    ids: list[Line] = []
    for key, value in (
        ("terminal", card.term_num if card is not None else ""),
        ("invoice", card.term_invoice_num if card is not None else ""),
        ("sequence", card.seq_num if card is not None else ""),
        ("batch", (card.batch_num if card is not None else "") or attempt.batch_num),
    ):
        if value:
            ids.append(_pair(w(key), value))
    auth = ((card.auth_num if card is not None else "") or attempt.auth_num) if outcome == "APPROVED" else ""
    ids.append(_pair(w("auth"), auth))
    sections.append(Section("ids", tuple(ids)))

    if card is not None:
        emv = [_pair(name, value) for name, value in
               (("AID", card.emv_aid), ("TVR", card.emv_tvr), ("TSI", card.emv_tsi)) if value]
        if card.emv_tc:
            match = _CRYPTOGRAM.match(card.emv_tc)
            emv.append(_pair(match.group(1).upper(), match.group(2)) if match else _pair("TC", card.emv_tc))
        if emv:
            sections.append(Section("emv", tuple(emv)))

    result = [_center(w(outcome), strong=True)]
    if receipt_disp:
        result.append(_center(receipt_disp))
    sections.append(Section("result", tuple(result)))

    if outcome == "APPROVED" and card is not None:
        if card.cvm == "SIGNATURE":
            if copy == "merchant":
                sections.append(Section("verification", (Line("signature", text=w("signature")),)))
        elif card.cvm == "PIN":
            sections.append(Section("verification", (_center(w("pin")),)))
        elif card.cvm == "NONE":
            sections.append(Section("verification", (_center(w("no_signature")),)))

    sections.append(_copy_section(copy, language))

    trace = [_pair(w("order"), attempt.mch_order_no)]
    if attempt.pay_order_id:
        trace.append(_pair(w("iotpay"), attempt.pay_order_id))
    sections.append(Section("trace", tuple(trace)))

    return Receipt(
        attempt_id=attempt.pk,
        copy=copy,
        language=language,
        outcome=outcome,
        copy_label=w(copy),
        sections=tuple(sections),
    )


# ------------------------------------------------------------------------------------------- text


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]


def _text_lines(line: Line, width: int) -> list[str]:
    if line.kind == "rule":
        return ["-" * width]
    if line.kind == "signature":
        return ["", "", "X" + "_" * (width - 2), line.text.center(width).rstrip()]
    if line.kind == "pair":
        label, value = line.text, line.value
        if not value:
            return _wrap(label, width)
        if len(label) + 1 + len(value) <= width:
            return [label + " " * (width - len(label) - len(value)) + value]
        return _wrap(label, width) + [part.rjust(width) for part in _wrap(value, width)]
    text = line.text
    if len(text) > width and " — " in text:
        # "IMPORTANT — retain this copy…": break after the dash rather than mid-sentence.
        head, tail = text.split(" — ", 1)
        parts = _wrap(head + " —", width) + _wrap(tail, width)
    else:
        parts = _wrap(text, width)
    return [part.center(width).rstrip() for part in parts]


def render_text(receipt: Receipt, width: int = 42) -> str:
    """Plain text for an ESC/POS printer: ``width`` columns, sections separated by a blank line."""
    if width < 20:
        raise ValueError("a receipt needs at least 20 columns")
    blocks = ["\n".join(row for line in section.lines for row in _text_lines(line, width))
              for section in receipt.sections]
    return "\n\n".join(blocks) + "\n"


def render_texts(receipts: Sequence[Receipt], width: int = 42) -> str:
    """Several copies, one after the other, with a dashed cut line between them."""
    cut = "\n\n" + ("- " * (width // 2)).rstrip() + "\n\n\n"
    return cut.join(render_text(receipt, width) for receipt in receipts)


# ------------------------------------------------------------------------------------------ refunds


def _check_refund_available(refund: Refund) -> None:
    if refund.status == S.APPROVED:
        return
    if refund.status == S.FAILED:
        why = f" ({refund.message})" if refund.message else ""
        raise ReceiptNotAvailable(f"This refund was refused{why}: nothing was refunded and there is no receipt.",
                                  status=refund.status, permanent=True)
    raise ReceiptNotAvailable("The refund is not finished: its receipt is available once IOTPay confirms it.",
                              status=refund.status)


def build_refund_receipt(refund: Refund, *, copy: Copy) -> Receipt:
    """The merchant or customer copy of an APPROVED refund: REFUND / REMISE, the refunded amount as TOTAL.

    The card lines (brand, last 4, entry, account) are the original payment's; the date and time are the
    refund's, in the store's time zone. Raises ``ReceiptNotAvailable`` for any other status.
    """
    if copy not in ("merchant", "customer"):
        raise ValueError(f"copy must be 'merchant' or 'customer', not {copy!r}")
    _check_refund_available(refund)
    attempt = refund.attempt
    card = CardData.from_dict(attempt.card) if isinstance(attempt.card, dict) else None
    language = _language(copy, card)

    def w(key: str) -> str:
        return _WORDS[key][language]

    moment = (refund.finalized_at or refund.updated_at).astimezone(_store_zone(attempt))
    total = _pair(w("total"), format_money(refund.amount, refund.currency), strong=True)
    sections = [
        _merchant_section(attempt.store),
        Section("title", (_center(w("record"), strong=True), _center(w("refund"), strong=True))),
        _card_section(attempt, card, moment, language),
        Section("amounts", (Line("rule"), total)),
        Section("result", (_center(w("APPROVED"), strong=True),)),
        _copy_section(copy, language),
    ]
    trace = [_pair(w("refund_no"), refund.mch_refund_no)]
    if refund.refund_order_id:
        trace.append(_pair(w("iotpay"), refund.refund_order_id))
    trace.append(_pair(w("order"), attempt.mch_order_no))
    sections.append(Section("trace", tuple(trace)))
    return Receipt(attempt_id=attempt.pk, copy=copy, language=language, outcome="APPROVED", copy_label=w(copy),
                   sections=tuple(sections), refund_id=refund.pk)
