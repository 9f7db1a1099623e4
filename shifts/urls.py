"""Shift pages under /shifts/, the public on-shift page and iCal feeds."""

from django.urls import path

from shifts import views

urlpatterns = [
    path("on-shift/", views.on_shift_now, name="on-shift"),
    path("shifts/", views.calendar, name="shift-calendar"),
    path("shifts/book/", views.book, name="shift-book"),
    path("shifts/bookings/<int:pk>/release/", views.release, name="shift-release"),
    path("shifts/bookings/<int:pk>/swap/", views.swap_new, name="shift-swap"),
    path(
        "shifts/swaps/<int:pk>/<str:action>/",
        views.swap_answer,
        name="shift-swap-answer",
    ),
    path("shifts/credits/", views.credits, name="shift-credits"),
    path("shifts/feeds/renew/", views.feed_renew, name="shift-feed-renew"),
    path("shifts/feeds/<str:token>.ics", views.feed, name="shift-feed"),
]
