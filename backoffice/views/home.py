from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


@login_required
def backoffice_home(request: HttpRequest) -> HttpResponse:
    """Supervisors and managers start on the reconciliation dashboard, or on the lanes wall."""
    if request.user.has_perm("payments.view_reconciliation"):
        return redirect("reconciliation")
    if request.user.has_perm("lanes.view_lanes_wall"):
        return redirect("lanes-wall")
    raise PermissionDenied("The back office is for supervisors, managers and owners.")
