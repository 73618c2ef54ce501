"""The receipt of an approved refund: REFUND / REMISE, with the refund's own terminal data when the gateway sent it."""

from __future__ import annotations

from django.utils.translation import gettext

from payments.causes import said
from payments.models import AttemptStatus, Refund
from payments.receipts.model import Copy, Line, Receipt, ReceiptNotAvailable, Section, center, pair
from payments.receipts.parts import (
    card_of,
    card_section,
    copy_section,
    ids_section,
    language_for,
    merchant_section,
    receipt_money,
    store_zone,
    terminal_time,
)
from payments.receipts.words import word

S = AttemptStatus


def _check_refund_available(refund: Refund) -> None:
    if refund.status == S.APPROVED:
        return
    if refund.status == S.FAILED:
        why = f" ({said(refund.message)})" if refund.message else ""
        raise ReceiptNotAvailable(
            gettext("This refund was refused{why}: nothing was refunded and there is no receipt.").format(why=why),
            status=refund.status, permanent=True)
    raise ReceiptNotAvailable(
        gettext("The refund is not finished: its receipt is available once the gateway confirms it."),
        status=refund.status)


def build_refund_receipt(refund: Refund, *, copy: Copy) -> Receipt:
    """The merchant or customer copy of an APPROVED refund, the refunded amount as TOTAL.

    The card lines (brand, last 4, entry, account) are the original payment's; the terminal, invoice,
    sequence, batch and authorisation numbers and the approval text are the refund's own when the gateway returned
    them; the date and time are the refund's. Raises ``ReceiptNotAvailable`` for any other status.
    """
    if copy not in ("merchant", "customer"):
        raise ValueError(f"copy must be 'merchant' or 'customer', not {copy!r}")
    _check_refund_available(refund)
    attempt = refund.attempt
    card = card_of(attempt.card)
    own = card_of(refund.card)
    language = language_for(copy, card)
    moment = terminal_time(own) or (refund.finalized_at or refund.updated_at).astimezone(store_zone(attempt))
    total = pair(word("total", language), receipt_money(refund.amount, refund.currency, language), strong=True)
    sections = [
        merchant_section(attempt.store),
        Section("title", (center(word("record", language), strong=True), center(word("refund", language), strong=True))),
        card_section(attempt, card, moment, language),
        Section("amounts", (Line("rule"), total)),
    ]
    if own is not None:
        sections.append(ids_section(own, language, auth=own.auth_num))
    result = [center(word("APPROVED", language), strong=True)]
    if text := refund.terminal_text or (own.terminal_text if own is not None else ""):
        result.append(center(text))
    sections += [Section("result", tuple(result)), copy_section(copy, language)]
    trace = [pair(word("refund_no", language), refund.refund_reference)]
    if refund.gateway_refund_reference:
        trace.append(pair(word("gateway_ref", language, gateway=attempt.merchant.gateway_name.upper()), refund.gateway_refund_reference))
    trace.append(pair(word("order", language), attempt.order_reference))
    sections.append(Section("trace", tuple(trace)))
    return Receipt(attempt_id=attempt.pk, copy=copy, language=language, outcome="APPROVED",
                   copy_label=word(copy, language), sections=tuple(sections), refund_id=refund.pk)
