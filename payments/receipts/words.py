"""The receipt's wording, English and Canadian French (the customer copy is in the cardholder's language)."""

from __future__ import annotations

from typing import Literal

Language = Literal["en", "fr"]

WORDS: dict[str, dict[Language, str]] = {
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
    "unreadable": {"en": "UNREADABLE", "fr": "ILLISIBLE"},
    "total": {"en": "TOTAL", "fr": "TOTAL"},
    "total_unsure": {"en": "TOTAL (SEE TERMINAL)", "fr": "TOTAL (VOIR TERMINAL)"},
    "terminal": {"en": "TERMINAL", "fr": "TERMINAL"},
    "bank_terminal": {"en": "BANK TERMINAL", "fr": "TERMINAL BANCAIRE"},
    "invoice": {"en": "INVOICE", "fr": "FACTURE"},
    "sequence": {"en": "SEQUENCE", "fr": "SÉQUENCE"},
    "batch": {"en": "BATCH", "fr": "LOT"},
    "auth": {"en": "AUTH #", "fr": "NO AUTOR."},
    "APPROVED": {"en": "APPROVED", "fr": "APPROUVÉE"},
    "DECLINED": {"en": "DECLINED", "fr": "REFUSÉE"},
    "NOT_COMPLETED": {"en": "NOT COMPLETED", "fr": "NON COMPLÉTÉE"},
    "awaiting": {"en": "AWAITING CONFIRMATION", "fr": "EN ATTENTE DE CONFIRMATION"},
    "awaiting_note": {
        "en": "Approved by the terminal; {gateway} has not confirmed it yet",
        "fr": "Approuvée par le terminal; {gateway} ne l'a pas encore confirmée",
    },
    "pin": {"en": "VERIFIED BY PIN", "fr": "VÉRIFIÉ PAR NIP"},
    "no_signature": {"en": "NO SIGNATURE REQUIRED", "fr": "AUCUNE SIGNATURE REQUISE"},
    "cvm_failed": {"en": "CARDHOLDER VERIFICATION FAILED", "fr": "ÉCHEC DE LA VÉRIFICATION DU TITULAIRE"},
    "cvm_code": {"en": "CARDHOLDER VERIFICATION", "fr": "VÉRIFICATION DU TITULAIRE"},
    "signature": {"en": "SIGNATURE", "fr": "SIGNATURE"},
    "merchant": {"en": "MERCHANT COPY", "fr": "COPIE DU MARCHAND"},
    "customer": {"en": "CUSTOMER COPY", "fr": "COPIE DU CLIENT"},
    "retain": {
        "en": "IMPORTANT — retain this copy for your records",
        "fr": "IMPORTANT — conservez cette copie pour vos dossiers",
    },
    "order": {"en": "ORDER #", "fr": "NO DE COMMANDE"},
    "gateway_ref": {"en": "{gateway} REF", "fr": "RÉF. {gateway}"},
    "refund": {"en": "REFUND", "fr": "REMISE"},
    "refund_no": {"en": "REFUND #", "fr": "NO DE REMISE"},
    "CHIP": {"en": "CHIP", "fr": "INSÉRÉE"},
    "TAP": {"en": "TAP", "fr": "SANS CONTACT"},
    "SWIPE": {"en": "SWIPE", "fr": "GLISSÉE"},
    "MANUAL": {"en": "MANUAL", "fr": "MANUELLE"},
    "CHEQUING": {"en": "CHEQUING", "fr": "CHÈQUES"},
    "SAVINGS": {"en": "SAVINGS", "fr": "ÉPARGNE"},
}


def word(key: str, language: Language, **names: str) -> str:
    """The key's wording; ``{gateway}`` and other names in it are filled from ``names``."""
    text = WORDS[key][language]
    return text.format(**names) if names else text
