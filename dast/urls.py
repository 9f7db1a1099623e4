from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from dast.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/shifts/", include("shifts.api_urls")),
    path("api/v1/escalation/", include("escalation.api_urls")),
    path("", include("shifts.urls")),
    path("", include("escalation.urls")),
    path("", include("tickets.urls_support")),
    path("", include("tickets.urls_requester")),
    path("", include("tickets.urls")),
]
