"""manage.py retention --dry-run [--team SLUG]: what the retention policies would remove,
changing nothing (all policies, active or not). Without --dry-run: apply the active ones now
(as the nightly task does)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from retention.services import retention_run


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="report, change nothing")
        parser.add_argument("--team", help="only this team's policy (its slug)")

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = bool(options["dry_run"])
        reports = retention_run(now=timezone.now(), dry_run=dry_run, team_slug=options["team"])
        if not reports:
            self.stdout.write("No retention policy to run.")
        verb = "would" if dry_run else "did"
        for r in reports:
            self.stdout.write(
                f"{r.team}: tickets closed before {r.cutoff[:10]}: {r.tickets}; {verb} remove "
                f"the texts of {r.messages} messages and {r.raw_mails} raw mails, anonymise "
                f"{r.requesters} requesters, delete {r.attachments} attachment files "
                f"({r.attachment_bytes} bytes) and {r.notifications} notifications."
            )
