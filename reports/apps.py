from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from reports import queue_filter
        from reports.consumers import register
        from tickets.forms import filter_register

        register()
        filter_register("names_site", queue_filter.fields, queue_filter.narrow)
        filter_register(
            "counted",
            queue_filter.counted_fields,
            queue_filter.counted_narrow,
            queue_filter.counted_check,
        )
