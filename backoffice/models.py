"""Back-office records: runs of "verify the day" against the gateway and what they found.

Payments themselves live in `payments`; nothing here changes an attempt.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class VerificationRun(models.Model):
    """One walk over a store's business day, asking the gateway about every attempt (rate-limited).

    `cursor` is the id of the last attempt claimed; `last_attempt_id` the highest id that existed when the
    run started, so attempts made later that day are left to the next run and `done` never passes `total`.
    """

    class Status(models.TextChoices):
        RUNNING = "RUNNING"
        FINISHED = "FINISHED"

    store = models.ForeignKey("lanes.Store", on_delete=models.CASCADE, related_name="verification_runs")
    day = models.DateField(help_text=_("Business day in the store's time zone."))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    mismatches = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    applied = models.PositiveIntegerField(default=0, help_text=_("Late gateway results applied to open attempts."))
    cursor = models.BigIntegerField(default=0)
    last_attempt_id = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["store", "day", "-started_at"], name="verifyrun_store_day")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.day} {self.status} {self.done}/{self.total}"


class VerificationFinding(models.Model):
    """An attempt whose gateway record disagrees with ours, could not be checked, or got a late result."""

    class Kind(models.TextChoices):
        MISMATCH = "mismatch"
        ERROR = "error"
        APPLIED = "applied"

    run = models.ForeignKey(VerificationRun, on_delete=models.CASCADE, related_name="findings")
    attempt = models.ForeignKey("payments.PaymentAttempt", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    local_status = models.CharField(max_length=16)
    gateway_outcome = models.CharField(
        max_length=16, blank=True, help_text=_("Where the gateway said the order stood (paid, declined, not_found, ...).")
    )
    detail = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    cleared_at = models.DateTimeField(
        null=True, blank=True, help_text=_("A later re-query found the gateway and the console agreeing.")
    )

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["run", "attempt"], name="one_finding_per_attempt_per_run"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.attempt_id}: {self.detail}"
