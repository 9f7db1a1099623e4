"""Peak memory of the mail fetcher with one very large mail in the IMAP backlog (issue #13).

The backlog in a real Dovecot: BEFORE ordinary mails, one mail of about 50 MB (a base64
attachment built in memory), then AFTER ordinary mails. ``manage.py fetch_mail`` runs as its
own process, as the compose service ``fetcher`` does, until every mail is stored and filed;
its memory is read from /proc/<pid>/status.

The BEFORE mails are in the folder when the fetcher starts; once they are filed, the
fetcher's resident set (VmRSS) is read: its baseline, a Django process that has fetched and
filed mail. Then the big mail and the AFTER mails are appended (the fetcher sees them through
IDLE); once every mail is filed, its peak resident set (VmHWM) is read.

    intake_peak_rss_mb          VmHWM at the end: the process's peak, baseline included
    intake_rss_baseline_mb      VmRSS after the BEFORE mails, before the big mail came
    intake_rss_largest_mail_mb  the big mail's size as stored (the server's CRLF copy)
    intake_peak_rss_ratio       (peak - baseline) / largest mail's size

The goal in the issue: the ratio under 2 (the big mail costs less than twice its size).
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


def _status_kb(pid: int, field: str) -> int:
    """A memory figure of a live process (VmRSS, VmHWM) from /proc (Linux), in kB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


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
    before = [_ordinary(n, suffix) for n in range(BEFORE)]
    after = [big, *(_ordinary(BEFORE + n, suffix) for n in range(AFTER))]
    with Dovecot.start({"desk": "bench-pw"}) as imap:
        team, mailbox = imap_desk(
            imap,
            slug=f"intake-rss-{suffix}",
            name="Intake RSS bench",
            prefix=f"R{suffix.upper()}",
            mailbox=f"rss-{suffix}",
        )
        imap.append_many("desk", "bench-pw", before)
        del before
        args = [PYTHON, "manage.py", "fetch_mail", "--mailbox", mailbox.name]
        log = folder / "fetcher.log"
        filed = RawMessage.objects.filter(team=team).exclude(state="new")
        started = time.perf_counter()
        with running(args, child_env(DAST_VAR_DIR=str(folder)), log) as fetcher:
            _wait_filed(filed, BEFORE, fetcher, log)
            baseline_kb = _status_kb(fetcher.pid, "VmRSS")
            baseline_hwm_kb = _status_kb(fetcher.pid, "VmHWM")
            imap.append_many("desk", "bench-pw", after)
            del after
            _wait_filed(filed, BEFORE + 1 + AFTER, fetcher, log)
            seconds = time.perf_counter() - started
            peak_kb = _status_kb(fetcher.pid, "VmHWM")
        mailbox.active = False
        mailbox.save(update_fields=["active"])
    peak_mb, baseline_mb = peak_kb / 1024, baseline_kb / 1024
    # The mail as the fetcher got it: the server sends CRLF line ends, ~0.6 MB more.
    largest_mb = (
        RawMessage.objects.filter(team=team).order_by("-size").values_list("size", flat=True)[0]
        / MB
    )
    ratio = (peak_mb - baseline_mb) / largest_mb
    print(
        f"bench_intake_rss: {BEFORE + 1 + AFTER} mails filed in {seconds:.1f} s; "
        f"baseline RSS {baseline_mb:.1f} MB (peak so far {baseline_hwm_kb / 1024:.1f} MB) "
        f"after {BEFORE} mails; peak RSS {peak_mb:.1f} MB; largest mail {largest_mb:.1f} MB; "
        f"(peak - baseline) / largest = {ratio:.2f}",
        file=sys.stderr,
    )
    return {
        "intake_peak_rss_mb": {"value": round(peak_mb, 1), "unit": "MB"},
        "intake_rss_baseline_mb": {"value": round(baseline_mb, 1), "unit": "MB"},
        "intake_rss_largest_mail_mb": {"value": round(largest_mb, 1), "unit": "MB"},
        "intake_peak_rss_ratio": {"value": round(ratio, 2), "unit": "x"},
    }
