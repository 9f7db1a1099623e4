from django.apps import AppConfig


class GridConfig(AppConfig):
    name = "grid"
    verbose_name = "Grid"

    def ready(self) -> None:
        from django import forms
        from django.utils import timezone

        from escalation import bridges, holds
        from grid import bridge, consumers
        from grid.holds import outage_hold
        from grid.selectors import (
            site_directory_names,
            site_names_resolved,
            tickets_naming_sites_in_outage,
        )
        from grid.views import panel, queue_marks
        from tickets.forms import filter_register
        from tickets.gridpanel import site_names_register, site_resolver_register
        from tickets.panels import register
        from tickets.rowmarks import register as row_marks_register

        consumers.register()
        register("grid-status", panel)
        row_marks_register("site-outage", queue_marks)
        site_names_register("grid-sites", site_directory_names)
        site_resolver_register("grid-sites", site_names_resolved)
        holds.register("site-outage", outage_hold)
        bridges.register(bridge.BRIDGE)
        filter_register(
            "site_in_downtime",
            lambda teams: {
                "site_in_downtime": forms.BooleanField(required=False, label="Site in downtime")
            },
            lambda tickets, data: tickets_naming_sites_in_outage(tickets, timezone.now()),
        )
