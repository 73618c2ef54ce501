"""Reads used by views, consumers, the dashboard and tasks."""

from __future__ import annotations

from payments.models import PaymentAttempt


def lane_latest_attempt(lane_id: int) -> PaymentAttempt | None:
    return PaymentAttempt.objects.select_related("lane").filter(lane_id=lane_id).order_by("-created_at", "-pk").first()
