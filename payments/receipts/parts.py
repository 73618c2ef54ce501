"""Sections a payment's and a refund's receipts share: merchant, card, terminal ids, EMV, verification."""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime

from django.conf import settings

from gateways.base import CardDetails
from lanes.models import Store
from payments.models import PaymentAttempt
from payments.money import format_money
from payments.receipts.model import Copy, Line, Section, center, pair
from payments.receipts.words import Language, word, word_or

_CRYPTOGRAM = re.compile(r"^\s*(ARQC|ARPC|AAC|TC)\s*[:=]?\s*(\S+)\s*$", re.IGNORECASE)
_INTERAC_CARD_TYPES = frozenset({"P", "DP"})


def card_of(data: object) -> CardDetails | None:
    """The stored card data (``CardDetails.as_dict()``); unknown keys, an expiry date among them, are ignored."""
    return CardDetails.from_dict(data) if isinstance(data, dict) else None


def brand(card: CardDetails | None, attempt: PaymentAttempt) -> str:
    name = (card.brand if card is not None else "") or attempt.card_brand.upper()
    if "INTERAC" in name or (card is not None and card.card_type.upper() in _INTERAC_CARD_TYPES):
        return "INTERAC"
    return name


def masked_pan(card: CardDetails | None, attempt: PaymentAttempt) -> str:
    """Stars and the last 4 digits, never anything else of the card number."""
    last4 = (card.last4 if card is not None else "") or attempt.card_last4
    if not re.fullmatch(r"\d{4}", last4 or ""):
        return ""
    length = len(card.card_num) if card is not None else 0
    stars = length - 4 if 13 <= length <= 19 else 12
    return "*" * stars + last4


def account_kind(raw: str) -> str:
    """The account a debit card paid from, however the terminal wrote it: "CHEQUING", "SAVINGS", else as sent."""
    upper = raw.upper()
    if upper in ("C", "CHQ") or upper.startswith(("CHEQ", "CHECK")):
        return "CHEQUING"
    if upper in ("S", "SAV") or upper.startswith("SAVING"):
        return "SAVINGS"
    return upper


def _account(card: CardDetails | None) -> str:
    return account_kind(card.account_type if card is not None else "")


def store_zone(attempt: PaymentAttempt) -> zoneinfo.ZoneInfo:
    for name in (attempt.store.time_zone, settings.TIME_ZONE):
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue
    return zoneinfo.ZoneInfo("UTC")


def terminal_time(card: CardDetails | None) -> datetime | None:
    """The terminal's own date and time (trxDate MMDDYYYY, trxTime HHMMSS), already local to the store."""
    if card is not None and re.fullmatch(r"\d{8}", card.trx_date) and re.fullmatch(r"\d{6}", card.trx_time):
        try:
            return datetime.strptime(card.trx_date + card.trx_time, "%m%d%Y%H%M%S")
        except ValueError:
            return None
    return None


def _date_time(moment: datetime, language: Language) -> str:
    # French readers take 01/02 for the 1st of February: give them the unambiguous ISO order.
    return moment.strftime("%Y-%m-%d %H:%M:%S" if language == "fr" else "%m/%d/%Y %H:%M:%S")


def merchant_section(store: Store) -> Section:
    address = tuple(center(row.strip()) for row in store.address.splitlines() if row.strip())
    return Section("merchant", (center(store.name, strong=True), *address))


def card_section(attempt: PaymentAttempt, card: CardDetails | None, moment: datetime, language: Language) -> Section:
    """Brand, masked number, entry and account of the attempt's card; the date and time given."""
    lines: list[Line] = []
    if name := brand(card, attempt):
        lines.append(pair(word("card_type", language), name))
    if pan := masked_pan(card, attempt):
        lines.append(pair(word("card_num", language), pan))
    if card is not None and card.entry_method:
        lines.append(pair(word("entry", language), word(card.entry_method, language)))
    if account := _account(card):
        lines.append(pair(word("account", language), word_or(account, language)))
    lines.append(pair(word("date_time", language), _date_time(moment, language)))
    return Section("card", tuple(lines))


def language_for(copy: Copy, card: CardDetails | None) -> Language:
    """The customer copy is in the cardholder's language (the card's langCode); the merchant's in English."""
    return "fr" if copy == "customer" and card is not None and card.lang_code.upper() == "F" else "en"


def copy_section(copy: Copy, language: Language) -> Section:
    lines = [center(word(copy, language), strong=True)]
    if copy == "customer":
        lines.append(center(word("retain", language)))
    return Section("copy", tuple(lines))


def ids_section(card: CardDetails | None, language: Language, *, auth: str, batch_fallback: str = "") -> Section:
    """Both terminal ids, invoice, sequence and batch numbers, and the authorisation (label always, value
    blank on a decline)."""
    lines = [
        pair(word(key, language), value)
        for key, value in (
            ("terminal", card.term_num if card is not None else ""),
            ("bank_terminal", card.bank_term_num if card is not None else ""),
            ("invoice", card.term_invoice_num if card is not None else ""),
            ("sequence", card.seq_num if card is not None else ""),
            ("batch", (card.batch_num if card is not None else "") or batch_fallback),
        )
        if value
    ]
    lines.append(pair(word("auth", language), auth))
    return Section("ids", tuple(lines))


def emv_section(card: CardDetails | None) -> Section | None:
    if card is None:
        return None
    emv = [pair(name, value) for name, value in
           (("AID", card.emv_aid), ("TVR", card.emv_tvr), ("TSI", card.emv_tsi)) if value]
    if card.emv_tc:
        match = _CRYPTOGRAM.match(card.emv_tc)
        emv.append(pair(match.group(1).upper(), match.group(2)) if match else pair("TC", card.emv_tc))
    return Section("emv", tuple(emv)) if emv else None


def verification_section(card: CardDetails | None, copy: Copy, language: Language) -> Section | None:
    """How the cardholder was verified (EMV 9F34): a line for every CVM, a signature line on the merchant
    copy when the CVM asks for a signature (signature alone, or PIN and signature), a failed CVM shown."""
    if card is None:
        return None
    cvm = card.verification
    lines: list[Line] = []
    if cvm.failed:
        lines.append(center(word("cvm_failed", language)))
    if cvm.method in ("PIN", "PIN_AND_SIGNATURE") and not cvm.failed:
        lines.append(center(word("pin", language)))
    elif cvm.method == "NONE":
        lines.append(center(word("no_signature", language)))
    elif cvm.method == "OTHER":
        lines.append(center(f"{word('cvm_code', language)} {cvm.code}"))
    if cvm.signature_line and copy == "merchant":
        lines.append(Line("signature", text=word("signature", language)))
    return Section("verification", tuple(lines)) if lines else None


def receipt_money(cents: int, currency: str, language: Language) -> str:
    """An amount in the receipt's own language ("$14.00" on an English copy, "14,00 $" on a French one), passed
    explicitly: the language of the page the receipt is opened from never changes its figures."""
    return format_money(cents, currency, language)


def money_line(label: str, cents: int | None, raw: str, currency: str, language: Language) -> Line | None:
    """A cash-back or surcharge line: the gateway's figure, or the text it sent when it could not be read."""
    if cents:
        return pair(label, receipt_money(cents, currency, language))
    if raw:
        return pair(label, f"{raw} ({word('unreadable', language)})")
    return None
