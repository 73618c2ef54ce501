"""Money is integer cents everywhere; this is the one place that writes it for people."""

from __future__ import annotations


def format_cents(cents: int) -> str:
    """1250 → "$12.50", 123456 → "$1,234.56", -5 → "-$0.05" (integer arithmetic only)."""
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(cents), 100)
    return f"{sign}${dollars:,}.{rest:02d}"
