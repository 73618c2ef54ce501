"""Back-office pages: reconciliation, payments and refunds, the live lanes wall."""

from django.urls import include, path

from backoffice.views.home import backoffice_home

urlpatterns = [
    path("", backoffice_home, name="backoffice"),
    path("", include("backoffice.urls_reconciliation")),
    path("", include("backoffice.urls_payments")),
    path("", include("backoffice.urls_wall")),
]
