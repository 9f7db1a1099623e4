"""python manage.py import_mail PATH... : .eml files, folders of them, mbox files, maildirs."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from people.models import Team
from tickets.mail.archive import OUTCOME_KEYS, archive_import, imported_open_announce
from tickets.mail.sources import iter_sources_by_date


class Command(BaseCommand):
    help = "Import archived mail into a team's tickets (no acknowledgements are sent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument("--team", help="team slug (default: the only team)")
        parser.add_argument(
            "--json", dest="as_json", action="store_true", help="print the summary as JSON"
        )
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument(
            "--parsers",
            type=int,
            default=2,
            help="processes that parse ahead of the database writes (0: parse in this one)",
        )
        parser.add_argument(
            "--open-days",
            type=int,
            default=14,
            help="tickets whose last mail is older than this are imported closed (default 14)",
        )

    def handle(
        self,
        *args: object,
        paths: list[Path],
        team: str | None,
        as_json: bool,
        no_progress: bool,
        open_days: int,
        parsers: int,
        **options: object,
    ) -> None:
        target = self._team(team)
        for path in paths:
            if not path.exists():
                raise CommandError(f"{path}: no such file or folder")
        started = time.monotonic()
        show = not no_progress and sys.stderr.isatty()

        def progress(counts: Counter[str]) -> None:
            if show:
                done = counts["imported"] + counts["duplicates"]
                rate = done / max(time.monotonic() - started, 1e-6)
                sys.stderr.write(f"\rimport_mail: {done:,} messages, {rate:,.0f}/s ")
                sys.stderr.flush()

        # Each source in date order, parents before replies: a reply filed before its
        # original would open a ticket of its own.
        order: Counter[str] = Counter(reordered=0)
        counts = archive_import(
            team=target,
            messages=iter_sources_by_date(paths, now=timezone.now(), counts=order),
            open_days=open_days,
            parsers=parsers,
            progress=progress,
        )
        if show:
            sys.stderr.write("\n")
        # What is still open goes to the shifters, through the event log (no mail is sent).
        imported_open_announce(team=target)
        summary = {key: counts[key] for key in OUTCOME_KEYS}
        summary["reordered"] = order["reordered"]
        if as_json:
            self.stdout.write(json.dumps(summary))
        else:
            self.stdout.write(" ".join(f"{key}={value}" for key, value in summary.items()))

    def _team(self, slug: str | None) -> Team:
        if slug:
            try:
                return Team.objects.get(slug=slug)
            except Team.DoesNotExist:
                raise CommandError(f"no team {slug!r}") from None
        teams = list(Team.objects.all()[:2])
        if len(teams) != 1:
            raise CommandError("several teams (or none): say which with --team SLUG")
        return teams[0]
