"""What the console asks of a payment gateway, and what it gets back, in its own words.

A gateway charges a sale on a terminal, looks an order up, refunds, and tests its connection. Each provider
(a package under ``gateways/``) translates its wire protocol, codes and rules into these neutral values, and decides
by its own rules which of its answers can be trusted (say, an answer confirmed by a look-up). Nothing
here imports Django or the console's apps.

Errors are few: ``NotSent`` (nothing left: a bad request or configuration), ``NoAnswer`` (the outcome is not
known: it may have happened), ``Refused`` (the gateway said no, and nothing happened).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from gateways.cards import CardDetails, Verification
from gateways.exchange import Exchange

__all__ = [
    "CardDetails",
    "Charge",
    "ChargeOutcome",
    "Exchange",
    "GatewayError",
    "NoAnswer",
    "NotSent",
    "OrderState",
    "Outcome",
    "PaymentGateway",
    "RefundOutcome",
    "RefundRequest",
    "RefundResult",
    "Refused",
    "Sale",
    "Verification",
]


class Outcome(StrEnum):
    """Where an order stands at the gateway."""

    PAID = "paid"
    DECLINED = "declined"  # final and not paid: declined, cancelled, not completed
    IN_PROGRESS = "in_progress"  # created or the cardholder still acting: not final
    NOT_FOUND = "not_found"  # the gateway has no such order

    @property
    def final(self) -> bool:
        return self in (Outcome.PAID, Outcome.DECLINED)


@dataclass(frozen=True)
class OrderState:
    """An order as the gateway reports it. Money in cents (None when absent or unreadable)."""

    outcome: Outcome
    order_reference: str  # ours
    gateway_reference: str  # the gateway's
    amount: int | None = None
    tip: int | None = None
    currency: str = ""
    paid_at: datetime | None = None
    card: CardDetails | None = None
    text: str = ""  # the terminal's result text (approval or decline), cleaned
    refundable: int | None = None  # what is left to refund, when the gateway says so
    status: str = ""  # the gateway's own status for the record (never interpreted outside its package)
    verified: bool = False  # the gateway's signature proved this answer (a confirmed state always is)
    exchanges: tuple[Exchange, ...] = field(default=(), repr=False)  # the calls that told it


@dataclass(frozen=True)
class Sale:
    """A charge on a lane's terminal."""

    order_reference: str
    amount: int  # cents, the tip excluded
    tip: int
    currency: str
    terminal: str  # the device the gateway addresses
    operator: str  # the gateway's login for the terminal
    client_ip: str
    title: str  # short
    description: str
    timeout: float  # seconds the call may stay open while the cardholder acts


class ChargeOutcome(StrEnum):
    CONFIRMED = "confirmed"  # ``state`` is the gateway's confirmed state (maybe still in progress)
    REFUSED = "refused"  # refused, and confirmed that nothing was charged: ``reason``
    CONFLICT = "conflict"  # the gateway's answers contradict each other: a person must look (``reason``)
    NO_ANSWER = "no_answer"  # nothing can be trusted yet (``provisional`` may hold what was said)
    NOT_SENT = "not_sent"  # nothing left: ``reason``


@dataclass(frozen=True)
class Charge:
    """What charging a sale came to, once the gateway's own rules for trusting its answers were applied."""

    outcome: ChargeOutcome
    state: OrderState | None = None
    provisional: OrderState | None = None  # what an answer said that could not be confirmed (card data kept)
    reason: str = ""
    exchanges: tuple[Exchange, ...] = field(default=())


@dataclass(frozen=True)
class RefundRequest:
    refund_reference: str  # ours, unique
    gateway_reference: str  # the paid order's
    amount: int
    currency: str
    terminal: str
    operator: str
    client_ip: str


class RefundOutcome(StrEnum):
    REFUNDED = "refunded"
    REFUSED = "refused"  # a clear answer: nothing was refunded
    UNCLEAR = "unclear"  # an answer that does not say whether it was refunded: a person must look


@dataclass(frozen=True)
class RefundResult:
    outcome: RefundOutcome
    gateway_refund_reference: str = ""
    amount: int | None = None
    refundable_after: int | None = None
    card: CardDetails | None = None  # the refund's own terminal data, when the gateway sends it
    reason: str = ""  # why it is refused or unclear
    exchanges: tuple[Exchange, ...] = field(default=())


class GatewayError(Exception):
    """Base of the neutral errors; ``exchanges`` are the calls made, to keep in the payment's trail."""

    def __init__(self, message: str, *, exchanges: tuple[Exchange, ...] = ()) -> None:
        super().__init__(message)
        self.exchanges = exchanges


class NotSent(GatewayError):
    """Nothing reached the gateway (a request refused before sending, a bad address)."""


class NoAnswer(GatewayError):
    """No usable answer: the outcome is not known and may have happened. Never send a charge again for it."""

    def __init__(self, message: str, *, reason: str = "", exchanges: tuple[Exchange, ...] = ()) -> None:
        super().__init__(message, exchanges=exchanges)
        self.reason = reason


class Refused(GatewayError):
    """The gateway said no, clearly: nothing happened. ``code`` is its own error code."""

    def __init__(self, message: str, *, code: str = "", exchanges: tuple[Exchange, ...] = ()) -> None:
        super().__init__(message, exchanges=exchanges)
        self.code = code
        self.message = message


class PaymentGateway(Protocol):
    """A payment provider as the console uses it. Implementations are thread-safe and hold no database."""

    name: str  # shown to people, as staff know the gateway

    def charge(self, sale: Sale) -> Charge:
        """Charge ``sale`` on its terminal; blocks while the cardholder acts. Never raises."""
        ...

    def lookup(self, order_reference: str) -> OrderState:
        """Where the order stands (``NOT_FOUND`` included). Raises ``NoAnswer``, ``NotSent``."""
        ...

    def refund(self, request: RefundRequest) -> RefundResult:
        """Refund (part of) a paid order, once. Raises ``NoAnswer`` (never send it again), ``Refused``, ``NotSent``."""
        ...

    def test_connection(self) -> tuple[bool, str]:
        """Whether the credentials work, in a sentence for the person setting them up."""
        ...
