"""The card data of a CC_PAX order: ``payOrder.extra`` (a JSON string of the PAX terminal's fields, camelCase)
read into the neutral ``CardDetails``. The expiry date (``expireDate``) is never read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from gateways.cards import MONEY_FIELDS, CardDetails
from gateways.text import json_object, money, to_text

__all__ = ["card_from_extra"]

_RAW_FIELDS = frozenset({"cashback_raw", "surcharge_raw"})
_WIRE_NAMES = {"terminal_text": "receiptdisp"}  # where IOTPay's name is not the attribute's


def card_from_extra(extra: str | Mapping[str, Any] | None) -> CardDetails | None:
    """None when ``extra`` is missing, empty or not a JSON object; junk values become "" / None."""
    source = json_object(extra)
    if source is None:
        return None
    # The gateway's names are the attributes in camelCase (``emvAID``): match them case-blind.
    by_lower = {str(k).lower(): v for k, v in source.items()}
    values: dict[str, Any] = {}
    for f in fields(CardDetails):
        if f.name in _RAW_FIELDS:
            continue
        value = by_lower.get(_WIRE_NAMES.get(f.name, f.name.replace("_", "")))
        if f.name in MONEY_FIELDS:
            cents, raw = money(value)
            values[f.name] = cents
            values[f.name.replace("_amount", "_raw")] = raw
        else:
            values[f.name] = to_text(value)
    return CardDetails(**values)
