"""Run the benchmarks under benchmarks/, print a table, write benchmarks/results.json.

    make bench                      # all, at DAST scale (135,513 messages)
    BENCH_MESSAGES=20000 make bench # a quicker run
    make bench BENCH_ARGS="--only generate"

``make bench`` runs this inside ``tests.servers``, so PostgreSQL and Redis are there. Each module
``bench_*.py`` has ``run(ctx) -> {figure: {"value": ..., "unit": ...}}``; figure names are a
contract that the issues fix.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DAST_MESSAGES = 135_513


@dataclass
class Context:
    messages: int
    work_dir: Path

    @property
    def archive_path(self) -> Path:
        return self.work_dir / f"archive-{self.messages}.mbox"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", action="append", default=[], help="run benchmarks whose name contains this"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dast.settings")
    if os.environ.get("DAST_TEST_REDIS_URL") and not os.environ.get("CACHE_URL"):
        # As deployed (docker-compose.yml): the cache in Redis, a database of its own.
        os.environ["CACHE_URL"] = os.environ["DAST_TEST_REDIS_URL"].rsplit("/", 1)[0] + "/1"
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    messages = int(os.environ.get("BENCH_MESSAGES", DAST_MESSAGES))
    ctx = Context(messages=messages, work_dir=Path(settings.VAR_DIR) / "bench")
    ctx.work_dir.mkdir(parents=True, exist_ok=True)

    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if args.only:
        names = [n for n in names if any(o in n for o in args.only)]
    results: dict[str, dict[str, object]] = {}
    for name in names:
        started = time.perf_counter()
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        figures = module.run(ctx)
        print(f"bench: {name} done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        results.update(figures)

    width = max((len(k) for k in results), default=10)
    print(f"\n{'figure':<{width}}  {'value':>12}  unit   (messages={messages})")
    for key, figure in results.items():
        print(f"{key:<{width}}  {figure['value']:>12}  {figure['unit']}")
    if args.only and args.out.exists():
        results = {**json.loads(args.out.read_text()), **results}
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
