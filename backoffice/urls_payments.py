"""The back office's payment pages: the search by reference, an attempt's page and its refund form's target."""

from django.urls import path

from backoffice.views.payments import payment_detail, payment_refund
from backoffice.views.review import check_refund, close_payment, settle_refund
from backoffice.views.search import payment_search

urlpatterns = [
    path("payments/", payment_search, name="payment-search"),
    path("payments/<int:attempt_id>/", payment_detail, name="payment-detail"),
    path("payments/<int:attempt_id>/refunds", payment_refund, name="payment-refund"),
    path("payments/<int:attempt_id>/resolve", close_payment, name="payment-resolve"),
    path("refunds/<int:refund_id>/check", check_refund, name="refund-check"),
    path("refunds/<int:refund_id>/settle", settle_refund, name="refund-settle"),
]
