"""Storing a big mail's raw bytes in pieces (``tickets.mail.mailstore.raw_store_file``).

    raw_store_big_s        wall time to store one 48 MB mail (12 pieces of 4 MB), committed
    raw_store_big_wal_mb   what PostgreSQL wrote to its write-ahead log for it (the value
                           written once is ~48 MB; appending each piece to the stored value
                           rewrote it each time: ~300 MB)

Conditions: the mail is random base64 text in a temporary file (incompressible, as an
attachment is), the database is ``make bench``'s PostgreSQL on this host. The fetcher's own
memory with such a mail is ``bench_intake_rss``.
"""

from __future__ import annotations

import base64
import os
import sys
import tempfile
import time
import uuid

from django.db import connection, transaction

MB = 1024 * 1024
SIZE = 48 * MB


def _wal_lsn() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        return cursor.fetchone()[0]


def _wal_mb(since: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", [since])
        return float(cursor.fetchone()[0]) / MB


def run(ctx) -> dict:
    from people.models import Team
    from tickets.mail.mailstore import raw_store_file
    from tickets.models import Mailbox, RawMessage

    if connection.vendor != "postgresql":
        print("bench_raw_store: needs PostgreSQL (make bench)", file=sys.stderr)
        return {}
    suffix = uuid.uuid4().hex[:6]
    team = Team.objects.create(
        slug=f"raw-{suffix}", name="Raw store bench", ticket_prefix=f"W{suffix.upper()}"
    )
    mailbox = Mailbox.objects.create(
        team=team, name=f"raw-{suffix}", host="127.0.0.1", username="x", active=False
    )
    header = (
        f"From: a@example.org\r\nTo: desk@example.org\r\nSubject: big\r\n"
        f"Message-ID: <big-{suffix}@example.org>\r\n\r\n"
    ).encode()
    figures: dict[str, list[float]] = {"s": [], "wal": []}
    with tempfile.TemporaryFile(dir=ctx.work_dir) as fp:
        fp.write(header)
        while fp.tell() < SIZE:
            fp.write(base64.encodebytes(os.urandom(3 * MB // 4)).replace(b"\n", b"\r\n"))
        size = fp.tell()
        for uid in (1, 2, 3):
            since = _wal_lsn()
            started = time.perf_counter()
            with transaction.atomic():
                row = raw_store_file(
                    team=team, mailbox=mailbox, uidvalidity=1, uid=uid, fp=fp, sha256="x" * 64
                )
            figures["s"].append(time.perf_counter() - started)
            figures["wal"].append(_wal_mb(since))
            assert row is not None
    stored = RawMessage.objects.filter(team=team).values_list("size", flat=True)
    assert list(stored) == [size] * 3
    RawMessage.objects.filter(team=team).delete()
    best = min(range(3), key=lambda i: figures["s"][i])
    print(
        f"bench_raw_store: a {size / MB:.1f} MB mail stored 3 times: "
        f"{', '.join(f'{s:.2f}' for s in figures['s'])} s; WAL "
        f"{', '.join(f'{w:.0f}' for w in figures['wal'])} MB",
        file=sys.stderr,
    )
    return {
        "raw_store_big_s": {"value": round(figures["s"][best], 2), "unit": "s"},
        "raw_store_big_wal_mb": {"value": round(max(figures["wal"]), 1), "unit": "MB"},
    }
