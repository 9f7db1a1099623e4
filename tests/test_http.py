"""Which address a request comes from, for rate limits, with and without a trusted proxy."""

from django.test import RequestFactory

from tickets.http import client_ip


def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(settings):
    settings.TRUST_X_FORWARDED_FOR = False
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(request) == "10.0.0.5"


def test_behind_the_proxy_the_last_forwarded_address_counts_not_what_the_client_sent(settings):
    settings.TRUST_X_FORWARDED_FOR = True
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7"
    )
    assert client_ip(request) == "198.51.100.7"
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR="10.0.0.5")) == "10.0.0.5"
