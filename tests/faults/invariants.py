"""What must hold after any fault, checked against the sandbox's own records."""

from __future__ import annotations

from dataclasses import dataclass, field

import requests

from lanes.models import Store
from payments import day_summary
from payments.models import PaymentAttempt, PaymentEvent
from tests.factories import SANDBOX_MCH_ID

FINAL = {"APPROVED", "DECLINED", "FAILED"}


@dataclass
class Report:
    payments: int = 0
    duplicates_sent: list[str] = field(default_factory=list)
    not_final: list[str] = field(default_factory=list)
    unexplained_reviews: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    summary_differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.duplicates_sent or self.not_final or self.unexplained_reviews or self.mismatches
                    or self.summary_differences)

    def line(self, faults: int) -> str:
        return (f"payments={self.payments} faults_injected={faults} duplicates_sent={len(self.duplicates_sent)} "
                f"mismatches_with_gateway={len(self.mismatches)} not_final={len(self.not_final)} "
                f"summary_differences={len(self.summary_differences)} "
                f"statuses={dict(sorted(self.statuses.items()))}")


def summary_differences(store_ids: set[int]) -> list[str]:
    """Where the day summary the database keeps disagrees with the attempts of these stores (one snapshot: it
    holds while payments are still changing)."""
    return [str(d) for d in day_summary.differences(stores=Store.objects.filter(pk__in=store_ids).order_by("pk"))]


def check(sandbox_url: str, attempts: list[PaymentAttempt]) -> Report:
    """No attempt sent twice; every attempt final or NEEDS_REVIEW with events that explain it; the console's
    final status agrees with the gateway's (nothing paid shown as declined or failed, nothing unpaid approved);
    the day summary agrees with the attempts of their stores."""
    orders = {o["mchOrderNo"]: o for o in
              requests.get(f"{sandbox_url}/_sandbox/orders", params={"mchId": SANDBOX_MCH_ID}, timeout=10).json()}
    report = Report(payments=len(attempts))
    for attempt in attempts:
        attempt.refresh_from_db()
        report.statuses[attempt.status] = report.statuses.get(attempt.status, 0) + 1
        no = attempt.order_reference
        order = orders.get(no)
        if order is None:  # refused before an order existed (terminal busy): still count the calls
            calls = requests.get(f"{sandbox_url}/_sandbox/orders/{SANDBOX_MCH_ID}/{no}", timeout=5).json()
            create_calls = calls.get("create_calls", 0)
        else:
            create_calls = order["create_calls"]
        if create_calls > 1:
            report.duplicates_sent.append(f"{no}: {create_calls} create_order calls")
        if attempt.status == "NEEDS_REVIEW":
            causes = list(PaymentEvent.objects.filter(attempt=attempt, kind="state").values_list("cause", flat=True))
            if not causes or not attempt.message:
                report.unexplained_reviews.append(no)
        elif attempt.status not in FINAL:
            report.not_final.append(f"{no}: {attempt.status}")
        paid_at_gateway = order is not None and order["status"] in (2, 3)
        if attempt.status == "APPROVED" and not paid_at_gateway:
            report.mismatches.append(f"{no}: APPROVED here, gateway {order and order['status']}")
        if attempt.status in ("DECLINED", "FAILED") and paid_at_gateway:
            report.mismatches.append(f"{no}: {attempt.status} here, but paid at the gateway")
    report.summary_differences = summary_differences({a.store_id for a in attempts})
    return report
