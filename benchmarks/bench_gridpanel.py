"""The ticket page with a cold grid panel cache while the monitors answer in 2 s: the page
must not wait for them (issue 18). A local fake of BigPanDA, Rucio, GOCDB and CRIC on
127.0.0.1 sleeps 2 s before each answer; every request starts with the cache cleared and no
stored status, so the panel finds everything missing. Figures: p50/p95 of the ticket page
and of its status fragment (which asks a worker and returns at once), and how many calls
reached the fake monitor during them (0: nothing rendered called out)."""

from __future__ import annotations

import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REQUESTS = 30
MONITOR_DELAY_S = 2.0
SUBJECT = "Task 15934870 exhausted at ANALY_BNL_SHORT"
BODY = (
    "All jobs of JEDI task 15934870 fail (PandaID=6520941449) at ANALY_BNL_SHORT;\n"
    "the output user.jdoe:user.jdoe.15934870.out/ is incomplete on BNL-OSG2_SCRATCHDISK.\n"
)


class _SlowMonitor:
    def __init__(self) -> None:
        self.calls = 0
        monitor = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                monitor.calls += 1
                time.sleep(MONITOR_DELAY_S)
                body = b'{"task": {"status": "running"}}'
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _ticket():
    from django.contrib.auth.models import User

    from people.models import Membership, Role, Team
    from tickets.services import Sender, ticket_open

    team, _ = Team.objects.get_or_create(
        slug="bench-grid", defaults={"name": "Bench grid", "ticket_prefix": "BGRID"}
    )
    user, _ = User.objects.get_or_create(username="bench-grid-shifter")
    Membership.objects.get_or_create(team=team, user=user, role=Role.SHIFTER)
    ticket = ticket_open(
        team=team,
        sender=Sender("jdoe@cern.ch", "Jane Doe"),
        subject=SUBJECT,
        body_text=BODY,
        announce=False,
    )
    return user, ticket


def _p(timings: list[float]) -> tuple[float, float]:
    return statistics.median(timings), statistics.quantiles(timings, n=100)[94]


def run(ctx) -> dict:
    from django.core.cache import cache
    from django.test import Client, override_settings
    from django.urls import reverse

    from grid.models import DidStatus, GridStatus

    monitor = _SlowMonitor()
    services = {
        name: {"url": monitor.url, "token": "bench"}
        for name in ("gocdb", "cric", "bigpanda", "rucio", "ggus")
    }
    try:
        with override_settings(GRID_SERVICES=services, GRID_HTTP_TIMEOUT_S=10):
            user, ticket = _ticket()
            client = Client()
            client.force_login(user)
            page_url = reverse("ticket-detail", args=[ticket.reference])
            fragment_url = reverse("grid-status", args=[ticket.reference])
            timings: dict[str, list[float]] = {"page": [], "fragment": []}
            for _ in range(REQUESTS):
                for kind, url in (("page", page_url), ("fragment", fragment_url)):
                    cache.clear()  # cold: no ids, no "asked already", no team lists
                    GridStatus.objects.all().delete()
                    DidStatus.objects.all().delete()
                    started = time.perf_counter()
                    response = client.get(url)
                    timings[kind].append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, (url, response.status_code)
                    # The panel is there, its statuses still missing: nothing waited.
                    expected = fragment_url if kind == "page" else "asking…"
                    assert expected in response.content.decode(), kind
            page_p50, page_p95 = _p(timings["page"])
            fragment_p50, fragment_p95 = _p(timings["fragment"])
            calls = monitor.calls
    finally:
        monitor.close()
    print(
        f"bench_gridpanel: page p50 {page_p50:.1f} ms p95 {page_p95:.1f} ms, fragment p50 "
        f"{fragment_p50:.1f} ms p95 {fragment_p95:.1f} ms, monitor calls {calls} "
        f"(the monitor answers in {MONITOR_DELAY_S:.0f} s)",
        file=sys.stderr,
    )
    return {
        "gridpanel_p95_ms": {"value": round(page_p95, 1), "unit": "ms"},
        "gridpanel_p50_ms": {"value": round(page_p50, 1), "unit": "ms"},
        "gridpanel_fragment_p95_ms": {"value": round(fragment_p95, 1), "unit": "ms"},
        "gridpanel_monitor_calls_while_rendering": {"value": calls, "unit": "calls"},
    }
