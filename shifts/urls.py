"""Shift pages under /shifts/, the public on-shift page and iCal feeds."""

from django.urls import path

from shifts import views, views_plan

urlpatterns = [
    path("on-shift/", views.on_shift_now, name="on-shift"),
    path("shifts/", views.calendar, name="shift-calendar"),
    path("shifts/book/", views.book, name="shift-book"),
    path("shifts/assign/", views_plan.assign_many, name="shift-assign-many"),
    path("shifts/plan/", views_plan.plan_preview, name="shift-plan"),
    path("shifts/plan/apply/", views_plan.plan_apply_view, name="shift-plan-apply"),
    path("shifts/rotation/", views_plan.rotation, name="shift-rotation"),
    path(
        "shifts/rotation/<int:pk>/delete/",
        views_plan.rotation_delete,
        name="shift-rotation-delete",
    ),
    path("shifts/settings/", views_plan.settings_save, name="shift-settings"),
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
