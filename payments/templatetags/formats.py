"""``{% load formats %}``: ``{{ cents|money:currency }}`` and ``{{ when|moment }}`` (``{{ when|instant }}`` to the second) in the page's language, and
the date or the time alone (``{{ when|day }}``, ``{{ when|clock }}``).

The date and time filters take an optional time zone (``{{ when|moment:store.time_zone }}``); without one, the
active time zone (``settings.TIME_ZONE``). Empty values (None, "") print nothing rather than failing the page.
"""

from __future__ import annotations

from datetime import date, datetime

from django import template

from payments import formats

register = template.Library()


@register.filter
def money(cents: int | str | None, currency: str = "CAD") -> str:
    if cents is None or cents == "":
        return ""
    return formats.money(int(cents), currency or "CAD")


@register.filter
def moment(value: datetime | None, zone: str = "") -> str:
    if not value:
        return ""
    return formats.moment(value, zone=zone or None)


@register.filter
def instant(value: datetime | None, zone: str = "") -> str:
    """A moment to the second (a payment's facts): ``"4 décembre 2026, 15 h 57 min 55 s"``."""
    if not value:
        return ""
    return formats.moment(value, zone=zone or None, seconds=True)


@register.filter
def day(value: date | None, zone: str = "") -> str:
    if not value:
        return ""
    return formats.day(value, zone=zone or None)


@register.filter
def clock(value: datetime | None, zone: str = "") -> str:
    if not value:
        return ""
    return formats.clock(value, zone=zone or None)
