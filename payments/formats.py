"""Money, dates and times for people, in English or Canadian French, from CLDR's data (Babel).

One place writes them: pages, receipts and messages call these functions (``payments.money.format_money`` is
``money``), and the templates' ``money`` and ``moment`` filters (``payments/templatetags/formats.py``) too.
Machine formats (the API, the websocket, the CSV) never pass through here: ISO 8601 and integer cents.

The characters are CLDR's, unchanged: French puts a no-break space (U+00A0) before "$" and, in fr-CA, between
groups of digits too (fr-FR uses a narrow no-break space, U+202F, there); English puts a narrow no-break space
(U+202F) between the time and "AM"/"PM". Compare with those characters, never with plain spaces.

Language is "en" or "fr" (a regional variant such as "fr-ca" counts as its language); None means Django's
active language, which the language middleware chose for the request.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import NumberPattern, get_currency_precision
from django.utils import timezone, translation

# Numbers and money: Canada's CLDR locales ("$" is the Canadian dollar, "US$" the American one).
_MONEY_LOCALES = {"en": "en_CA", "fr": "fr_CA"}
# Dates and times: CLDR's fr-CA, and plain "en" for English (en-CA writes "p.m."; the console writes "PM").
_DATE_LOCALES = {"en": "en", "fr": "fr_CA"}


def _language(language: str | None) -> str:
    code = (language or translation.get_language() or "en").lower()
    base = code.replace("_", "-").split("-")[0]
    return base if base in _MONEY_LOCALES else "en"


def money(cents: int, currency: str = "CAD", language: str | None = None) -> str:
    """Integer minor units (cents) as people read them: ``1250`` -> ``"12,50 $"`` (fr) or ``"$12.50"`` (en).

    Negative amounts take CLDR's standard form, a leading minus (``"-12,50 $"``, ``"-$12.50"``), not the
    accounting brackets: a refund or a negative net must not read like a note. The amount is made exact with
    ``Decimal.scaleb``: no float touches it, however large.
    """
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TypeError(f"money takes integer cents, not {type(cents).__name__}")
    return _money(cents, (currency or "CAD").upper(), _language(language))


@functools.lru_cache(maxsize=4096)
def _money(cents: int, code: str, language: str) -> str:
    """``money`` once its arguments are settled: the same amount in the same currency and language is written the
    same way every time, so a page's repeated amounts (a dashboard writes some 130) are written once per process
    (about 10 µs each otherwise)."""
    amount = Decimal(cents).scaleb(-get_currency_precision(code))
    locale, pattern = _currency_format(_MONEY_LOCALES[language])
    return str(pattern.apply(amount, locale, currency=code))


@functools.cache
def _currency_format(name: str) -> tuple[Locale, NumberPattern]:
    """What ``babel.numbers.format_currency`` looks up on every call (the locale, its standard currency pattern),
    looked up once: a page of a few hundred amounts spends half as long writing them."""
    locale = Locale.parse(name)
    return locale, locale.currency_formats["standard"]


def _local(value: datetime, zone: str | tzinfo | None) -> datetime:
    if timezone.is_naive(value):
        raise ValueError("a naive datetime has no place on a page: pass an aware one (timezone.now(), the ORM's)")
    where = ZoneInfo(zone) if isinstance(zone, str) else (zone or timezone.get_current_timezone())
    return value.astimezone(where)


def _time_pattern(locale: Locale, *, seconds: bool = False) -> str:
    """CLDR's short time (medium, with the seconds, when asked); French hours without a leading zero ("9 h 05",
    "0 h 00") as Quebec writes them (the Office québécois de la langue française), where CLDR's fr-CA pattern
    has "HH"."""
    pattern = str(locale.time_formats["medium" if seconds else "short"].pattern)
    return pattern.replace("HH", "H") if locale.language == "fr" else pattern


def day(value: date | datetime, language: str | None = None, *, zone: str | tzinfo | None = None) -> str:
    """``"27 novembre 2026"`` / ``"November 27, 2026"``; an aware datetime is first put in the time zone."""
    if isinstance(value, datetime):
        value = _local(value, zone).date()
    return format_date(value, "long", locale=_DATE_LOCALES[_language(language)])


def clock(value: datetime, language: str | None = None, *, zone: str | tzinfo | None = None,
          seconds: bool = False) -> str:
    """``"14 h 05"`` / ``"2:05 PM"`` in the time zone (default: the active one, ``settings.TIME_ZONE``); with
    ``seconds``, ``"14 h 05 min 09 s"`` / ``"2:05:09 PM"``."""
    locale = Locale.parse(_DATE_LOCALES[_language(language)])
    return format_time(_local(value, zone), _time_pattern(locale, seconds=seconds), locale=locale)


def moment(value: datetime, language: str | None = None, *, zone: str | tzinfo | None = None,
           seconds: bool = False) -> str:
    """``"27 novembre 2026, 14 h 05"`` / ``"November 27, 2026, 2:05 PM"``: the long date and the short time
    joined by CLDR's own pattern. A naive datetime raises ValueError: it is a programming error."""
    local = _local(value, zone)
    locale = Locale.parse(_DATE_LOCALES[_language(language)])
    glue = str(locale.datetime_formats["medium"])
    return glue.replace("{1}", day(local, language, zone=local.tzinfo)).replace(
        "{0}", clock(local, language, zone=local.tzinfo, seconds=seconds))


def wall_clock(value: datetime, on_day: date, language: str | None = None, *,
               zone: str | tzinfo | None = None) -> str:
    """A tile's compact time on a 24-hour clock, with the date only when it is not ``on_day``: ``"14:05"`` /
    ``"14 h 05"``, ``"Nov 27, 14:05"`` / ``"27 nov., 14 h 05"``, as the lanes wall's script writes it."""
    local = _local(value, zone)
    lang = _language(language)
    locale = Locale.parse(_DATE_LOCALES[lang])
    time = format_time(local, "H 'h' mm" if lang == "fr" else "HH:mm", locale=locale)
    if local.date() == on_day:
        return time
    return f"{format_date(local.date(), 'd MMM' if lang == 'fr' else 'MMM d', locale=locale)}, {time}"
