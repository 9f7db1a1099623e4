from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dast.demo import DEMO_LOGINS, DEMO_PASSWORD, load_demo


class Command(BaseCommand):
    help = "Load the demo teams, people, shift calendar, expert groups and tickets, once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="load even with DEBUG off (the demo logins share a published password)",
        )

    def handle(self, *args: object, force: bool, **options: object) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "refusing to load demo users with a published password while DEBUG is off; "
                "pass --force on a throwaway installation"
            )
        written = load_demo()
        if not written:
            self.stdout.write("Demo data already loaded; nothing written.")
            return
        summary = ", ".join(f"{count} {what}" for what, count in written.items())
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded: {summary}."))
        logins = ", ".join(name for name, _ in DEMO_LOGINS)
        self.stdout.write(f"Demo logins: {logins} (password {DEMO_PASSWORD!r}).")
