"""Which address a request comes from, for rate limits: X-Forwarded-For counts only when the
direct peer is a trusted proxy (TRUSTED_PROXIES), and then its right-most untrusted entry."""

from ipaddress import ip_network

import pytest
from django.test import RequestFactory

from common.net import client_ip


def _request(peer: str, forwarded: str | None = None):
    extra = {} if forwarded is None else {"HTTP_X_FORWARDED_FOR": forwarded}
    return RequestFactory().get("/", REMOTE_ADDR=peer, **extra)


@pytest.fixture
def proxies(settings):
    settings.TRUSTED_PROXIES = [ip_network("10.0.0.5"), ip_network("172.18.0.0/16")]


def test_without_trusted_proxies_the_forwarded_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(_request("10.0.0.5", "1.2.3.4")) == "10.0.0.5"


def test_a_client_talking_directly_cannot_choose_its_address(proxies):
    # What the issue 16 probe did: rotating fake addresses straight at the published port.
    for fake in ("1.2.3.4", "5.6.7.8", "10.0.0.5"):
        assert client_ip(_request("203.0.113.9", fake)) == "203.0.113.9"


def test_behind_a_trusted_proxy_the_address_it_saw_counts_not_what_the_client_sent(proxies):
    request = _request("10.0.0.5", "6.6.6.6, 198.51.100.7")
    assert client_ip(request) == "198.51.100.7"


def test_behind_two_trusted_proxies_the_right_most_untrusted_address_counts(proxies):
    request = _request("172.18.0.3", "6.6.6.6, 198.51.100.7, 10.0.0.5")
    assert client_ip(request) == "198.51.100.7"


def test_a_trusted_proxy_without_the_header_is_the_client(proxies):
    assert client_ip(_request("10.0.0.5")) == "10.0.0.5"
    assert client_ip(_request("10.0.0.5", "10.0.0.5")) == "10.0.0.5"


def test_an_ipv4_mapped_peer_is_recognised_as_the_proxy(proxies):
    assert client_ip(_request("::ffff:10.0.0.5", "198.51.100.7")) == "198.51.100.7"
