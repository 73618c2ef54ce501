"""The console's own sentences kept in the database (events' causes, attempts' and refunds' messages), and
``said()``, which shows them in the reader's language.

They are stored in English, the source language, whoever's request wrote them: the row is a record, read
later by people of either language, and rows written before the console spoke French are English too. Each
sentence is a template here, marked with ``gettext_noop`` (in the payments catalog, translated when shown);
``said()`` recognises a stored text by its template and translates it, the parts filled in as well when they
are ours. Text that is not ours (the gateway's or the terminal's words, a person's reason) stays as written.
"""

from __future__ import annotations

import re
from functools import cache

from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from payments.money import format_money

# --- a payment's events
REQUESTED = gettext_noop("payment requested at the lane")
OVERRIDE = gettext_noop("second charge of the sale approved by {approver} ({code} by #{attempt}): {reason}")
RESOLVED = gettext_noop("resolved by {user}: {reason} (evidence: {evidence})")
TOO_OLD = gettext_noop("not sent: too old (its task did not run in time)")
SENT = gettext_noop("sent to the terminal through the gateway")
NOT_SENT_REFUSED = gettext_noop("not sent: request refused")
REFUSED_CONFIRMED = gettext_noop("the gateway refused the order, and a look-up confirms nothing was charged")
ANSWERS_DISAGREE = gettext_noop("the gateway's answers disagree on whether the card was charged")
STILL_IN_PROGRESS = gettext_noop("the gateway reports the order still in progress")
NO_CLEAR_ANSWER_YET = gettext_noop("no clear answer yet ({reason})")
ORDER_DIFFERS = gettext_noop("{source}: the gateway's order differs from ours ({problems})")
PAID = gettext_noop("{source}: paid")
NOT_PAID_STATUS = gettext_noop("{source}: not paid (gateway status {status})")
NOT_PAID = gettext_noop("{source}: not paid")
SOURCE_CONFIRMED = gettext_noop("the gateway's confirmed answer")
SOURCE_POLLING = gettext_noop("look-up while polling")
SOURCE_REQUERY = gettext_noop("re-query")
POLLING = gettext_noop("polling")
REQUERY_REVIEW = gettext_noop("re-query of an attempt needing review")
NO_SUCH_ORDER = gettext_noop("the gateway has no such order")
LOOKUPS_EXHAUSTED = gettext_noop("no final outcome from the gateway after {count} look-ups")
LOOKUP_NOT_RECORDED = gettext_noop("a look-up's answer could not be recorded ({error})")
THE_ANSWER = gettext_noop("the gateway's answer")
NOT_RECORDED_NO_ANSWER = gettext_noop("{what} could not be recorded ({error}): treated as no answer")
NOT_RECORDED_LOOKING = gettext_noop("{what} could not be recorded: looking the order up at the gateway")
CHARGE_TASK_LOST = gettext_noop("charge task lost (no answer recorded in time)")
CHARGE = gettext_noop("charge: {summary}")
CHARGE_CONFIRMED = gettext_noop("confirmed")
CHARGE_REFUSED = gettext_noop("refused, and confirmed nothing was charged")
CHARGE_DISAGREE = gettext_noop("answers disagree")
CHARGE_NO_ANSWER = gettext_noop("no usable answer")
CHARGE_NOT_SENT = gettext_noop("not sent")
# --- a refund's events
REFUND_REQUESTED = gettext_noop("refund of {amount} requested: {reason}")
REFUND_SENT = gettext_noop("refund sent to the gateway")
REFUND_NOT_RECORDED = gettext_noop("the refund's answer could not be recorded ({error})")
REFUND_NOT_RECORDED_REVIEW = gettext_noop("the refund's answer could not be recorded: needs review")
REFUNDED = gettext_noop("refund: {amount} refunded")
REFUND_CALL = gettext_noop("refund: {summary}")
REFUND_REFUSED = gettext_noop("the gateway refused the refund: {reason}")
REFUND_NO_ANSWER = gettext_noop("no clear answer to the refund ({reason}): needs review, never re-sent")
REFUND_NOT_SENT = gettext_noop("refund not sent")
REFUND_NOT_DONE = gettext_noop("the gateway did not refund it ({reason})")
REFUND_UNCLEAR = gettext_noop("the gateway's refund answer is not clear ({problems})")
REFUND_AMOUNT_DIFFERS = gettext_noop("amount {amount} instead of {asked}")
# What in the gateway's order differs from ours: the items of a list ({problems}, {differences}), ", " between.
DIFF_REFERENCE = gettext_noop("order reference {reference}")
DIFF_NO_AMOUNT = gettext_noop("no amount")
DIFF_AMOUNT = REFUND_AMOUNT_DIFFERS
DIFF_TIP = gettext_noop("tip {amount} instead of {asked}")
DIFF_CURRENCY = gettext_noop("currency {currency}")
NO_CLEAR_REFUND = gettext_noop("no clear refund")
REFUND_CHECK_NO_ORDER = gettext_noop("refund check: no such order")
REFUND_CHECK_BY = gettext_noop("refund check by {user}: look-up of the payment")
REFUND_CHECK = gettext_noop("refund check: {finding}")
SETTLED = gettext_noop("settled by {user} as {outcome}: {reason}")
AS_REFUNDED = gettext_noop("refunded")
AS_NOT_REFUNDED = gettext_noop("not refunded")
REFUND_TASK_LOST = gettext_noop("refund task lost (no answer recorded in time): needs review, never re-sent")
# --- the reconciliation's events
VERIFY_DAY = gettext_noop("verify the day")
REQUERY_BY = gettext_noop("re-query from the reconciliation dashboard by {user}")
EXCEPTION_CLOSED = gettext_noop("exception closed: {kind}: {reason}")
# --- what a gateway call was (its endpoint and how it was classed), after the summary of its step
CALL = gettext_noop("{summary} ({call})")
STEP = gettext_noop("{step}: {found}")

