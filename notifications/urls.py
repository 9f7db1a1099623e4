from django.urls import path

from notifications import views

urlpatterns = [
    path("notifications/", views.notification_list, name="notification-list"),
    path("notifications/bell/", views.bell, name="notification-bell"),
    path("notifications/read/", views.notification_read, name="notification-read"),
    path("notifications/settings/", views.preferences, name="notification-preferences"),
    path("notifications/<int:pk>/", views.notification_open, name="notification-open"),
]
