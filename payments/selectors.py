"""Reads used by views, consumers, the dashboard and tasks."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Min

from payments.models import IN_FLIGHT_STATUSES, PaymentAttempt


def lane_latest_attempt(lane_id: int) -> PaymentAttempt | None:
    return PaymentAttempt.objects.select_related("lane").filter(lane_id=lane_id).order_by("-created_at", "-pk").first()


def lanes_in_flight(lane_ids: list[int]) -> dict[int, PaymentAttempt]:
    """{lane id: the attempt in flight on it} for those of ``lane_ids`` that are busy (one query)."""
    attempts = (PaymentAttempt.objects.select_related("lane")
                .filter(lane_id__in=lane_ids, status__in=IN_FLIGHT_STATUSES).order_by("created_at", "pk"))
    return {attempt.lane_id: attempt for attempt in attempts}


def attempts_open_by_status(statuses: tuple[str, ...]) -> dict[str, int]:
    """How many attempts are in each of `statuses` now (0 for none)."""
    counts = dict(PaymentAttempt.objects.filter(status__in=statuses).values("status")
                  .annotate(n=Count("pk")).values_list("status", "n"))
    return {status: counts.get(status, 0) for status in statuses}


def oldest_unresolved_created_at() -> datetime | None:
    """When the oldest attempt still waiting on the gateway (CREATED, SENT, UNKNOWN) was created."""
    found: datetime | None = PaymentAttempt.objects.filter(status__in=IN_FLIGHT_STATUSES).aggregate(
        oldest=Min("created_at"))["oldest"]
    return found