# --- messages (a payment's or a refund's, shown with its status)
MSG_TOO_OLD = gettext_noop("Not sent, too old: the payment waited too long to reach the terminal. Nothing was charged.")
MSG_DISAGREE = gettext_noop("{name}'s two answers disagree on whether the card was charged: check {name}'s portal and "
                            "the terminal before doing anything else.")
MSG_DIFFERS = gettext_noop("{name}'s record differs from this sale: {problems}")
MSG_UNCONFIRMED = gettext_noop("The terminal approved this payment but {name} has not confirmed it. Do not charge again: "
                               "check {name}'s portal, then close it by hand.")
MSG_NO_OUTCOME = gettext_noop("{name} gave no final outcome in time. Check the terminal's own record before charging "
                              "again.")
MSG_CLOSED = gettext_noop("Closed by hand: {reason}")
MSG_REFUND_REVIEW = gettext_noop("No clear answer from {name}: the refund may have gone through. It is not sent again; "
                                 "check it ({name}'s portal, or Check with {name} here), then settle it.")
MSG_REFUND_TOO_OLD = gettext_noop("Not sent, too old: nothing was refunded. Ask for the refund again.")
MSG_REFUND_NOT_DONE = gettext_noop("{name} did not refund it ({reason}).")
MSG_REFUND_UNCLEAR = gettext_noop("{name}'s answer is not a clear refund: {problems}. Check it, then settle it.")
MSG_SETTLED = gettext_noop("Settled by hand as {outcome}: {reason}")
# --- what a refund check found (shown to the person, and kept in the check's note)
FOUND_UNSAID = gettext_noop("{name}'s answer does not say what is left to refund: check the refund in {name}'s portal.")
FOUND_OTHERS = gettext_noop("{name} says {left} is left to refund; another refund of this payment also needs review, so "
                            "settle them one at a time with {name}'s portal.")
FOUND_DONE = gettext_noop("{name} says {left} is left to refund: this refund went through. Settle it as refunded.")
FOUND_NOT_DONE = gettext_noop("{name} says {left} is left to refund: this refund did not go through. Settle it as not "
                              "refunded.")
FOUND_NEITHER = gettext_noop("{name} says {left} is left to refund, which matches neither case: check {name}'s portal.")

# Tried in this order: a template whose fixed words say more comes before one they would also match. The generic
# ones, last, are ours only when their first part is (a step, a summary): "card: declined" is the gateway's.
_GENERIC = (CALL, STEP)
TEMPLATES: tuple[str, ...] = tuple(
    value for name, value in list(globals().items())
    if name.isupper() and isinstance(value, str) and value not in _GENERIC
)

# The parts of a sentence that are themselves our sentences (a step, an outcome...); the others are data (a
# person's reason, the gateway's error, a name, an amount) and stay as written.
_OURS = frozenset({"source", "summary", "step", "found", "what", "outcome", "finding", "gateway", "applied"})
# Lists of our sentences, ", " between (order_differences), each item said on its own.
_LISTS = frozenset({"problems", "differences"})
# Amounts, written in English when stored ("$12.50", stored_money): written again in the reader's language.
_AMOUNTS = frozenset({"amount", "asked", "left"})
_STORED_CAD = re.compile(r"(?P<sign>-?)\$(?P<dollars>\d{1,3}(?:,\d{3})*)\.(?P<cents>\d{2})")


def stored_money(cents: int, currency: str) -> str:
    """An amount as it is written into a stored sentence: in the source language, whoever asked."""
    with translation.override("en"):
        return format_money(cents, currency)


@cache
def _pattern(template: str) -> re.Pattern[str]:
    regex, seen = [], set()
    for i, part in enumerate(re.split(r"\{(\w+)\}", template)):
        if i % 2 == 0:
            regex.append(re.escape(part))
        else:
            regex.append(f"(?P={part})" if part in seen else f"(?P<{part}>.*?)")
            seen.add(part)
    return re.compile("".join(regex), re.DOTALL)


def said(text: str, extra: tuple[str, ...] = ()) -> str:
    """A stored sentence in the active language: ours translated (its parts too, when they are ours), anything
    else as stored. ``extra``: another app's stored sentences (the back office's findings)."""
    found = _recognised(text, extra)
    if found is None:
        return text
    template, match = found
    return gettext(template).format(**{name: _part(name, value, extra) for name, value in match.groupdict().items()})


def _part(name: str, value: str, extra: tuple[str, ...]) -> str:
    if name in _OURS:
        return said(value, extra)
    if name in _LISTS:
        return ", ".join(said(item, extra) for item in value.split(", "))
    if name in _AMOUNTS and (money := _STORED_CAD.fullmatch(value)) is not None:
        cents = int(money["dollars"].replace(",", "")) * 100 + int(money["cents"])
        return format_money(-cents if money["sign"] else cents, "CAD")
    return value


def _recognised(text: str, extra: tuple[str, ...]) -> tuple[str, re.Match[str]] | None:
    if not text:
        return None
    for template in (*TEMPLATES, *extra):
        if (match := _pattern(template).fullmatch(text)) is not None:
            return template, match
    for template in _GENERIC:
        if (match := _pattern(template).fullmatch(text)) is not None and _recognised(match.group(1), extra):
            return template, match
    return None
