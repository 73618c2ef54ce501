from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext

from lanes import access


@login_required
def backoffice_home(request: HttpRequest) -> HttpResponse:
    """Supervisors and managers start on the reconciliation dashboard, or on the lanes wall."""
    if access.stores_for(request.user, access.VIEW_RECONCILIATION).exists():
        return redirect("reconciliation")
    if access.stores_for(request.user, access.VIEW_WALL).exists():
        return redirect("lanes-wall")
    raise PermissionDenied(gettext("The back office is for supervisors, managers and owners."))
