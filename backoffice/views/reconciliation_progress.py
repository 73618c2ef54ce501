"""The progress of a "verify the day" run as the page and its script show it (JSON)."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext, ngettext

from backoffice.models import VerificationRun
from backoffice.selectors import verification_stalled_after
from backoffice.sentences import said
from payments.formats import moment


def run_progress(run: VerificationRun | None) -> dict[str, Any] | None:
    """What the page shows of a run, as JSON: "Verified 37 / 120 · 1 mismatch"."""
    if run is None:
        return None
    percent = 100 if run.total == 0 else min(100, round(100 * run.done / run.total))
    stalled = (run.status == VerificationRun.Status.RUNNING
               and run.updated_at < timezone.now() - verification_stalled_after())
    parts = [gettext("Verified {done} / {total}").format(done=run.done, total=run.total),
             ngettext("{count} mismatch", "{count} mismatches", run.mismatches).format(count=run.mismatches)]
    if run.errors:
        parts.append(gettext("{count} not checked").format(count=run.errors))
    if run.applied:
        parts.append(ngettext("{count} late result applied", "{count} late results applied", run.applied).format(
            count=run.applied))
    if stalled:
        parts.append(gettext("stopped: press Verify to resume"))
    findings = []
    if run.status == VerificationRun.Status.FINISHED:
        for f in run.findings.select_related("attempt").order_by("pk")[:200]:
            findings.append({"attempt": f.attempt_id, "kind": f.kind, "local_status": f.local_status,
                             "gateway_outcome": f.gateway_outcome, "detail": said(f.detail),
                             "order_reference": f.attempt.order_reference, "cleared": f.cleared_at is not None})
    tz = zoneinfo.ZoneInfo(run.store.time_zone)
    who = run.started_by.get_username() if run.started_by else ""
    if run.finished_at is not None:
        finished = moment(run.finished_at, zone=tz)
        meta = (gettext("Finished {time} · started by {user}").format(time=finished, user=who) if who
                else gettext("Finished {time} · started").format(time=finished))
    else:
        started = moment(run.started_at, zone=tz)
        meta = (gettext("Started {time} by {user}").format(time=started, user=who) if who
                else gettext("Started {time}").format(time=started))
    return {
        "id": run.pk,
        "status": run.status,
        "stalled": stalled,
        "meta": meta,
        "day": run.day.isoformat(),
        "total": run.total,
        "done": run.done,
        "mismatches": run.mismatches,
        "errors": run.errors,
        "applied": run.applied,
        "percent": percent,
        "label": " · ".join(parts),
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "started_by": run.started_by.get_username() if run.started_by else "",
        "findings": findings,
    }
