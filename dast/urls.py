from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.views import audit_csv
from dast.login import AdminLoginForm, LoginView
from dast.views import healthz

admin.site.login_form = AdminLoginForm

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page says; the icon is an SVG in static/.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/audit.csv", audit_csv, name="audit-csv"),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI from drf-spectacular-sidecar's static files (its script a separate request, so
    # no inline script); people sign in first.
    path(
        "api/docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path("api/v1/tickets/", include("tickets.api_urls")),
    path("api/v1/shifts/", include("shifts.api_urls")),
    path("api/v1/escalation/", include("escalation.api_urls")),
    path("api/v1/reports/", include("reports.api_urls")),
    path("", include("shifts.urls")),
    path("", include("escalation.urls")),
    path("", include("grid.urls")),
    path("", include("reports.urls")),
    path("", include("notifications.urls")),
    path("", include("tickets.urls_support")),
    path("", include("tickets.urls_requester")),
    path("", include("tickets.urls")),
]
