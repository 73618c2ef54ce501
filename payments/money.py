"""Money is integer cents everywhere; this is the one place that writes it for people."""

from __future__ import annotations

_SYMBOLS = {"CAD": "$", "USD": "$", "AUD": "$", "NZD": "$"}


def format_money(cents: int, currency: str = "CAD") -> str:
    """1250 -> "$12.50"; 123456 -> "$1,234.56"; other currencies as "12.50 EUR". Integer arithmetic only."""
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(int(cents)), 100)
    number = f"{dollars:,}.{rest:02d}"
    code = (currency or "").upper()
    symbol = _SYMBOLS.get(code)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {code}".rstrip()
