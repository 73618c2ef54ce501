"""Merchants, payment attempts and their append-only event history.

State changes happen only in `payments.services`; nothing here changes an attempt's status.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from payments import crypto, logcontext


class Merchant(models.Model):
    """A merchant account at a payment gateway: its identifier there, its signing key (encrypted), its login."""

    class Gateway(models.TextChoices):
        IOTPAY = "iotpay", "IOTPay"

    name = models.CharField(max_length=100)
    gateway = models.CharField(max_length=20, choices=Gateway.choices, default=Gateway.IOTPAY)
    gateway_account = models.CharField(
        _("merchant id at the gateway"), max_length=30, unique=True,
        help_text=_("The id the gateway gave this merchant account."),
    )
    key_ciphertext = models.TextField(editable=False)
    gateway_login = models.CharField(
        _("gateway login"), max_length=50,
        help_text=_("The merchant's login at the gateway (the operator sent with each sale)."),
    )
    currency = models.CharField(max_length=3, default="CAD")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")

    def __str__(self) -> str:
        return f"{self.name} ({self.gateway_account})"

    @property
    def gateway_name(self) -> str:
        """The gateway's name as staff know it (its portal, its support): "IOTPay"."""
        return self.get_gateway_display()

    def set_key(self, plaintext: str) -> None:
        self.key_ciphertext = crypto.encrypt(plaintext)

    def get_key(self) -> str:
        return crypto.decrypt(self.key_ciphertext)

    def key_matches(self, plaintext: str) -> bool:
        return bool(self.key_ciphertext) and crypto.decrypt(self.key_ciphertext) == plaintext


class AttemptStatus(models.TextChoices):
    """The values are the API's and the websocket's, never translated; the labels are for people."""

    CREATED = "CREATED", _("Created")
    SENT = "SENT", _("Sent")
    APPROVED = "APPROVED", _("Approved")
    DECLINED = "DECLINED", _("Declined")
    FAILED = "FAILED", _("Failed")
    UNKNOWN = "UNKNOWN", _("Checking the outcome")
    NEEDS_REVIEW = "NEEDS_REVIEW", _("Needs review")


REFERENCE_MAX = 64  # characters of a register's own reference (``PaymentAttempt.reference``)
IN_FLIGHT_STATUSES = (AttemptStatus.CREATED, AttemptStatus.SENT, AttemptStatus.UNKNOWN)
FINAL_STATUSES = (AttemptStatus.APPROVED, AttemptStatus.DECLINED, AttemptStatus.FAILED)


