"""The escalation API under /api/v1/escalation/."""

from django.urls import path

from escalation import api

urlpatterns = [
    path("groups/", api.group_list, name="escalation-api-groups"),
    path("groups/<int:pk>/", api.group_detail, name="escalation-api-group"),
    path("sites/", api.site_list, name="escalation-api-sites"),
    path("escalations/", api.escalation_list, name="escalation-api-escalations"),
    path("escalations/<int:pk>/", api.escalation_detail, name="escalation-api-escalation"),
    path(
        "escalations/<int:pk>/cancel/",
        api.escalation_cancel_view,
        name="escalation-api-escalation-cancel",
    ),
    path("timers/", api.timer_list, name="escalation-api-timers"),
    path("timers/<int:pk>/", api.timer_detail, name="escalation-api-timer"),
]
