from django.apps import AppConfig


class DastConfig(AppConfig):
    name = "dast"
    verbose_name = "Operations"
