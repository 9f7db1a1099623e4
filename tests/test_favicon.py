"""The desk has an icon: every page links it, and /favicon.ico (which browsers ask for on
their own) leads to it instead of a 404 in the log."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def test_the_pages_link_the_icon_and_favicon_ico_leads_to_it(client):
    page = client.get("/login/")
    assert page.status_code == 200
    assert 'rel="icon"' in page.content.decode()
    assert "favicon.svg" in page.content.decode()
    answer = client.get("/favicon.ico")
    assert answer.status_code == 301
    assert answer["Location"].endswith("favicon.svg")
    icon = Path(settings.BASE_DIR) / "static" / "favicon.svg"
    assert icon.read_text().startswith("<svg")
