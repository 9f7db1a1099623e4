from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = "Escalation"

    def ready(self) -> None:
        from escalation import consumers, steps

        steps.register()
        consumers.register()

        from escalation import queue_filter
        from escalation.selectors import (
            escalated_to_groups_of,
            page_annotations,
            site_contact_names,
        )
        from escalation.views import panel
        from tickets import access
        from tickets.forms import filter_register
        from tickets.gridpanel import site_names_register
        from tickets.panels import register

        register("escalations", panel, page_annotations)
        site_names_register("site-contacts", site_contact_names)
        access.register("expert-groups", escalated_to_groups_of)
        filter_register("escalated_to", queue_filter.fields, queue_filter.narrow)
