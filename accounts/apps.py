from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts, single sign-on and audit"

    def ready(self) -> None:
        from accounts import receivers

        receivers.connect()
