"""grid/http.py: timeouts, bounded retries, a circuit breaker per service kept in the
database, and each outcome on the service's health row (and its admin page)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from grid.http import NotFound, ServiceError, ServiceUnavailable, fetch
from grid.models import BreakerState, ServiceHealth
from grid.parse import parse_job
from tests.gridfakes import Answer, fixture

pytestmark = pytest.mark.django_db

NOW = datetime(2024, 3, 12, 10, 0, tzinfo=UTC)
JOB = "/job"


def job(fake):  # type: ignore[no-untyped-def]
    return fetch("bigpanda", JOB, lambda r: parse_job(r.content), params={"pandaid": "1"})


def health() -> ServiceHealth:
    return ServiceHealth.objects.get(service="bigpanda")


@time_machine.travel(NOW, tick=False)
def test_an_answer_is_parsed_and_recorded_as_a_success(fake_grid):
    fake_grid.answer(JOB, Answer(fixture("bigpanda_job.json")))
    found = job(fake_grid)
    assert found.status == "failed"
    assert found.site == "ANALY_FZK"
    assert found.errors[0][:2] == ("pilot", 1305)
    row = health()
    assert row.state == BreakerState.CLOSED
    assert row.last_success_at == NOW
    assert row.last_error == ""


@time_machine.travel(NOW, tick=False)
def test_500s_are_retried_then_the_failure_is_recorded(fake_grid):
    fake_grid.answer(JOB, Answer(b"oops", 500, "text/plain"))
    with pytest.raises(ServiceError, match="HTTP 500"):
        job(fake_grid)
    assert fake_grid.asked(JOB) == 3  # one try and GRID_HTTP_RETRIES more
    row = health()
    assert row.failures == 1
    assert row.state == BreakerState.CLOSED  # one failed call is not yet an outage
    assert "HTTP 500" in row.last_error
    assert row.last_error_at == NOW


def test_a_500_then_an_answer_is_a_success(fake_grid):
    fake_grid.answer(JOB, Answer(b"busy", 503), Answer(fixture("bigpanda_job.json")))
    assert job(fake_grid).status == "failed"
    assert fake_grid.asked(JOB) == 2
    assert health().failures == 0


def test_the_breaker_opens_after_failed_calls_and_then_calls_nobody(fake_grid):
    fake_grid.answer(JOB, Answer(b"oops", 500))
    with time_machine.travel(NOW, tick=False):
        for _ in range(2):  # GRID_BREAKER_FAILURES in the fixture
            with pytest.raises(ServiceError):
                job(fake_grid)
        assert health().state == BreakerState.OPEN
        assert health().open_until == NOW + timedelta(seconds=300)
        asked = fake_grid.asked(JOB)
        with pytest.raises(ServiceUnavailable, match="circuit open until"):
            job(fake_grid)
        assert fake_grid.asked(JOB) == asked  # no request went out


def test_after_the_cool_down_one_trial_call_closes_the_breaker(fake_grid):
    ServiceHealth.objects.create(
        service="bigpanda", state=BreakerState.OPEN, failures=5, open_until=NOW
    )
    fake_grid.answer(JOB, Answer(fixture("bigpanda_job.json")))
    with time_machine.travel(NOW + timedelta(seconds=1), tick=False):
        assert job(fake_grid).status == "failed"
    row = health()
    assert (row.state, row.failures, row.open_until) == (BreakerState.CLOSED, 0, None)


def test_a_failed_trial_opens_the_breaker_again_at_once(fake_grid):
    ServiceHealth.objects.create(
        service="bigpanda", state=BreakerState.OPEN, failures=0, open_until=NOW
    )
    fake_grid.answer(JOB, Answer(b"", 502))
    later = NOW + timedelta(seconds=1)
    with time_machine.travel(later, tick=False), pytest.raises(ServiceError):
        job(fake_grid)
    row = health()
    assert row.state == BreakerState.OPEN
    assert row.open_until == later + timedelta(seconds=300)


def test_while_one_process_makes_the_trial_the_others_do_not_call(fake_grid):
    ServiceHealth.objects.create(
        service="bigpanda", state=BreakerState.HALF_OPEN, open_until=NOW + timedelta(seconds=30)
    )
    with time_machine.travel(NOW, tick=False), pytest.raises(ServiceUnavailable):
        job(fake_grid)
    assert fake_grid.asked(JOB) == 0


def test_a_slow_answer_times_out_and_says_so(fake_grid, settings):
    settings.GRID_HTTP_TIMEOUT_S = 0.2
    settings.GRID_HTTP_RETRIES = 1
    fake_grid.answer(JOB, Answer(fixture("bigpanda_job.json"), delay_s=1.0))
    with pytest.raises(ServiceError, match=r"timed out after 0\.2 s"):
        job(fake_grid)
    assert "timed out" in health().last_error


def test_a_malformed_body_is_a_clear_error_and_is_not_asked_again(fake_grid):
    fake_grid.answer(JOB, Answer(b'{"job": {"jobstatus": "fail'))  # truncated
    with pytest.raises(ServiceError, match=r"malformed answer .* not JSON"):
        job(fake_grid)
    assert fake_grid.asked(JOB) == 1
    assert "not JSON" in health().last_error


def test_a_wrong_shape_is_named(fake_grid):
    fake_grid.answer(JOB, Answer(json.dumps({"jobs": []}).encode()))
    with pytest.raises(ServiceError, match='expected an object with a "job" object'):
        job(fake_grid)


def test_401_is_not_retried(fake_grid):
    fake_grid.answer(JOB, Answer(b"", 401))
    with pytest.raises(ServiceError, match="HTTP 401"):
        job(fake_grid)
    assert fake_grid.asked(JOB) == 1


def test_429_waits_as_asked_when_that_is_short(fake_grid):
    fake_grid.answer(
        JOB,
        Answer(b"", 429, headers={"Retry-After": "0"}),
        Answer(fixture("bigpanda_job.json")),
    )
    assert job(fake_grid).status == "failed"


def test_429_asking_for_a_long_wait_fails_the_call(fake_grid):
    fake_grid.answer(JOB, Answer(b"", 429, headers={"Retry-After": "3600"}))
    with pytest.raises(ServiceError, match="longer than a task waits"):
        job(fake_grid)
    assert fake_grid.asked(JOB) == 1


def test_404_is_not_found_and_the_service_is_healthy(fake_grid):
    with pytest.raises(NotFound):
        job(fake_grid)
    assert health().state == BreakerState.CLOSED
    assert health().last_success_at is not None


def test_a_service_without_a_url_is_never_called(settings, loopback_only):
    settings.GRID_SERVICES = {"bigpanda": {"url": ""}}
    with pytest.raises(ServiceUnavailable, match="not configured"):
        fetch("bigpanda", JOB, lambda r: r)


def test_the_admin_lists_each_services_health(client, fake_grid):
    from tests.factories import UserFactory

    ServiceHealth.objects.create(
        service="gocdb",
        state=BreakerState.OPEN,
        failures=3,
        open_until=NOW,
        last_error="HTTP 503 from http://127.0.0.1/gocdbpi/public/",
    )
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:grid_servicehealth_changelist")).content.decode()
    assert "HTTP 503 from" in page
    assert "Open (no calls until it cools down)" in page
