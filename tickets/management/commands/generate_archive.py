"""Write a synthetic DAST support-mail archive (mbox or maildir) for demos and import benchmarks."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tickets import mailgen


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"not a date (YYYY-MM-DD): {value}") from exc


class Command(BaseCommand):
    help = (
        "Generate a deterministic archive of ATLAS DAST support mail: by default 135,513 "
        "messages from 2008-10-27 to 2018-03-02 as an mboxrd file. The output is a maildir "
        "(cur/new/tmp) when --format maildir is given, or when --out ends with '/' or names an "
        "existing directory. Same --seed and --messages give byte-identical output."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--messages", type=int, default=mailgen.DEFAULT_MESSAGES)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--out", required=True, help="mbox file, or maildir directory")
        parser.add_argument("--format", dest="fmt", choices=("mbox", "maildir"), default=None)
        parser.add_argument("--start", type=_date, default=mailgen.DEFAULT_START)
        parser.add_argument("--end", type=_date, default=mailgen.DEFAULT_END)
        parser.add_argument("--requesters", type=int, default=None, help="default: scaled 1,414")

    def handle(
        self,
        *args: object,
        messages: int,
        seed: int,
        out: str,
        fmt: str | None,
        start: dt.date,
        end: dt.date,
        requesters: int | None,
        **options: object,
    ) -> None:
        path = Path(out)
        if fmt is None:
            fmt = "maildir" if out.endswith("/") or path.is_dir() else "mbox"
        if messages < 1:
            raise CommandError("--messages must be at least 1")
        started = time.perf_counter()

        def progress(done: int, total: int) -> None:
            elapsed = time.perf_counter() - started
            self.stderr.write(f"generate_archive: {done}/{total} messages, {elapsed:.1f} s")

        try:
            stats = mailgen.write_archive(
                path,
                messages=messages,
                seed=seed,
                start=start,
                end=end,
                fmt=fmt,
                requesters=requesters,
                progress=progress,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"generated={stats.messages} threads={stats.threads} requesters={stats.requesters} "
            f"bytes={stats.bytes} seconds={seconds:.1f} "
            f"msgs_per_s={stats.messages / max(seconds, 1e-9):.1f}"
        )
