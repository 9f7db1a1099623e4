"""The requester's sign-in token (and an iCal feed's) never reaches a log: not gunicorn's
access log (request line, Referer) and not Django's warnings (issue 16)."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.test import Client
from gunicorn.config import Config

from dast.gunicorn_logging import RedactingLogger
from dast.redact import RedactSecrets, redact

pytestmark = pytest.mark.django_db
TOKEN = "Zq3v8Kp0fJm1Xw7Rt2Yb5Nc9Ld4Hs6Ga8Ue0Ti3Oy1Wq"


def test_redact_takes_the_token_out_of_sign_in_and_feed_urls_only():
    assert redact(f"POST /my/signin/{TOKEN}/ HTTP/1.1") == "POST /my/signin/[redacted]/ HTTP/1.1"
    assert redact(f"GET /shifts/feeds/{TOKEN}.ics") == "GET /shifts/feeds/[redacted].ics"
    assert redact("POST /shifts/feeds/renew/ HTTP/1.1") == "POST /shifts/feeds/renew/ HTTP/1.1"
    assert redact("GET /tickets/DAST-12/ HTTP/1.1") == "GET /tickets/DAST-12/ HTTP/1.1"


def test_gunicorns_access_log_shows_neither_the_path_nor_the_referer_token(tmp_path):
    config = Config()
    config.set("accesslog", str(tmp_path / "access.log"))
    logger = RedactingLogger(config)
    url = f"/my/signin/{TOKEN}/"
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": url,
        "PATH_INFO": url,
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.5",
        "HTTP_REFERER": f"https://desk.example.org{url}",
        "HTTP_USER_AGENT": "Firefox",
    }
    response = SimpleNamespace(status="302 Found", sent=0, headers=[])
    request = SimpleNamespace(headers=[("REFERER", f"https://desk.example.org{url}")])
    logger.access(response, request, environ, timedelta(milliseconds=12))
    for handler in logger.access_log.handlers:
        handler.flush()
    line = (tmp_path / "access.log").read_text()
    assert 'POST /my/signin/[redacted]/ HTTP/1.1" 302' in line
    assert TOKEN not in line


def test_djangos_warning_about_a_used_link_does_not_quote_the_token(caplog):
    caplog.handler.addFilter(RedactSecrets())
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = Client().post(f"/my/signin/{secrets.token_urlsafe(32)}/")
    assert response.status_code == 400  # used or expired: Django logs "Bad Request: <path>"
    assert "Bad Request: /my/signin/[redacted]/" in caplog.text


def test_the_settings_put_the_filter_on_every_log_line():
    from django.conf import settings

    assert settings.LOGGING["handlers"]["console"]["filters"] == ["redact"]
    assert settings.LOGGING["filters"]["redact"]["()"] == "dast.redact.RedactSecrets"
