"""Peak memory of the mail fetcher with one very large mail in the IMAP backlog (issue #13).

The backlog in a real Dovecot: BEFORE ordinary mails, one mail of about 50 MB (a base64
attachment built in memory), then AFTER ordinary mails. ``manage.py fetch_mail`` runs as its
own process, as the compose service ``fetcher`` does, until every mail is stored and filed;
its peak resident set size (VmHWM in /proc/<pid>/status) is read just before it is stopped.

The goal in the issue: a peak under twice the largest mail. The figure is reported as
measured; ``intake_peak_rss_ratio`` is peak / largest mail.
"""

from __future__ import annotations

import os
import sys
import time
import uuid

from benchmarks.desks import imap_desk
from tests.mailfactory import make_mail
from tests.mailservers import Dovecot
from tests.procs import PYTHON, child_env, running
from tickets.models import RawMessage

BEFORE = 200
AFTER = 20
BIG_MAIL_BYTES = 50 * 1024 * 1024
MB = 1024 * 1024


def _big_mail(suffix: str) -> bytes:
    """A mail of about BIG_MAIL_BYTES: base64 makes 3 bytes into 4, plus line ends."""
    payload = os.urandom(BIG_MAIL_BYTES * 3 // 4 * 76 // 78)
    return make_mail(
        sender=("Big Sender", f"big.{suffix}@cern.ch"),
        message_id=f"<big-{suffix}@cern.ch>",
        subject=f"Full job log attached {suffix}",
        attachments=(("pilotlog.tar.gz", "application/gzip", payload),),
    )


def _ordinary(n: int, suffix: str) -> bytes:
    return make_mail(
        sender=(f"User {n}", f"user{n}.{suffix}@cern.ch"),
        message_id=f"<rss-{n}-{suffix}@cern.ch>",
        subject=f"Task {n} exhausted {suffix}",
    )


def _peak_rss_kb(pid: int) -> int:
    """The peak resident set size of a live process, from /proc (Linux)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for process {pid}")


def _wait_filed(filed, total: int, fetcher, log, timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while filed.count() < total:
        if fetcher.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"fetch_mail exited with {fetcher.returncode}:\n{tail}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{filed.count()} of {total} mails filed in {timeout:.0f} s")
        time.sleep(0.2)


def run(ctx) -> dict:
    suffix = uuid.uuid4().hex[:6]
    folder = ctx.work_dir / f"intake-rss-{suffix}"
    folder.mkdir(parents=True)
    big = _big_mail(suffix)
    raws = [
        *(_ordinary(n, suffix) for n in range(BEFORE)),
        big,
        *(_ordinary(BEFORE + n, suffix) for n in range(AFTER)),
    ]
    with Dovecot.start({"desk": "bench-pw"}) as imap:
        team, mailbox = imap_desk(
            imap,
            slug=f"intake-rss-{suffix}",
            name="Intake RSS bench",
            prefix=f"R{suffix.upper()}",
            mailbox=f"rss-{suffix}",
        )
        imap.append_many("desk", "bench-pw", raws)
        del raws
        args = [PYTHON, "manage.py", "fetch_mail", "--mailbox", mailbox.name]
        log = folder / "fetcher.log"
        filed = RawMessage.objects.filter(team=team).exclude(state="new")
        started = time.perf_counter()
        with running(args, child_env(DAST_VAR_DIR=str(folder)), log) as fetcher:
            _wait_filed(filed, BEFORE + 1 + AFTER, fetcher, log)
            seconds = time.perf_counter() - started
            peak_kb = _peak_rss_kb(fetcher.pid)
        mailbox.active = False
        mailbox.save(update_fields=["active"])
    peak_mb = peak_kb / 1024
    largest_mb = len(big) / MB
    print(
        f"bench_intake_rss: {BEFORE + 1 + AFTER} mails filed in {seconds:.1f} s, "
        f"peak RSS {peak_mb:.1f} MB, largest mail {largest_mb:.1f} MB",
        file=sys.stderr,
    )
    return {
        "intake_peak_rss_mb": {"value": round(peak_mb, 1), "unit": "MB"},
        "intake_rss_largest_mail_mb": {"value": round(largest_mb, 1), "unit": "MB"},
        "intake_peak_rss_ratio": {"value": round(peak_mb / largest_mb, 2), "unit": "x"},
    }
