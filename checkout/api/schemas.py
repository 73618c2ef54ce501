"""The API's bodies and answers as OpenAPI documents them (``/api/schema/``), with examples.

The routes answer with ``payments.contract``'s snapshots as they always have; these models describe them
(``tests/app/test_api_schema_models.py`` keeps the two in step) and Schemathesis checks every answer against them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from ninja import Schema
from pydantic import ConfigDict, Field

from payments.contract import FIRST_NAMES
from payments.models import REFERENCE_MAX

Status = Literal["CREATED", "SENT", "APPROVED", "DECLINED", "FAILED", "UNKNOWN", "NEEDS_REVIEW"]


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)}, populate_by_name=True)


def _with_first_names(example: dict[str, Any]) -> dict[str, Any]:
    """The example with the first names beside the neutral keys, as the API answers."""
    return {**example, **{FIRST_NAMES[key]: value for key, value in example.items() if key in FIRST_NAMES}}


def _first_name(neutral: str) -> Any:
    return Field(alias=FIRST_NAMES[neutral], description=f"The same as {neutral}, under its first name (kept for "
                                                         "older scripts).")


ATTEMPT_EXAMPLE: dict[str, Any] = _with_first_names({
    "id": 4182, "lane": "L03", "sale_id": "6f1c2d9e-8a41-4b7e-9c55-0d3f7a1e2b64",
    "order_reference": "SC261204170127123A1B2C3D4E5",
    "status": "APPROVED", "amount": 1250, "tip": 0, "total": 1250, "currency": "CAD", "card_brand": "VISA CREDIT",
    "card_last4": "4242", "entry_method": "TAP", "auth_num": "083415", "terminal_text": "APPROVED - THANK YOU",
    "message": "", "poll_count": 0, "gateway_reference": "P20261204170128",
    "created_at": "2026-12-04T12:01:27.123456-05:00",
    "sent_at": "2026-12-04T12:01:27.301000-05:00", "answered_at": "2026-12-04T12:01:41.874000-05:00",
    "finalized_at": "2026-12-04T12:01:42.010000-05:00", "poll_deadline": None,
    "updated_at": "2026-12-04T12:01:42.010000-05:00", "terminal_outcome": "", "receipt_available": True,
    "reference": "POS-7-000123",
})


class Attempt(Schema):
    """A payment attempt: one charge sent to a lane's terminal. Money in integer cents; times ISO-8601 with
    their offset. Three keys repeat ``order_reference``, ``gateway_reference`` and ``terminal_text`` under their
    first names (kept for older scripts)."""

    model_config = _examples(ATTEMPT_EXAMPLE)

    id: int
    lane: str = Field(description="The lane's code.")
    sale_id: str = Field(description="Groups the attempts of one sale (a UUID): send it again to retry a sale.")
    order_reference: str = Field(description="The console's reference of the order at the gateway.")
    order_reference_first: str = _first_name("order_reference")
    status: Status
    amount: int = Field(description="Sale amount in cents, tip excluded.")
    tip: int
    total: int
    currency: str
    card_brand: str
    card_last4: str
    entry_method: Literal["", "CHIP", "TAP", "SWIPE", "MANUAL"]
    auth_num: str
    terminal_text: str = Field(description="The terminal's approval or decline text.")
    terminal_text_first: str = _first_name("terminal_text")
    message: str = Field(description="Why it failed or needs review.")
    poll_count: int
    gateway_reference: str
    gateway_reference_first: str = _first_name("gateway_reference")
    created_at: datetime
    sent_at: datetime | None
    answered_at: datetime | None
    finalized_at: datetime | None
    poll_deadline: datetime | None
    updated_at: datetime
    terminal_outcome: str = Field(description="APPROVED or DECLINED as the terminal said while the gateway has "
                                              "not confirmed it; else empty.")
    receipt_available: bool
    reference: str = Field(description="The register's own reference of the sale, as it sent it (or empty).")


REFUND_EXAMPLE: dict[str, Any] = _with_first_names({
    "id": 77, "attempt": 4182, "refund_reference": "RF261204171502044F0E1D2C3B4",
    "status": "APPROVED", "amount": 500, "currency": "CAD",
    "reason": "item returned", "message": "", "gateway_refund_reference": "R20261204171503",
    "refundable_after": 750,
    "created_at": "2026-12-04T12:15:02.044000-05:00", "finalized_at": "2026-12-04T12:15:04.120000-05:00",
})


class RefundOut(Schema):
    """A refund of (part of) an approved payment. Two keys repeat ``refund_reference`` and
    ``gateway_refund_reference`` under their first names (kept for older scripts)."""

    model_config = _examples(REFUND_EXAMPLE)

    id: int
    attempt: int
    refund_reference: str
    refund_reference_first: str = _first_name("refund_reference")
    status: Status
    amount: int
    currency: str
    reason: str
    message: str
    gateway_refund_reference: str
    gateway_refund_reference_first: str = _first_name("gateway_refund_reference")
    refundable_after: int | None
    created_at: datetime
    finalized_at: datetime | None


class Error(Schema):
    """Every refusal: a message for people, a ``code`` for programs, and per-field messages when fields are
    at fault. docs/api.md lists the codes."""

    model_config = _examples(
        {"error": "The payment was not sent: check the amount.", "code": "invalid_request",
         "errors": {"amount": ["amount must be more than 0 cents."]}},
        {"error": "This API key lacks the refunds:write scope.", "code": "insufficient_scope"},
    )

    error: str
    code: str
    errors: dict[str, list[str]] | None = None


class PaymentConflict(Error):
    """409 on a payment: the terminal is busy (``attempt`` is the one in flight), the sale is paid or may be
    (``attempt`` is that payment; ``overridable``: a supervisor may approve a second charge), or there is
    nothing to ask the gateway again."""

    model_config = _examples(
        {"error": "Terminal busy: a payment is already in progress on this lane.", "code": "terminal_busy",
         "attempt": _with_first_names({**ATTEMPT_EXAMPLE, "status": "SENT", "card_brand": "", "card_last4": "",
                                       "entry_method": "", "auth_num": "", "terminal_text": "", "gateway_reference": "",
                                       "answered_at": None, "finalized_at": None, "receipt_available": False})},
        {"error": "This sale is already paid (payment #4182): it is not charged again.",
         "code": "sale_already_paid", "attempt": ATTEMPT_EXAMPLE, "overridable": True},
    )

    attempt: Attempt | None = None
    overridable: bool | None = None


class RefundConflict(Error):
    """409 on a refund: another is in flight (``refund``), or the payment cannot be refunded."""

    model_config = _examples({"error": "A refund of this payment is already in progress: wait for its outcome.",
                              "code": "refund_in_progress", "refund": {**REFUND_EXAMPLE, "status": "SENT",
                                                                       "finalized_at": None}})

    refund: RefundOut | None = None


class PaymentIn(Schema):
    """A charge at a lane. Only ``amount`` is required."""

    model_config = _examples({"amount": 1250, "tip": 0, "reference": "POS-7-000123"},
                             {"amount": 1250, "sale_id": "6f1c2d9e-8a41-4b7e-9c55-0d3f7a1e2b64",
                              "override_reason": "customer paid again by mistake? no: first charge was voided",
                              "supervisor": "maria", "supervisor_password": "********"})

    amount: int = Field(ge=1, description="Sale amount in cents, tip excluded; with the tip at most the store's "
                                          "limit.")
    tip: int | None = Field(0, ge=0, description="Tip in cents, where the store takes tips (null: none).")
    sale_id: UUID | Literal[""] | None = Field(None, description="The sale_id of an earlier attempt, to retry that sale: a sale "
                                                  "that is paid, or may be, is refused (409).")
    reference: str | None = Field(None, max_length=REFERENCE_MAX,
                                  description="The register's own reference of the sale (printable text, at most "
                                              f"{REFERENCE_MAX} characters); echoed and searchable.")
    override_reason: str | None = Field(None, description="Why a blocked sale (sale_id) is charged again.")
    supervisor: str | None = Field(None, description="A supervisor's user name approving the override.")
    supervisor_password: str | None = None


class RefundIn(Schema):
    model_config = _examples({"amount": 500, "reason": "item returned"})

    amount: int = Field(ge=1, description="Cents to refund, at most what is left to refund.")
    reason: str = Field(min_length=1, max_length=255)


class PaymentPage(Schema):
    """One page of a search, newest first."""

    model_config = _examples({"items": [ATTEMPT_EXAMPLE], "count": 1, "page": 1, "page_size": 50, "pages": 1})

    items: list[Attempt]
    count: int = Field(description="How many payments match, on all pages.")
    page: int
    page_size: int
    pages: int


class LaneStore(Schema):
    id: int
    name: str


class LaneTerminal(Schema):
    device: str
    enabled: bool


LANE_EXAMPLE: dict[str, Any] = {"code": "L03", "name": "Lane 3", "store": {"id": 2, "name": "Granville Island"},
                                "terminal": {"device": "PAX-A920-0003", "enabled": True}, "state": "idle",
                                "attempt": None}


class LaneState(Schema):
    """A lane the caller may use, its terminal, and whether a payment is in flight on it (``attempt``)."""

    model_config = _examples(LANE_EXAMPLE)

    code: str
    name: str
    store: LaneStore
    terminal: LaneTerminal | None
    state: Literal["idle", "busy"]
    attempt: Attempt | None = Field(description="The payment in flight on the lane (busy), else null.")


class LaneList(Schema):
    model_config = _examples({"items": [LANE_EXAMPLE, {**LANE_EXAMPLE, "code": "L04", "name": "Lane 4",
                                                       "state": "busy", "attempt": {**ATTEMPT_EXAMPLE, "status": "SENT"}}],
                              "count": 2})

    items: list[LaneState]
    count: int
