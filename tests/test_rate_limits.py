"""One rate limiter (common.ratelimit) behind every limit: password sign-in per account and
per address with a lockout that says when to retry, and a throttle on every API (issue 16)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from ipaddress import ip_network

import pytest
import time_machine
from django.test import Client
from rest_framework.test import APIClient

from common import ratelimit
from people.models import Role
from tests.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db
NOON = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def own_cache(settings, request):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"rate-{request.node.nodeid}",
        }
    }


@pytest.fixture
def clock():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def anna():
    user = UserFactory(username="anna")
    user.set_password("right-horse-battery")
    user.save()
    MembershipFactory(team=TeamFactory(slug="dast"), user=user, role=Role.SHIFTER)
    return user


def login(client: Client, password: str, username: str = "anna", **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


# --- the limiter ----------------------------------------------------------------------------


def test_a_rate_reads_as_drf_writes_it():
    assert ratelimit.Rate.parse("600/min") == ratelimit.Rate(600, 60)
    assert ratelimit.Rate.parse("5/hour") == ratelimit.Rate(5, 3600)
    with pytest.raises(ValueError, match="not a rate"):
        ratelimit.Rate.parse("often")


def test_take_refuses_past_the_limit_counts_nothing_then_and_says_when(clock):
    hit = ratelimit.Hit("test", "alice", ratelimit.Rate(3, 600))
    for _ in range(3):
        ratelimit.take(hit)
    with pytest.raises(ratelimit.Limited) as over:
        ratelimit.take(hit)
    # The three counts sit in the window's newest 100-second bucket: free once it leaves.
    assert over.value.retry_at == NOON.timestamp() + 600
    assert ratelimit.add(hit) == 4  # the refused one was not counted
    clock.shift(timedelta(seconds=601))
    ratelimit.take(hit)


def test_the_window_slides_older_counts_leave_first(clock):
    hit = ratelimit.Hit("test", "bob", ratelimit.Rate(2, 600))
    ratelimit.take(hit)
    clock.shift(timedelta(seconds=300))
    ratelimit.take(hit)
    assert ratelimit.blocked(hit) == NOON.timestamp() + 600
    clock.shift(timedelta(seconds=301))
    assert ratelimit.blocked(hit) is None


# --- password sign-in -----------------------------------------------------------------------


def test_sixty_wrong_passwords_lock_the_account_and_the_page_says_until_when(
    client, anna, clock, settings
):
    settings.LOGIN_FAILURES_PER_ACCOUNT, settings.LOGIN_LOCKOUT_MINUTES = 10, 15
    answers = [login(client, f"guess-{n}").status_code for n in range(60)]
    assert answers[:10] == [200] * 10  # the form again, "wrong password"
    assert set(answers[10:]) == {429}
    locked = login(client, "right-horse-battery")
    assert locked.status_code == 429
    assert "Try again at 12:15 UTC (in 15 minutes)" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    clock.shift(timedelta(minutes=15, seconds=1))
    assert login(client, "right-horse-battery").status_code == 302
    assert int(client.session["_auth_user_id"]) == anna.pk


def test_the_account_is_locked_from_every_address_and_the_address_for_every_account(
    anna, clock, settings
):
    settings.LOGIN_FAILURES_PER_ACCOUNT, settings.LOGIN_FAILURES_PER_ADDRESS = 3, 5
    for n in range(3):
        login(Client(REMOTE_ADDR="198.51.100.1"), f"guess-{n}")
    assert login(Client(REMOTE_ADDR="203.0.113.50"), "right-horse-battery").status_code == 429
    UserFactory(username="sofia").set_password("x")
    attacker = Client(REMOTE_ADDR="192.0.2.66")
    for n in range(5):
        login(attacker, "wrong", username=f"user{n}")
    assert login(attacker, "x", username="sofia").status_code == 429


def test_a_right_password_forgives_the_accounts_earlier_failures(client, anna, clock, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    login(client, "typo-1")
    login(client, "typo-2")
    assert login(client, "right-horse-battery").status_code == 302
    client.logout()
    login(client, "typo-3")
    login(client, "typo-4")
    assert login(client, "right-horse-battery").status_code == 302


def test_rotating_forwarded_addresses_do_not_escape_the_address_limit(anna, clock, settings):
    settings.TRUSTED_PROXIES = [ip_network("10.0.0.5")]
    settings.LOGIN_FAILURES_PER_ADDRESS, settings.LOGIN_FAILURES_PER_ACCOUNT = 3, 100
    direct = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(3):
        login(direct, "wrong", username=f"u{n}", HTTP_X_FORWARDED_FOR=f"1.2.3.{n}")
    answer = login(direct, "right-horse-battery", HTTP_X_FORWARDED_FOR="1.2.3.99")
    assert answer.status_code == 429


def test_the_admin_sign_in_is_locked_too(client, anna, clock, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    anna.is_staff = True
    anna.save()
    for n in range(2):
        client.post("/admin/login/", {"username": "anna", "password": f"guess-{n}"})
    page = client.post("/admin/login/", {"username": "anna", "password": "right-horse-battery"})
    assert "Too many failed sign-ins" in page.content.decode()
    assert "_auth_user_id" not in client.session


# --- every API ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/tickets/",
        "/api/v1/shifts/zones/?team=dast",
        "/api/v1/shifts/bookings/?team=dast",
        "/api/v1/escalation/groups/?team=dast",
        "/api/v1/escalation/escalations/?team=dast",
    ],
)
def test_every_api_answers_429_with_retry_after_past_its_rate(anna, clock, settings, url):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "api": "5/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    api = APIClient()
    api.force_authenticate(anna)
    answers = [api.get(url) for _ in range(6)]
    assert [a.status_code for a in answers[:5]] == [200] * 5
    assert answers[5].status_code == 429
    assert 1 <= int(answers[5]["Retry-After"]) <= 60
