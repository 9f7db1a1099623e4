"""The shifter's desk at DAST scale: the queue page, a 20-message ticket page and a ranked
two-word full-text search, on the archive imported into PostgreSQL (bench_import's team;
this benchmark imports the archive itself when run alone). Server time through Django's
whole stack (the test client), and the SQL queries each page costs.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid

REQUESTS = 200
THREAD = 20  # messages of the ticket page measured
SEARCHES = ("lost heartbeat", "rucio download", "exhausted task", "stage-in error", "proxy expired")


def _archive_team(ctx):
    """The team holding the imported archive (the largest bench-* team), importing it when
    there is none."""
    from django.db.models import Count

    from people.models import Team
    from tools.mailgen import write_archive

    team = (
        Team.objects.filter(slug__startswith="bench-")
        .annotate(n=Count("tickets"))
        .filter(n__gt=1000)
        .order_by("-n")
        .first()
    )
    if team is not None:
        return team
    if not ctx.archive_path.exists():
        write_archive(ctx.archive_path, messages=ctx.messages, seed=1)
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    team = Team.objects.create(
        slug=slug,
        name=slug,
        ticket_prefix=f"B{uuid.uuid4().hex[:6].upper()}",
        support_address="hn-atlas-dist-analysis-help@cern.ch",
    )
    args = [sys.executable, "manage.py", "import_mail", str(ctx.archive_path), "--team", slug]
    print(f"bench_queue: importing {ctx.archive_path} ...", file=sys.stderr, flush=True)
    subprocess.run([*args, "--no-progress"], env=os.environ, check=True, capture_output=True)
    _settle()
    return team


def _settle() -> None:
    """VACUUM ANALYZE the desk's tables after the import, as autovacuum does in a running
    installation (the GIN indexes' pending entries are merged, the planner has statistics),
    and CHECKPOINT: neither autovacuum nor the checkpointer then starts in the middle of the
    timings."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in ("tickets_message", "tickets_ticket", "tickets_attachment"):
            cursor.execute(f"VACUUM ANALYZE {table}")
        # The import left a gigabyte of dirty pages: written now, not by the checkpointer
        # in the middle of the timings.
        cursor.execute("CHECKPOINT")


def _grow_thread(ticket, size: int) -> None:
    """Make the ticket's thread ``size`` messages long (the archive's longest are shorter):
    the requester and the desk take turns, with bodies of real archive mail."""
    from datetime import timedelta

    from tickets.models import Message, MessageKind

    have = ticket.messages.count()
    if have >= size:
        return
    last = ticket.messages.order_by("-created_at").first()
    bodies = Message.objects.filter(team_id=ticket.team_id).exclude(ticket=ticket)
    rows = []
    for n, source in enumerate(bodies.order_by("pk")[: size - have]):
        mine = n % 2 == 1
        rows.append(
            Message(
                ticket=ticket,
                team_id=ticket.team_id,
                kind=MessageKind.EMAIL_OUT if mine else MessageKind.EMAIL_IN,
                sender_email="dast-desk@cern.ch" if mine else ticket.requester.email,
                subject=f"Re: {ticket.subject}",
                body_text=source.body_text,
                body_html=source.body_html,
                quote_start=source.quote_start,
                created_at=last.created_at + timedelta(hours=n + 1),
                message_id=f"<bench-thread-{ticket.pk}-{n}@dast.example>",
            )
        )
    Message.objects.bulk_create(rows)


def _timed(client, url: str, requests: int = REQUESTS) -> tuple[float, float, int]:
    """(p50 ms, p95 ms, queries of one request) after a warm-up."""
    from django.db import connection

    for _ in range(5):
        assert client.get(url).status_code == 200, url
    # Counted by an execute wrapper: the query log (CaptureQueriesContext) stays empty when
    # the request closes its connection at the end, as it does with DEBUG off.
    queries: list[str] = []

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        client.get(url)
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return statistics.median(timings), statistics.quantiles(timings, n=100)[94], len(queries)


def _cpu_check() -> float:
    """Milliseconds this host takes for a fixed piece of pure Python (median of 5): the same
    code gives other page times on a busy host, and this figure says how busy it was."""
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        sum(i * i for i in range(1_000_000))
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def run(ctx) -> dict:
    from django.contrib.auth.models import User
    from django.db.models import Count
    from django.test import Client

    from dast.process import freeze_loaded_objects
    from people.models import Membership, Role
    from tickets.models import Message, Ticket

    team = _archive_team(ctx)
    user, _ = User.objects.get_or_create(username=f"{team.slug}-shifter")
    Membership.objects.get_or_create(team=team, user=user, role=Role.SHIFTER)
    tickets = Ticket.objects.filter(team=team)
    messages = Message.objects.filter(team=team).count()
    print(f"bench_queue: {tickets.count()} tickets, {messages} messages", file=sys.stderr)
    long = tickets.annotate(n=Count("messages")).order_by("-n").first()
    assert long is not None
    _grow_thread(long, THREAD)
    Ticket.objects.filter(pk=long.pk).update(assignee=user)
    client = Client()
    client.force_login(user)
    # As the web server does once it has loaded the application (dast/wsgi.py).
    freeze_loaded_objects()

    cpu_before = _cpu_check()
    queue_p50, queue_p95, queue_queries = _timed(client, f"/tickets/?team={team.slug}")
    all_p50, all_p95, all_queries = _timed(client, "/tickets/?view=all&page=40")
    ticket_p50, ticket_p95, ticket_queries = _timed(client, f"/tickets/{long.reference}/")
    search_timings, search_queries = [], 0
    for words in SEARCHES:
        _, p95, queries = _timed(client, f"/tickets/?q={words.replace(' ', '+')}")
        search_timings.append(p95)
        search_queries = max(search_queries, queries)
    cpu_after = _cpu_check()
    figures = {
        "desk_cpu_check_ms": ((cpu_before + cpu_after) / 2, "ms"),
        "queue_p95_ms": (queue_p95, "ms"),
        "queue_p50_ms": (queue_p50, "ms"),
        "queue_all_page40_p95_ms": (all_p95, "ms"),
        "queue_queries": (queue_queries, "queries"),
        "queue_all_queries": (all_queries, "queries"),
        "ticket_p95_ms": (ticket_p95, "ms"),
        "ticket_p50_ms": (ticket_p50, "ms"),
        "ticket_queries": (ticket_queries, "queries"),
        "ticket_thread_messages": (long.messages.count(), "messages"),
        "search_p95_ms": (max(search_timings), "ms"),
        "search_queries": (search_queries, "queries"),
        "desk_messages_loaded": (messages, "messages"),
    }
    print(
        f"bench_queue: queue p50 {queue_p50:.1f} ms, ticket p50 {ticket_p50:.1f} ms, all-view "
        f"p50 {all_p50:.1f} ms",
        file=sys.stderr,
    )
    return {
        name: {"value": round(value, 2) if unit == "ms" else value, "unit": unit}
        for name, (value, unit) in figures.items()
    }
