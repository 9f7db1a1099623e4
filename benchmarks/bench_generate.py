"""Generate the DAST-scale support-mail archive that later benchmarks import (ctx.archive_path)."""

from __future__ import annotations

import sys
import time

from tools.mailgen import write_archive


def _progress(done: int, total: int) -> None:
    print(f"bench_generate: {done}/{total} messages", file=sys.stderr, flush=True)


def run(ctx) -> dict:
    ctx.archive_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    stats = write_archive(ctx.archive_path, messages=ctx.messages, seed=1, progress=_progress)
    seconds = time.perf_counter() - started
    return {
        "generate_msgs_per_s": {"value": round(stats.messages / seconds, 1), "unit": "msg/s"},
        "generate_archive_mb": {"value": round(stats.bytes / 1_000_000, 1), "unit": "MB"},
    }
