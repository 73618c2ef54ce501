"""Money, dates and times for people (payments/formats.py) in English and Canadian French, with CLDR's own
characters: NBSP = U+00A0 (no-break space), NNBSP = U+202F (narrow no-break space)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import translation

from payments.formats import clock, day, moment, money, wall_clock
from payments.money import format_money

NBSP, NNBSP = "\u00a0", "\u202f"
TORONTO = ZoneInfo("America/Toronto")


@pytest.mark.parametrize(("cents", "en", "fr"), [
    (1250, "$12.50", f"12,50{NBSP}$"),
    (0, "$0.00", f"0,00{NBSP}$"),
    (5, "$0.05", f"0,05{NBSP}$"),
    (-1250, "-$12.50", f"-12,50{NBSP}$"),
    (-1, "-$0.01", f"-0,01{NBSP}$"),
    (123_456_789, "$1,234,567.89", f"1{NBSP}234{NBSP}567,89{NBSP}$"),
    # Past a float's exact integers (2**53): still every digit, because no float is involved.
    (123_456_789_012_345_678, "$1,234,567,890,123,456.78",
     f"1{NBSP}234{NBSP}567{NBSP}890{NBSP}123{NBSP}456,78{NBSP}$"),
])
def test_money_in_both_languages(cents, en, fr):
    assert money(cents, "CAD", "en") == en
    assert money(cents, "CAD", "fr") == fr


def test_money_of_other_currencies_says_which():
    assert money(1250, "USD", "en") == "US$12.50"
    assert money(1250, "USD", "fr") == f"12,50{NBSP}${NBSP}US"
    assert money(1250, "JPY", "en") == "JP¥1,250"  # no minor unit: cents are yen


def test_money_refuses_what_is_not_integer_cents():
    for wrong in (12.5, Decimal("12.50"), "1250", True):
        with pytest.raises(TypeError):
            money(wrong, "CAD", "en")


def test_money_follows_the_active_language_and_a_regional_variant_counts_as_its_language():
    with translation.override("fr"):
        assert money(1250) == f"12,50{NBSP}$"
        assert format_money(1250, "CAD") == f"12,50{NBSP}$"
        assert format_money(1250, "CAD", "en") == "$12.50"  # an explicit language wins (receipts)
    with translation.override("en"):
        assert format_money(1250, "CAD") == "$12.50"
    assert money(1250, "CAD", "fr-ca") == money(1250, "CAD", "fr_CA") == f"12,50{NBSP}$"
    assert money(1250, "CAD", "de") == "$12.50"  # a language the console does not speak: English


def test_date_and_time_in_both_languages():
    at = datetime(2026, 11, 27, 14, 5, tzinfo=TORONTO)
    assert moment(at, "fr") == "27 novembre 2026, 14 h 05"
    assert moment(at, "en") == f"November 27, 2026, 2:05{NNBSP}PM"
    assert day(at, "fr") == "27 novembre 2026" and day(at, "en") == "November 27, 2026"
    assert day(date(2026, 1, 1), "fr") == "1 janvier 2026"
    assert clock(at, "fr") == "14 h 05" and clock(at, "en") == f"2:05{NNBSP}PM"


@pytest.mark.parametrize(("hour", "en", "fr"), [
    (0, f"12:00{NNBSP}AM", "0 h 00"),  # midnight
    (12, f"12:00{NNBSP}PM", "12 h 00"),  # noon
    (9, f"9:00{NNBSP}AM", "9 h 00"),  # no leading zero in either language
])
def test_midnight_noon_and_morning(hour, en, fr):
    at = datetime(2026, 11, 27, hour, 0, tzinfo=TORONTO)
    assert clock(at, "en") == en
    assert clock(at, "fr") == fr


def test_an_aware_time_is_shown_in_the_store_time_zone_across_daylight_saving():
    # 8 March 2026, 02:00 EST becomes 03:00 EDT in Toronto: 06:59 UTC is 1:59, 07:00 UTC is 3:00.
    before = datetime(2026, 3, 8, 6, 59, tzinfo=UTC)
    after = before + timedelta(minutes=1)
    assert moment(before, "fr", zone="America/Toronto") == "8 mars 2026, 1 h 59"
    assert moment(after, "fr", zone="America/Toronto") == "8 mars 2026, 3 h 00"
    assert moment(after, "en", zone=TORONTO) == f"March 8, 2026, 3:00{NNBSP}AM"
    # Without a zone: the active one, settings.TIME_ZONE (America/Toronto in the tests' settings).
    assert moment(after, "en") == f"March 8, 2026, 3:00{NNBSP}AM"
    # The day changes with the zone too: 03:30 UTC on the 28th is still the 27th in Toronto.
    assert day(datetime(2026, 11, 28, 3, 30, tzinfo=UTC), "en") == "November 27, 2026"


def test_a_naive_datetime_is_a_programming_error():
    with pytest.raises(ValueError, match="naive"):
        moment(datetime(2026, 11, 27, 14, 5), "en")
    with pytest.raises(ValueError, match="naive"):
        clock(datetime(2026, 11, 27, 14, 5), "fr")


def test_template_filters_follow_the_active_language():
    template = Template("{% load formats %}{{ cents|money:'CAD' }} | {{ at|moment }} | {{ none|money }}|")
    context = {"cents": -123456, "at": datetime(2026, 11, 27, 19, 5, tzinfo=UTC), "none": None}
    with translation.override("fr"):
        assert template.render(Context(context)) == f"-1{NBSP}234,56{NBSP}$ | 27 novembre 2026, 14 h 05 | |"
    with translation.override("en"):
        assert template.render(Context(context)) == f"-$1,234.56 | November 27, 2026, 2:05{NNBSP}PM | |"


def test_date_and_time_filters_alone_and_in_a_given_time_zone():
    template = Template("{% load formats %}{{ at|day }} | {{ at|clock }} | {{ at|moment:'America/Vancouver' }}")
    at = datetime(2026, 11, 28, 3, 30, tzinfo=UTC)  # the 27th in Toronto and in Vancouver
    with translation.override("fr"):
        assert template.render(Context({"at": at})) == "27 novembre 2026 | 22 h 30 | 27 novembre 2026, 19 h 30"
    with translation.override("en"):
        assert template.render(Context({"at": at})) == (
            f"November 27, 2026 | 10:30{NNBSP}PM | November 27, 2026, 7:30{NNBSP}PM")


def test_the_walls_compact_clock_is_24_hour_with_the_date_only_on_another_day():
    at = datetime(2026, 11, 27, 19, 5, tzinfo=UTC)  # 14:05 in Toronto
    toronto = "America/Toronto"
    assert wall_clock(at, date(2026, 11, 27), "en", zone=toronto) == "14:05"
    assert wall_clock(at, date(2026, 11, 27), "fr", zone=toronto) == "14 h 05"
    assert wall_clock(at, date(2026, 11, 28), "en", zone=toronto) == "Nov 27, 14:05"
    assert wall_clock(at, date(2026, 11, 28), "fr", zone=toronto) == "27 nov., 14 h 05"
    assert wall_clock(datetime(2026, 11, 27, 5, 0, tzinfo=UTC), date(2026, 11, 27), "fr", zone=toronto) == "0 h 00"
