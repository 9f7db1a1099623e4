"""Small things of the desk's pages: a styled 403 for the credits page, and the shift
calendar's colours reaching WCAG AA contrast (read from the stylesheet)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from people.models import Role
from tests.factories import shift_team

CSS = Path(__file__).resolve().parent.parent / "static" / "css" / "desk.css"


@pytest.mark.django_db
def test_a_shifter_asking_for_credits_gets_the_styled_403_page(client):
    team = shift_team({"elena": Role.COORDINATOR, "anna": Role.SHIFTER})
    client.force_login(team.people["anna"])
    response = client.get(reverse("shift-credits"))
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert '<header class="topbar">' in page  # the desk's own layout, not plain text
    assert "Credits are for the team&#x27;s coordinators." in page
    assert f'href="{reverse("shift-calendar")}"' in page


# --- contrast -------------------------------------------------------------------------------


def _luminance(hex_colour: str) -> float:
    value = hex_colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two colours."""
    light, dark = sorted([_luminance(a), _luminance(b)], reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _rules() -> list[tuple[str, dict[str, str]]]:
    text = re.sub(r"/\*.*?\*/", "", CSS.read_text(), flags=re.S)
    rules = []
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", text):
        decls = dict(
            (k.strip(), v.strip())
            for k, _, v in (d.partition(":") for d in body.split(";"))
            if v.strip()
        )
        for selector in selectors.split(","):
            rules.append((selector.strip(), decls))
    return rules


def _resolve(value: str, variables: dict[str, str]) -> str:
    found = re.search(r"var\((--[\w-]+)\)", value)
    if found:
        return variables[found.group(1)]
    colour = re.search(r"#[0-9a-fA-F]{3,6}\b", value)
    assert colour, value
    return colour.group(0)


def test_contrast_helper_agrees_with_known_ratios():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#767676", "#ffffff"), 2) == 4.54


def test_the_calendars_text_reaches_aa_contrast_on_every_cell_background():
    rules = _rules()
    variables = {k: v for selector, decls in rules if selector == ":root" for k, v in decls.items()}
    calendar = [(s, d) for s, d in rules if s.startswith(".month")]
    # Opacity fades text and background alike: the axe finding (2.5:1) came from it.
    assert not [s for s, d in calendar if "opacity" in d], "no faded calendar cells"
    backgrounds = {"#ffffff"} | {
        _resolve(d["background"], variables)
        for s, d in calendar
        # The cells themselves (td, td.past, td.closed, ...): their text sits on these.
        if re.fullmatch(r"\.month td(\.[\w-]+)*", s)
        and d.get("background", "").startswith(("#", "var("))
    }
    colours = {
        _resolve(d["color"], variables)
        for s, d in calendar
        if "color" in d and "#fff" not in d["color"]
    } | {variables["--ink"], variables["--muted"], variables["--accent"]}
    assert len(backgrounds) >= 5
    assert len(colours) >= 3
    low = [
        (fg, bg, round(contrast(fg, bg), 2))
        for fg in colours
        for bg in backgrounds
        if contrast(fg, bg) < 4.5
    ]
    assert low == []


def test_the_grid_badges_and_the_queues_downtime_icon_reach_aa_contrast():
    rules = _rules()
    variables = {k: v for selector, decls in rules if selector == ":root" for k, v in decls.items()}
    wanted = {".badge.badge-outage", ".badge.badge-warning", ".badge.badge-upcoming"}
    wanted.add(".row-mark.mark-outage")
    found = {s: d for s, d in rules if s in wanted}
    assert set(found) == wanted  # each has its own colours
    low = [
        (s, round(ratio, 2))
        for s, d in found.items()
        if (
            ratio := contrast(_resolve(d["color"], variables), _resolve(d["background"], variables))
        )
        < 4.5
    ]
    assert low == []
