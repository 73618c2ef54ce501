"""Webhook endpoints (per store), the events they are sent, each delivery of an event to an endpoint and
every try of a delivery.

An event and its deliveries are written in the transaction that changed the payment (the outbox); the
`webhooks` worker sends them after commit (``webhooks.delivery``). Tries are append-only.
"""

from __future__ import annotations

from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from payments import crypto

validate_endpoint_url = URLValidator(schemes=["http", "https"], message=_("Enter an http:// or https:// URL."))


class EventType(models.TextChoices):
    """The event types: contracts, named as integrators subscribe to them."""

    PAYMENT_APPROVED = "payment.approved"
    PAYMENT_DECLINED = "payment.declined"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_NEEDS_REVIEW = "payment.needs_review"
    PAYMENT_UNKNOWN = "payment.unknown"
    REFUND_APPROVED = "refund.approved"
    REFUND_FAILED = "refund.failed"
    REFUND_NEEDS_REVIEW = "refund.needs_review"


class Endpoint(models.Model):
    """Where a store's events are posted, signed with the endpoint's own secret (encrypted at rest)."""

    store = models.ForeignKey("lanes.Store", on_delete=models.PROTECT, related_name="webhook_endpoints")
    url = models.URLField("URL", max_length=500, validators=[validate_endpoint_url],
                          help_text=_("Events are POSTed here (https in production)."))
    events = models.JSONField(default=list, help_text=_("The event types sent to this endpoint."))
    active = models.BooleanField(
        default=True, help_text=_("An inactive endpoint is sent nothing; what was waiting for it is not sent.")
    )
    secret_ciphertext = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["store__name", "url"]
        verbose_name = _("webhook endpoint")

    def __str__(self) -> str:
        return f"{self.store} → {self.url}"

    def set_secret(self, plaintext: str) -> None:
        self.secret_ciphertext = crypto.encrypt(plaintext)

    def get_secret(self) -> str:
        return crypto.decrypt(self.secret_ciphertext)

    def wants(self, event_type: str) -> bool:
        events: list[str] = self.events
        return self.active and event_type in events


class Event(models.Model):
    """One thing that happened, as sent: its body is kept as the exact bytes every try sends and signs."""

    event_id = models.CharField(max_length=40, unique=True, help_text=_("Sent as Console-Event-Id and as the body's id."))
    type = models.CharField(max_length=32, choices=EventType.choices)
    store = models.ForeignKey("lanes.Store", on_delete=models.PROTECT, related_name="webhook_events")
    attempt = models.ForeignKey("payments.PaymentAttempt", on_delete=models.PROTECT, related_name="webhook_events")
    refund = models.ForeignKey("payments.Refund", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="webhook_events")
    body = models.TextField(help_text=_("The JSON body, exactly as sent."))
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("webhook event")

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Delivery(models.Model):
    """One event to one endpoint: tried until the endpoint answers 2xx or its time is up."""

    Status = DeliveryStatus

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.PROTECT, related_name="deliveries")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    tries = models.PositiveIntegerField(default=0)
    next_try_at = models.DateTimeField(help_text=_("When it is due (pending only)."))
    give_up_at = models.DateTimeField(help_text=_("No retry after this: it fails instead."))
    # A try in flight: only the task holding this token may record its answer; it expires should the worker die.
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_code = models.PositiveIntegerField(null=True, blank=True, help_text=_("The endpoint's last answer code."))
    last_error = models.CharField(max_length=255, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"], name="one_delivery_per_event_endpoint")]
        indexes = [
            models.Index(fields=["next_try_at"], condition=Q(status="pending"), name="delivery_pending_due"),
            models.Index(fields=["endpoint", "claimed_until"], name="delivery_endpoint_claimed"),
        ]

    def __str__(self) -> str:
        return f"{self.event.event_id} → {self.endpoint.url} {self.status}"


class DeliveryTry(models.Model):
    """Append-only: one POST of a delivery and what came of it."""

    delivery = models.ForeignKey(Delivery, on_delete=models.PROTECT, related_name="tries_made")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    response_code = models.PositiveIntegerField(null=True, blank=True, help_text=_("The answer's HTTP status code."))
    error = models.CharField(max_length=255, blank=True, help_text=_("Why there was no answer (time-out, refused...)."))
    delivered = models.BooleanField()

    class Meta:
        ordering = ["id"]
        verbose_name = _("delivery try")

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M:%S} {self.response_code or self.error}"
