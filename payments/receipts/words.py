"""The receipt's wording, English and Canadian French (the customer copy is in the cardholder's language).

The French words are in the payments catalog (``payments/locale/fr``), under the context "receipt": printed
receipts keep their own vocabulary (REMISE for a refund, where the pages say « Remboursement »).
"""

from __future__ import annotations

from typing import Literal

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

Language = Literal["en", "fr"]

WORDS: dict[str, Promise] = {
    "record": pgettext_lazy("receipt", "TRANSACTION RECORD"),
    "purchase": pgettext_lazy("receipt", "PURCHASE"),
    "card_type": pgettext_lazy("receipt", "CARD TYPE"),
    "card_num": pgettext_lazy("receipt", "CARD #"),
    "entry": pgettext_lazy("receipt", "ENTRY"),
    "account": pgettext_lazy("receipt", "ACCOUNT"),
    "date_time": pgettext_lazy("receipt", "DATE/TIME"),
    "amount": pgettext_lazy("receipt", "AMOUNT"),
    "tip": pgettext_lazy("receipt", "TIP"),
    "cashback": pgettext_lazy("receipt", "CASHBACK"),
    "surcharge": pgettext_lazy("receipt", "SURCHARGE"),
    "unreadable": pgettext_lazy("receipt", "UNREADABLE"),
    "total": pgettext_lazy("receipt", "TOTAL"),
    "total_unsure": pgettext_lazy("receipt", "TOTAL (SEE TERMINAL)"),
    "terminal": pgettext_lazy("receipt", "TERMINAL"),
    "bank_terminal": pgettext_lazy("receipt", "BANK TERMINAL"),
    "invoice": pgettext_lazy("receipt", "INVOICE"),
    "sequence": pgettext_lazy("receipt", "SEQUENCE"),
    "batch": pgettext_lazy("receipt", "BATCH"),
    "auth": pgettext_lazy("receipt", "AUTH #"),
    "APPROVED": pgettext_lazy("receipt", "APPROVED"),
    "DECLINED": pgettext_lazy("receipt", "DECLINED"),
    "NOT_COMPLETED": pgettext_lazy("receipt", "NOT COMPLETED"),
    "awaiting": pgettext_lazy("receipt", "AWAITING CONFIRMATION"),
    "awaiting_note": pgettext_lazy("receipt", "Approved by the terminal; {gateway} has not confirmed it yet"),
    "pin": pgettext_lazy("receipt", "VERIFIED BY PIN"),
    "no_signature": pgettext_lazy("receipt", "NO SIGNATURE REQUIRED"),
    "cvm_failed": pgettext_lazy("receipt", "CARDHOLDER VERIFICATION FAILED"),
    "cvm_code": pgettext_lazy("receipt", "CARDHOLDER VERIFICATION"),
    "signature": pgettext_lazy("receipt", "SIGNATURE"),
    "merchant": pgettext_lazy("receipt", "MERCHANT COPY"),
    "customer": pgettext_lazy("receipt", "CUSTOMER COPY"),
    "retain": pgettext_lazy("receipt", "IMPORTANT — retain this copy for your records"),
    "order": pgettext_lazy("receipt", "ORDER #"),
    "gateway_ref": pgettext_lazy("receipt", "{gateway} REF"),
    "refund": pgettext_lazy("receipt", "REFUND"),
    "refund_no": pgettext_lazy("receipt", "REFUND #"),
    "CHIP": pgettext_lazy("receipt", "CHIP"),
    "TAP": pgettext_lazy("receipt", "TAP"),
    "SWIPE": pgettext_lazy("receipt", "SWIPE"),
    "MANUAL": pgettext_lazy("receipt", "MANUAL"),
    "CHEQUING": pgettext_lazy("receipt", "CHEQUING"),
    "SAVINGS": pgettext_lazy("receipt", "SAVINGS"),
}


def word(key: str, language: Language, **names: str) -> str:
    """The key's wording in the receipt's language, whatever language the page around it is in; ``{gateway}``
    and other names in it are filled from ``names``."""
    with translation.override(language):
        text = str(WORDS[key])
    return text.format(**names) if names else text


def word_or(key: str, language: Language) -> str:
    """The key's wording, or the key itself when the receipt has no word for it (an account type as sent)."""
    return word(key, language) if key in WORDS else key
