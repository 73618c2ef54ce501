from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from checkout import api
from checkout import receipts as receipt_views
from checkout import views as lane_views
from store_console import health, languages, metrics

urlpatterns = [
    path("", lane_views.home, name="home"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("lanes/<str:code>/", lane_views.checkout, name="lane-checkout"),
    # The JSON API (django-ninja, namespace "api"): its routes, /api/schema/ and /api/docs/.
    path("api/", api.urls()),
    path("payments/<int:attempt_id>/receipt/", receipt_views.receipt, name="payment-receipt"),
    path("refunds/<int:refund_id>/receipt/", receipt_views.refund_receipt, name="refund-receipt"),
    path("backoffice/", include("backoffice.urls")),
    path("admin/", admin.site.urls),
    # The scripts' translations (Django's JavaScript catalog) and the header's language switch (set_language).
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("language/", languages.switch_language, name="switch-language"),
    path("healthz", lane_views.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
]
