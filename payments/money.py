"""Money is integer cents everywhere; this is the one name the console writes it for people by.

``format_money`` follows the active language (pages, messages); a receipt passes its own (``language``) so that
the page it is opened from never changes its figures. The formatting itself is ``payments.formats.money``
(CLDR's data through Babel).
"""

from __future__ import annotations

from payments.formats import money


def format_money(cents: int, currency: str = "CAD", language: str | None = None) -> str:
    """1250 -> "$12.50" (English) or "12,50 $" (French); 123456 -> "$1,234.56". Integer cents, no float."""
    return money(cents, currency, language)
