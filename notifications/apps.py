from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """What the desk tells its people: the bell, mail as each prefers, the teams' chat
    webhooks, the digest at the first shift after a gap. Above dispatch and escalation:
    it consumes the ticket event log after them."""

    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from notifications import consumers

        consumers.register()