class PaymentAttempt(models.Model):
    """One charge sent to the terminal: a cashier's retry after a decline is a new attempt of the same sale."""

    Status = AttemptStatus

    order_reference = models.CharField(
        max_length=30, unique=True, help_text=_("Our reference of the order, sent to the gateway.")
    )
    sale_id = models.UUIDField(db_index=True, help_text=_("Groups the attempts of one sale."))
    # No index of their own (db_index=False) where a composite index of Meta.indexes leads with the column, or
    # where nothing reads by it: every status change writes an entry in each index (migration 0016).
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="attempts", db_index=False)
    store = models.ForeignKey("lanes.Store", on_delete=models.PROTECT, related_name="attempts", db_index=False)
    lane = models.ForeignKey("lanes.Lane", on_delete=models.PROTECT, related_name="attempts", db_index=False)
    terminal = models.ForeignKey("lanes.Terminal", on_delete=models.PROTECT, related_name="attempts")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # NULL, not "": the unique constraint must ignore attempts sent without a key.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    idempotency_fingerprint = models.CharField(
        max_length=64, blank=True, help_text=_("What the request with that key asked for: a replay must ask the same.")
    )
    reference = models.CharField(
        max_length=REFERENCE_MAX, blank=True,
        help_text=_("The register's own reference of the sale (its receipt or ticket number), as it sent it."),
    )

    amount = models.PositiveIntegerField(help_text=_("Sale amount in cents, tip excluded."))
    tip = models.PositiveIntegerField(default=0, help_text=_("Tip in cents."))
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=AttemptStatus.choices, default=AttemptStatus.CREATED)
    message = models.CharField(max_length=255, blank=True, help_text=_("Why it failed or needs review."))

    gateway_reference = models.CharField(
        max_length=40, blank=True, help_text=_("The gateway's own reference of the order.")
    )
    gateway_outcome = models.CharField(
        max_length=16, blank=True, help_text=_("Where the gateway said the order stood last: paid, declined, ...")
    )
    gateway_amount = models.IntegerField(null=True, blank=True, help_text=_("The gateway's sale amount, cents."))
    gateway_tip = models.IntegerField(null=True, blank=True, help_text=_("The gateway's tip, cents."))
    response_verified = models.BooleanField(null=True, blank=True)
    response_signature = models.CharField(
        max_length=16, blank=True, help_text=_("What the charge answer's signature proved: verified, unverifiable, ...")
    )
    terminal_outcome = models.CharField(
        max_length=16, blank=True,
        help_text=_("What the terminal's answer said (APPROVED or DECLINED) while the gateway has not confirmed it."),
    )
    terminal_text = models.CharField(max_length=255, blank=True, help_text=_("The terminal's approval or decline text."))
    card = models.JSONField(null=True, blank=True, help_text=_("Card data from the gateway, never the expiry date."))
    card_brand = models.CharField(max_length=40, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)  # read with its store: attempt_approved_card
    auth_num = models.CharField(max_length=20, blank=True)
    batch_num = models.CharField(max_length=10, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True, help_text=_("When the gateway says it was paid."))

    poll_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    finalized_at = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    poll_deadline = models.DateTimeField(null=True, blank=True)
    poll_claimed_until = models.DateTimeField(
        null=True, blank=True, help_text=_("A look-up at the gateway for this attempt is in flight until then (one at a time).")
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("payment attempt")
        verbose_name_plural = _("payment attempts")
        permissions = [
            ("view_reconciliation", _("Can see the reconciliation dashboard")),
            ("refund_payment", _("Can refund payments")),
            ("resolve_exception", _("Can re-query, verify and close payment exceptions")),
            ("override_sale", _("Can charge a sale again that is paid or needs review, with a reason")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["terminal"],
                condition=Q(status__in=["CREATED", "SENT", "UNKNOWN"]),
                name="one_in_flight_attempt_per_terminal",
            ),
            models.UniqueConstraint(
                fields=["lane", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="unique_idempotency_key_per_lane",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="attempt_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["status", "updated_at"], name="attempt_status_updated"),
            models.Index(fields=["lane", "-created_at"], name="attempt_lane_created"),
            models.Index(fields=["store", "created_at"], name="attempt_store_created"),
            models.Index(fields=["store", "reference"], name="attempt_store_reference"),
            # The dashboard's exceptions read only these: a busy day's other attempts are never scanned.
            models.Index(fields=["store", "created_at"], name="attempt_open_created",
                         condition=Q(status__in=["UNKNOWN", "NEEDS_REVIEW"])),
            models.Index(fields=["store", "created_at"], name="attempt_card_missing",
                         condition=Q(status="APPROVED") & (Q(card_brand="") | Q(card_last4="") | Q(auth_num=""))),
            models.Index(fields=["store", "card_last4", "created_at"], name="attempt_approved_card",
                         condition=Q(status="APPROVED") & ~Q(card_last4="")),
        ]

    def __str__(self) -> str:
        return f"{self.order_reference} {self.status}"

    @property
    def total(self) -> int:
        return self.amount + self.tip

    @property
    def in_flight(self) -> bool:
        return self.status in IN_FLIGHT_STATUSES


class Refund(models.Model):
    """A refund of (part of) an approved attempt: attempt-like, with its own status and events.

    Statuses are the attempt's: CREATED → SENT → APPROVED (refunded) | FAILED (refused) | NEEDS_REVIEW (no
    clear answer: never re-sent; a person settles it). UNKNOWN is only found on refunds of older versions.
    """

    Status = AttemptStatus

    attempt = models.ForeignKey(PaymentAttempt, on_delete=models.PROTECT, related_name="refunds")
    refund_reference = models.CharField(
        max_length=30, unique=True, help_text=_("Our reference of the refund, sent to the gateway.")
    )
    amount = models.PositiveIntegerField(help_text=_("Refunded amount in cents."))
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=AttemptStatus.choices, default=AttemptStatus.CREATED)
    message = models.CharField(max_length=255, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # NULL, not "": the unique constraint must ignore refunds sent without a key.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    idempotency_fingerprint = models.CharField(max_length=64, blank=True)
    gateway_refund_reference = models.CharField(max_length=40, blank=True, help_text=_("The gateway's reference."))
    refundable_after = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("What the gateway says is still refundable on the payment afterwards (cents).")
    )
    card = models.JSONField(
        null=True, blank=True, help_text=_("The refund's own terminal data from the gateway (invoice, sequence, auth).")
    )
    terminal_text = models.CharField(max_length=255, blank=True)
    gateway_refundable = models.IntegerField(
        null=True, blank=True, help_text=_("What the gateway said was left to refund on the payment at the last check.")
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    check_claimed_until = models.DateTimeField(
        null=True, blank=True, help_text=_("A check with the gateway for this refund is in flight until then.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    finalized_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.UniqueConstraint(
                fields=["attempt"],
                condition=Q(status__in=["CREATED", "SENT", "UNKNOWN"]),
                name="one_in_flight_refund_per_attempt",
            ),
            models.UniqueConstraint(
                fields=["attempt", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="unique_idempotency_key_per_refunded_attempt",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="refund_status_created")]

    def __str__(self) -> str:
        return f"{self.refund_reference} {self.status}"


class EventData(models.JSONField):
    """A JSON column that Django inserts in rows of ``VALUES``, never through ``UNNEST`` arrays.

    Django 5.2 inserts several rows at once as ``UNNEST(array, ...)``; with client-side binding psycopg writes each
    JSON document into an array literal in Python, escaping every quote one regular-expression call at a time:
    about 1,900 calls for a payment's two gateway exchanges, a tenth of the gateway worker's CPU
    (docs/performance.md). A field with ``get_placeholder`` keeps Django on ``VALUES`` (its
    ``SQLInsertCompiler.assemble_as_sql``), where a document is one quoted string.
    """

    def get_placeholder(self, value: object, compiler: object, connection: object) -> str:
        return "%s"


class PaymentEvent(models.Model):
    """Append-only: one row per gateway exchange and per state change, with its cause.

    Events of a refund carry both the attempt and the refund.
    """

    class Kind(models.TextChoices):
        STATE = "state", _("state")
        GATEWAY = "gateway", _("gateway")
        NOTE = "note", _("note")

    attempt = models.ForeignKey(PaymentAttempt, on_delete=models.PROTECT, related_name="events")
    refund = models.ForeignKey(Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    cause = models.CharField(max_length=255)
    data = EventData(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_key = models.CharField(
        max_length=120, blank=True,
        help_text=_("The API key that asked for it (its prefix and label), when a register did and no person."),
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # The request's or task's that wrote it (payments/logcontext.py): the same id as in the logs (LOG_FORMAT=json).
    correlation_id = models.CharField(max_length=64, blank=True, default=logcontext.correlation_id)

    class Meta:
        ordering = ["id"]
        verbose_name = _("payment event")
        verbose_name_plural = _("payment events")

    def __str__(self) -> str:
        return f"{self.attempt_id} {self.kind} {self.cause}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValueError("payment events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("payment events are append-only")


class DaySummary(models.Model):
    """The day's totals of a store, kept by PostgreSQL as attempts and refunds change (``payments.day_summary``).

    One row per (store, business day in the store's time zone, lane, terminal, status, card brand, batch): the
    attempts there, their amounts and tips, and their approved refunds. Triggers on the attempts, the refunds and
    the stores' time zones keep it in the same transaction as every change, whichever code made it; the
    references are plain columns (no foreign-key checks on every payment's write).
    """

    store = models.ForeignKey("lanes.Store", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                              related_name="+")
    day = models.DateField()
    lane = models.ForeignKey("lanes.Lane", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                             related_name="+")
    terminal = models.ForeignKey("lanes.Terminal", on_delete=models.DO_NOTHING, db_constraint=False,
                                 db_index=False, related_name="+")
    status = models.CharField(max_length=16)
    card_brand = models.CharField(max_length=40)
    batch_num = models.CharField(max_length=10)
    attempts = models.IntegerField(default=0)
    amount = models.BigIntegerField(default=0, help_text="Cents, tips excluded.")
    tip = models.BigIntegerField(default=0, help_text="Cents.")
    refunds = models.IntegerField(default=0, help_text="Approved refunds of these attempts.")
    refunded = models.BigIntegerField(default=0, help_text="Cents refunded (approved refunds).")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "day", "lane", "terminal", "status", "card_brand", "batch_num"],
                name="day_summary_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.day} {self.lane_id}/{self.terminal_id} {self.status} {self.attempts}"


class DayCard(models.Model):
    """The approvals of a store's business day per card (last 4 digits) and total, kept by PostgreSQL like
    ``DaySummary``: the day's possible duplicates are looked for only where a card and total come back. A changed
    approval is counted when its transaction commits (migration 0015): the row is shared by every approval of the
    card and total, and is locked only while PostgreSQL commits."""

    store = models.ForeignKey("lanes.Store", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                              related_name="+")
    day = models.DateField()
    card_last4 = models.CharField(max_length=4)
    total = models.BigIntegerField(help_text="Cents, tip included.")
    approvals = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "day", "card_last4", "total"], name="day_card_key"),
        ]
        indexes = [
            models.Index(fields=["store", "day"], name="day_card_repeated", condition=Q(approvals__gte=2)),
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.day} {self.card_last4} {self.total} x{self.approvals}"
