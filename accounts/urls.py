from django.urls import path

from accounts import views

# python-social-auth finds its views by these names in this namespace.
app_name = "social"

urlpatterns = [
    path("sso/login/<str:backend>/", views.sso_begin, name="begin"),
    path("sso/complete/<str:backend>/", views.sso_complete, name="complete"),
]
