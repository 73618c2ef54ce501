"""The back office's payment pages: an attempt's page and its refund form's target."""

from django.urls import path

from backoffice.views.payments import payment_detail, payment_refund

urlpatterns = [
    path("payments/<int:attempt_id>/", payment_detail, name="payment-detail"),
    path("payments/<int:attempt_id>/refunds", payment_refund, name="payment-refund"),
]
