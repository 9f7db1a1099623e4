"""Archive import of the generated archive into PostgreSQL: messages per second, peak memory.

Runs ``manage.py import_mail`` as its own process (as an admin would) on the archive that
bench_generate wrote, into a fresh team, and reads the child's peak RSS from the kernel.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import uuid

from people.models import Team
from tools.mailgen import write_archive


def run(ctx) -> dict:
    if not ctx.archive_path.exists():
        write_archive(ctx.archive_path, messages=ctx.messages, seed=1)
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    Team.objects.create(
        slug=slug,
        name=slug,
        ticket_prefix=f"B{uuid.uuid4().hex[:6].upper()}",
        support_address="hn-atlas-dist-analysis-help@cern.ch",
    )
    args = [
        sys.executable,
        "manage.py",
        "import_mail",
        str(ctx.archive_path),
        "--team",
        slug,
        "--json",
        "--no-progress",
    ]
    started = time.perf_counter()
    done = subprocess.run(args, env=os.environ, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"import_mail failed:\n{done.stderr[-3000:]}")
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    total = counts["imported"] + counts["duplicates"]
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"bench_import: {counts} in {seconds:.1f} s", file=sys.stderr)
    return {
        "import_msgs_per_s": {"value": round(total / seconds, 1), "unit": "msg/s"},
        "import_peak_rss_mb": {"value": round(peak_kb / 1024, 1), "unit": "MB"},
        "import_messages": {"value": total, "unit": "messages"},
    }
