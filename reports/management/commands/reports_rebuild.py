from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from people.models import Team
from reports.services import figures_rebuild


class Command(BaseCommand):
    help = "Recompute a team's report rollups from the ticket event log."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", required=True, help="the team's slug")

    def handle(self, *args: object, **options: Any) -> None:
        team = Team.objects.filter(slug=options["team"]).first()
        if team is None:
            raise CommandError(f"No team {options['team']!r}.")
        started = time.perf_counter()
        count = figures_rebuild(team=team)
        seconds = time.perf_counter() - started
        self.stdout.write(f"rebuilt={count} seconds={seconds:.1f}")
