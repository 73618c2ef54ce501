"""The reconciliation dashboard and its actions (mounted under /backoffice/)."""

from django.urls import path

from backoffice.views import reconciliation, reconciliation_actions

urlpatterns = [
    path("reconciliation/", reconciliation.dashboard, name="reconciliation"),
    path("reconciliation/export.csv", reconciliation.export_csv, name="reconciliation-export"),
    path("reconciliation/verify", reconciliation_actions.verify_day, name="reconciliation-verify"),
    path("reconciliation/verify/<int:run_id>", reconciliation_actions.verify_progress,
         name="reconciliation-verify-progress"),
    path("payments/<int:attempt_id>/requery", reconciliation_actions.requery, name="payment-requery"),
    path("payments/<int:attempt_id>/close", reconciliation_actions.close, name="payment-close"),
]
