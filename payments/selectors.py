"""Reads used by views, consumers, the dashboard and tasks."""

from __future__ import annotations

from payments.models import IN_FLIGHT_STATUSES, PaymentAttempt


def lane_latest_attempt(lane_id: int) -> PaymentAttempt | None:
    return PaymentAttempt.objects.select_related("lane").filter(lane_id=lane_id).order_by("-created_at", "-pk").first()


def lanes_in_flight(lane_ids: list[int]) -> dict[int, PaymentAttempt]:
    """{lane id: the attempt in flight on it} for those of ``lane_ids`` that are busy (one query)."""
    attempts = (PaymentAttempt.objects.select_related("lane")
                .filter(lane_id__in=lane_ids, status__in=IN_FLIGHT_STATUSES).order_by("created_at", "pk"))
    return {attempt.lane_id: attempt for attempt in attempts}
