"""python manage.py import_groups --team SLUG FILE: the expert/cloud/site directory, from CSV
or JSON (the format is described in escalation/directory.py; an example is
docs/examples/atlas-clouds.csv)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from escalation.directory import (
    DirectoryInvalid,
    directory_import,
    directory_names,
    parse_directory,
)
from people.models import Team

INVALID = 2  # exit status of a refused file


class Command(BaseCommand):
    help = (
        "Create or update a team's expert groups, clouds and sites from a CSV or JSON file. "
        "A file with any error is refused whole (exit status 2)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, metavar="FILE")
        parser.add_argument("--team", required=True, help="team slug")
        parser.add_argument(
            "--deactivate-missing",
            action="store_true",
            help="mark the team's groups that the file neither lists nor refers to inactive "
            "(they are never deleted)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check the file and count, writing nothing"
        )

    def handle(
        self,
        *args: object,
        path: Path,
        team: str,
        deactivate_missing: bool,
        dry_run: bool,
        **options: object,
    ) -> None:
        try:
            target = Team.objects.get(slug=team)
        except Team.DoesNotExist:
            raise CommandError(f"no team {team!r}") from None
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from None
        try:
            entries = parse_directory(data, path.name, known=directory_names(team=target))
            result = directory_import(
                team=target,
                entries=entries,
                deactivate_missing=deactivate_missing,
                dry_run=dry_run,
            )
        except DirectoryInvalid as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            count = len(exc.errors)
            raise CommandError(
                f"{path}: {count} error{'s' if count != 1 else ''}, nothing imported",
                returncode=INVALID,
            ) from None
        summary = " ".join(f"{key}={value}" for key, value in asdict(result).items())
        self.stdout.write(f"{summary} (dry run: nothing written)" if dry_run else summary)
