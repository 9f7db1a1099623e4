"""The shifts API under /api/v1/shifts/."""

from django.urls import path

from shifts import api

urlpatterns = [
    path("on-duty/", api.on_duty_at, name="shifts-api-on-duty"),
    path("zones/", api.zone_list, name="shifts-api-zones"),
    path("zones/<int:pk>/", api.zone_detail, name="shifts-api-zone"),
    path("closures/", api.closure_list, name="shifts-api-closures"),
    path("closures/<int:pk>/", api.closure_detail, name="shifts-api-closure"),
    path("slots/", api.slot_list, name="shifts-api-slots"),
    path("bookings/", api.booking_list, name="shifts-api-bookings"),
    path("bookings/<int:pk>/", api.booking_detail, name="shifts-api-booking"),
    path("credits/", api.credit_list, name="shifts-api-credits"),
]
