from django.apps import AppConfig


class DispatchConfig(AppConfig):
    """Who gets a ticket: routing of new and reopened tickets, the handover at each shift
    end, the requester's acknowledgement. Above tickets and shifts; below escalation."""

    name = "dispatch"
    verbose_name = "Dispatch"

    def ready(self) -> None:
        from dispatch import consumers
        from shifts import notify
        from tickets.mail.outbox import notification_queue

        consumers.register()
        # Shifts mails its people through the outbox, which it cannot import (see
        # shifts/notify.py); dispatch is the first app that knows both.
        notify.mailer_set(notification_queue)
