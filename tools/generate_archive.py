"""Write a synthetic DAST support-mail archive (mbox or maildir) for demos and import benchmarks.

    python -m tools.generate_archive --messages 135513 --seed 1 --out var/dast.mbox

A plain script rather than a management command: the generator is pure Python and needs no
settings, database or secret key, and it stays out of the product's apps (and its image).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from tools import mailgen

DESCRIPTION = (
    "Generate a deterministic archive of ATLAS DAST support mail: by default 135,513 "
    "messages from 2008-10-27 to 2018-03-02 as an mboxrd file. The output is a maildir "
    "(cur/new/tmp) when --format maildir is given, or when --out ends with '/' or names an "
    "existing directory. Same --seed and --messages give byte-identical output."
)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value}") from exc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.generate_archive", description=DESCRIPTION
    )
    parser.add_argument("--messages", type=int, default=mailgen.DEFAULT_MESSAGES)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", required=True, help="mbox file, or maildir directory")
    parser.add_argument("--format", dest="fmt", choices=("mbox", "maildir"), default=None)
    parser.add_argument("--start", type=_date, default=mailgen.DEFAULT_START)
    parser.add_argument("--end", type=_date, default=mailgen.DEFAULT_END)
    parser.add_argument("--requesters", type=int, default=None, help="default: scaled 1,414")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    path = Path(args.out)
    fmt = args.fmt
    if fmt is None:
        fmt = "maildir" if args.out.endswith("/") or path.is_dir() else "mbox"
    if args.messages < 1:
        parser.error("--messages must be at least 1")
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        elapsed = time.perf_counter() - started
        print(f"generate_archive: {done}/{total} messages, {elapsed:.1f} s", file=sys.stderr)

    try:
        stats = mailgen.write_archive(
            path,
            messages=args.messages,
            seed=args.seed,
            start=args.start,
            end=args.end,
            fmt=fmt,
            requesters=args.requesters,
            progress=progress,
        )
    except ValueError as exc:
        parser.error(str(exc))
    seconds = time.perf_counter() - started
    print(
        f"generated={stats.messages} threads={stats.threads} requesters={stats.requesters} "
        f"bytes={stats.bytes} seconds={seconds:.1f} "
        f"msgs_per_s={stats.messages / max(seconds, 1e-9):.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
