"""Where the text providers post delivery receipts (``receipt_views``)."""

from django.urls import path

from filerequests import receipt_views

urlpatterns = [
    path("notify", receipt_views.notify_receipt, name="sms-receipt-notify"),
    path("twilio/<str:notification_id>", receipt_views.twilio_receipt, name="sms-receipt-twilio"),
]
