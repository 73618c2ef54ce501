"""The card receipt of a payment attempt: merchant and customer copies."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy

from gateways.base import CardDetails
from payments.causes import said
from payments.contract import receipt_available
from payments.models import AttemptStatus, PaymentAttempt
from payments.receipts.model import Copy, Line, Outcome, Receipt, ReceiptNotAvailable, Section, center, pair
from payments.receipts.parts import (
    card_of,
    card_section,
    copy_section,
    emv_section,
    ids_section,
    language_for,
    merchant_section,
    money_line,
    receipt_money,
    store_zone,
    terminal_time,
    verification_section,
)
from payments.receipts.words import Language, word

S = AttemptStatus

# In the reader's language (the page's), not the receipt's.
_NOT_YET: dict[str, Promise] = {
    S.CREATED: gettext_lazy("The payment is still being sent to the terminal."),
    S.SENT: gettext_lazy("The payment is still in progress on the terminal."),
    S.UNKNOWN: gettext_lazy("The outcome is not known yet: the gateway is being asked. Do not charge the card again."),
    S.NEEDS_REVIEW: gettext_lazy("The outcome needs review by a supervisor: nothing is confirmed yet."),
}


def _check_available(attempt: PaymentAttempt) -> None:
    if receipt_available(attempt):
        return
    if attempt.status == S.FAILED:
        why = f" ({said(attempt.message)})" if attempt.message else ""
        raise ReceiptNotAvailable(
            gettext("This payment failed before reaching the card network{why}: no card was charged and there "
                    "is no card receipt.").format(why=why),
            status=attempt.status,
            permanent=True,
        )
    raise ReceiptNotAvailable(
        str(_NOT_YET.get(attempt.status, gettext("The payment is not finished.")))
        + " " + gettext("The receipt is available once the payment is approved or declined."),
        status=attempt.status,
    )


def _outcome(attempt: PaymentAttempt, card: CardDetails | None, terminal_text: str) -> Outcome:
    if attempt.status == S.APPROVED or attempt.terminal_outcome == "APPROVED":
        return "APPROVED"
    if card is None or card.is_empty or "NOT COMPLETED" in terminal_text.upper():
        return "NOT_COMPLETED"
    return "DECLINED"


def _amounts(attempt: PaymentAttempt, card: CardDetails | None, language: Language) -> Section:
    """The gateway's figures (its amount and tip when it sent them; cash-back and surcharge from the card data)
    and a total that adds them up. A figure that could not be read is shown as sent, and the total then
    says to look at the terminal rather than print a sum that leaves it out."""
    currency = attempt.currency
    amount = attempt.gateway_amount if attempt.gateway_amount is not None else attempt.amount
    tip = attempt.gateway_tip if attempt.gateway_tip is not None else attempt.tip
    lines = [pair(word("amount", language), receipt_money(amount, currency, language))]
    if attempt.store.tips_enabled or tip:
        lines.append(pair(word("tip", language), receipt_money(tip, currency, language)))
    total, unreadable = amount + tip, False
    for key in ("cashback", "surcharge"):
        cents = getattr(card, f"{key}_amount", None) if card is not None else None
        raw = getattr(card, f"{key}_raw", "") if card is not None else ""
        if (line := money_line(word(key, language), cents, raw, currency, language)) is not None:
            lines.append(line)
        total += cents or 0
        unreadable = unreadable or bool(raw)
    label = word("total_unsure" if unreadable else "total", language)
    lines += [Line("rule"), pair(label, receipt_money(total, currency, language), strong=True)]
    return Section("amounts", tuple(lines))


def build_receipt(attempt: PaymentAttempt, *, copy: Copy) -> Receipt:
    """The merchant or customer copy of a finished attempt (APPROVED or DECLINED, not-completed included),
    or of an approval by the terminal that the gateway has not confirmed yet (marked as awaiting confirmation).

    Raises ``ReceiptNotAvailable`` for an attempt still in flight or under review without an approval
    (not yet), and for a FAILED one (``permanent``: it never reached the card network).
    """
    if copy not in ("merchant", "customer"):
        raise ValueError(f"copy must be 'merchant' or 'customer', not {copy!r}")
    _check_available(attempt)
    card = card_of(attempt.card)
    terminal_text = attempt.terminal_text or (card.terminal_text if card is not None else "")
    outcome = _outcome(attempt, card, terminal_text)
    language = language_for(copy, card)
    awaiting = attempt.status not in (S.APPROVED, S.DECLINED)
    moment = terminal_time(card) or (attempt.finalized_at or attempt.paid_at or attempt.answered_at
                                     or attempt.updated_at).astimezone(store_zone(attempt))
    title = [center(word("record", language), strong=True), center(word("purchase", language))]
    if awaiting:
        title.append(center(word("awaiting", language), strong=True))
    sections = [merchant_section(attempt.store), Section("title", tuple(title)),
                card_section(attempt, card, moment, language), _amounts(attempt, card, language)]
    auth = ((card.auth_num if card is not None else "") or attempt.auth_num) if outcome == "APPROVED" else ""
    sections.append(ids_section(card, language, auth=auth, batch_fallback=attempt.batch_num))
    if (emv := emv_section(card)) is not None:
        sections.append(emv)
    result = [center(word(outcome, language), strong=True)]
    if terminal_text:
        result.append(center(terminal_text))
    if awaiting:
        result.append(center(word("awaiting_note", language, gateway=attempt.merchant.gateway_name)))
    sections.append(Section("result", tuple(result)))
    if outcome == "APPROVED" and (verification := verification_section(card, copy, language)) is not None:
        sections.append(verification)
    sections.append(copy_section(copy, language))
    trace = [pair(word("order", language), attempt.order_reference)]
    if attempt.gateway_reference:
        trace.append(pair(word("gateway_ref", language, gateway=attempt.merchant.gateway_name.upper()), attempt.gateway_reference))
    sections.append(Section("trace", tuple(trace)))
    return Receipt(attempt_id=attempt.pk, copy=copy, language=language, outcome=outcome,
                   copy_label=word(copy, language), sections=tuple(sections), awaiting_confirmation=awaiting)
