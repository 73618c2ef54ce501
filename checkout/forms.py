"""Validation of a payment request at a lane: what a cashier (or a store's script) may send."""

from __future__ import annotations

import uuid
from typing import Any

from django.utils.translation import gettext

from lanes.models import Store
from payments.models import REFERENCE_MAX
from payments.money import format_money


def _cents(value: Any, name: str, errors: dict[str, list[str]], *, required: bool) -> int | None:
    if value is None:
        if required:
            errors.setdefault(name, []).append(
                gettext("{name} is required (integer cents, e.g. 1250 for $12.50).").format(name=name))
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.setdefault(name, []).append(
            gettext("{name} must be an integer number of cents, not {value}.").format(name=name, value=repr(value)))
        return None
    return value


def _reference(value: Any, errors: dict[str, list[str]]) -> str:
    """The register's own reference: optional, printable text of at most REFERENCE_MAX characters, kept as sent."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        errors.setdefault("reference", []).append(gettext("reference must be text, not {value}.").format(value=repr(value)))
    elif len(value) > REFERENCE_MAX:
        errors.setdefault("reference", []).append(
            gettext("reference is at most {limit} characters, not {count}.").format(limit=REFERENCE_MAX, count=len(value)))
    elif not value.isprintable() or value != value.strip():
        errors.setdefault("reference", []).append(
            gettext("reference must be printable text without control characters or spaces at either end."))
    else:
        return value
    return ""


def clean_payment_request(data: Any, *, store: Store) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Returns (cleaned, errors); errors maps each field to its messages and is empty when valid."""
    errors: dict[str, list[str]] = {}
    if not isinstance(data, dict):
        return {}, {"body": [gettext('Send a JSON object such as {"amount": 1250, "tip": 0}.')]}
    amount = _cents(data.get("amount"), "amount", errors, required=True)
    tip = _cents(data.get("tip", 0), "tip", errors, required=False) or 0
    if amount is not None and amount <= 0:
        errors.setdefault("amount", []).append(gettext("amount must be more than 0 cents."))
    if tip < 0:
        errors.setdefault("tip", []).append(gettext("tip cannot be negative."))
    if tip > 0 and not store.tips_enabled:
        errors.setdefault("tip", []).append(gettext("tips are not enabled at this store."))
    if amount is not None and amount > 0 and tip >= 0 and amount + tip > store.max_amount:
        errors.setdefault("amount", []).append(
            gettext("amount plus tip is above this store's limit of {limit}.").format(
                limit=format_money(store.max_amount, store.merchant.currency))
        )
    sale_id = None
    if (raw_sale := data.get("sale_id")) not in (None, ""):
        try:
            sale_id = uuid.UUID(str(raw_sale))
        except ValueError:
            errors.setdefault("sale_id", []).append(gettext("sale_id must be a UUID from an earlier attempt."))
    for name in ("supervisor", "supervisor_password"):
        if data.get(name) is not None and not isinstance(data[name], str):
            errors.setdefault(name, []).append(gettext("{name} must be text.").format(name=name))
    reason = data.get("override_reason")
    if reason is not None and not isinstance(reason, str):
        errors.setdefault("override_reason", []).append(gettext("override_reason must be text."))
    reason = " ".join(reason.split())[:255] if isinstance(reason, str) else ""
    if reason and sale_id is None:
        errors.setdefault("override_reason", []).append(
            gettext("an override is for a sale_id that may not be charged again."))
    return {"amount": amount, "tip": tip, "sale_id": sale_id, "override_reason": reason,
            "reference": _reference(data.get("reference"), errors)}, errors
