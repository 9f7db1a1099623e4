"""The desk's mails are worded by templates/mail/*.txt: each renders whole, a team's own
template wins, a subject stays one line, and the wording goes through gettext."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.template import Engine
from django.utils import translation

from common.mailtemplates import MailTemplateError, mail_render, mail_template
from dispatch.acknowledgement import tickets_acknowledge
from tests.factories import TeamFactory, TicketFactory
from tickets.mail.outbox import _as_email, mail_send
from tickets.models import OutboundMail
from tickets.models.mail import OutboundKind
from tickets.services.replies import requester_mail

MAIL_DIR = Path(settings.BASE_DIR) / "templates" / "mail"
WEDNESDAY_10 = datetime(2026, 11, 18, 10, 0, tzinfo=ZoneInfo("Europe/Zurich"))

# Values with the characters HTML escaping would change: text mails must keep them.
NAME = "Seán O'Brien & <co>"
SWAP = {"asked": "Cy Lee", "offered_by": "Bob Roe", "what": "EU on Monday 23 November"}
SHIFT = {"name": NAME, "team": "ATLAS DAST", "link": "https://desk.example/shifts/?team=dast"}
TICKETS = [
    {
        "reference": "DAST-12",
        "subject": "Rucio download fails",
        "age": "6 h 30 min",
        "holder": "Bob Roe",
        "last": "inbound email from Anna Kowalska, Wed 18 Nov 15:40",
        "url": "https://desk.example/tickets/DAST-12/",
    },
    {
        "reference": "DAST-14",
        "subject": "Task stuck",
        "age": "2 h 5 min",
        "holder": "",
        "last": "no messages",
        "url": "https://desk.example/tickets/DAST-14/",
    },
]
TICKET = {
    "reference": "DAST-12",
    "subject": "Rucio download fails",
    "url": "https://desk.example/tickets/DAST-12/",
}
# A realistic context for every mail template (a new template needs one here).
CONTEXTS: dict[str, dict[str, object]] = {
    "acknowledgement": {
        "name": NAME,
        "team": "ATLAS DAST",
        "reference": "DAST-12",
        "subject": "Rucio download fails",
        "when": "A shifter will look at it shortly.",
        "url": "https://desk.example/my/DAST-12/",
    },
    "signin": {
        "name": NAME,
        "team": "ATLAS DAST",
        "minutes": 30,
        "url": "https://desk.example/my/signin/abc/",
    },
    "draft_to_approve": {
        "trainee": NAME,
        "reference": "DAST-12",
        "subject": "Rucio download fails",
        "url": "https://desk.example/tickets/DAST-12/#d4",
    },
    "handover": {
        "name": NAME,
        "team": "ATLAS DAST",
        "count": 2,
        "code": "EU",
        "shift_day": "Wednesday 18 November",
        "time_zone": "Europe/Zurich",
        "shadow": "Tina Trainee",
        "tickets": TICKETS,
    },
    "escalation": {
        "subject": "Rucio download fails",
        "group": "Rucio/DDM",
        "by": NAME,
        "team": "ATLAS DAST",
        "note": "Please look at the RSE.",
        "essentials": "Ticket:    DAST-12 “Rucio download fails”\n",
        "target": "8 working hours",
        "calendar": "CERN working hours",
    },
    "escalation_cancelled": {
        "group": "Rucio/DDM",
        "team": "ATLAS DAST",
        "done": "resolved",
        "reference": "DAST-12",
        "subject": "Rucio download fails",
        "asked_on": "Monday 16 November",
    },
    "weekly_figures": {
        "team": "ATLAS DAST",
        "period": "week 46 of 2026",
        "figures": ["Mails: 230 (+12 on the week before)", "Backlog: 14 tickets"],
        "link": "https://desk.example/reports/?team=dast",
    },
    "shift_cancelled": SHIFT
    | {
        "what": "EU on Monday 23 November",
        "closed_on": "23 November 2026",
        "reason": "CERN closure",
        "code": "EU",
    },
    "shift_coverage_alert": SHIFT
    | {
        "count": 2,
        "code": "EU",
        "days": 14,
        "time_zone": "Europe/Zurich",
        "slots": ["Mon 23 Nov 08:00-16:00", "Tue 24 Nov 08:00-16:00"],
    },
    "shift_swap_request": SHIFT
    | {
        "by": "Bob Roe",
        "what": SWAP["what"],
        "what_back": "NA on Tuesday 24 November",
        "note": "I am at a workshop",
        "needs_approval": True,
    },
    "shift_swap_declined": SHIFT | SWAP,
    "shift_swap_accepted": SHIFT | SWAP | {"needs_approval": True},
    "shift_swap_to_approve": SHIFT | SWAP | {"what_back": ""},
    "shift_swap_done": SHIFT | SWAP | {"what_back": "NA on Tuesday 24 November"},
    "shift_swap_decided": SHIFT | SWAP | {"what_back": "", "by": "Dee Coord", "approved": True},
    "desk_first_answer_late": TICKET | {"requester": "anna@cern.ch", "hours": 2},
    "desk_escalation_failed": TICKET | {"target": "PanDA/JEDI", "error": "550 no such user"},
    "desk_still_waiting": TICKET
    | {"target": "GGUS", "link": "https://ggus.eu/#ticket/zoom/1", "since": "18 Nov 10:00"},
    "desk_group_silent": TICKET | {"target": "PanDA/JEDI", "label": "DDM ops", "told": True},
    "desk_group_answered": TICKET | {"target": "PanDA/JEDI", "who": NAME},
    "escalation_reminder": TICKET
    | {
        "group": "PanDA/JEDI",
        "team": "ATLAS DAST",
        "asked_on": "Wednesday 18 November",
        "target": "8 working hours",
        "calendar": "Mon-Fri 08:00-16:00 Europe/Zurich",
        "note": "Task 15934870 exhausted: see the log.",
    },
    "next_level_ask": TICKET
    | {
        "target": "PanDA/JEDI",
        "since": "Wednesday 18 November 10:00",
        "percent": 200,
        "target_hours": 8,
        "note": "Task 15934870 exhausted.",
        "hours": 4,
        "calendar": "Mon-Fri 08:00-16:00 Europe/Zurich",
    },
    "next_level_stand_down": TICKET
    | {"answered_by": "PanDA/JEDI", "asked_on": "Thursday 19 November"},
    "requester_waiting_reminder": TICKET
    | {"name": NAME, "days": 5, "team": "ATLAS DAST", "reply_subject": "Re: Rucio download fails"},
    "requester_resolved_silence": TICKET
    | {"name": NAME, "days": 10, "team": "ATLAS DAST", "reply_subject": "Re: Rucio download fails"},
    "notification": TICKET
    | {
        "kind": "New ticket",
        "name": NAME,
        "text": "New ticket DAST-12 “Rucio download fails” from Anna Kowalska",
        "settings_url": "https://desk.example/notifications/preferences/",
    },
    "shift_digest": {
        "team": "ATLAS DAST",
        "name": NAME,
        "gap_from": "Sat 21 Nov 16:00",
        "starts_at": "Mon 23 Nov 08:00",
        "zone": "EU",
        "time_zone": "Europe/Zurich",
        "counts": "2 new tickets, 1 drafts waiting for approval",
        "sections": [
            ("New tickets", ["DAST-12 Rucio download fails", "DAST-14 Task stuck"]),
            ("Drafts waiting for approval", ["DAST-9 draft by Tomas Doe"]),
        ],
        "url": "https://desk.example/tickets/",
    },
}


def _mail_templates() -> list[Path]:
    """Every mail template (partials, included by others, start with "_")."""
    return sorted(p for p in MAIL_DIR.glob("*.txt") if not p.name.startswith("_"))


@pytest.fixture
def strict(monkeypatch):
    """A value the template asks for and the context lacks shows as MISSING."""
    monkeypatch.setattr(Engine.get_default(), "string_if_invalid", "MISSING(%s)")


def test_every_mail_template_has_a_realistic_context_here():
    assert {p.stem for p in _mail_templates()} == set(CONTEXTS)


@pytest.mark.parametrize("name", sorted(CONTEXTS))
def test_every_mail_template_renders_whole_with_its_context(strict, name):
    mail = mail_render(name, CONTEXTS[name], team=None)
    assert mail.subject
    assert "\n" not in mail.subject
    assert mail.text.endswith("\n")
    assert not mail.text.startswith("\n")
    for part in (mail.subject, mail.text):
        assert "MISSING" not in part
        assert "None" not in part
        assert "&amp;" not in part
        assert "&#x27;" not in part
        assert "&lt;" not in part
    assert "{" not in mail.text
    assert "%}" not in mail.text


def test_every_mail_template_loads_i18n_and_marks_all_its_wording():
    for path in _mail_templates():
        source = path.read_text()
        assert source.startswith("{% load i18n %}"), path.name
        left = re.sub(r"\{#.*?#\}", "", source)
        left = re.sub(r"\{% blocktranslate.*?\{% endblocktranslate %\}", "", left, flags=re.S)
        left = re.sub(r"\{%.*?%\}|\{\{.*?\}\}", "", left)
        # What is left outside the tags is layout: spaces, line breaks, brackets, quotes.
        assert not re.search(r"[A-Za-z]{2,}", left), f"{path.name}: unmarked words {left!r}"


def test_the_wording_goes_through_gettext(monkeypatch):
    translation.gettext("")  # loads the real functions onto the translation object
    monkeypatch.setattr(translation._trans, "gettext", lambda s: f"»{s}")
    monkeypatch.setattr(translation._trans, "ngettext", lambda s, p, n: f"»{s if n == 1 else p}")
    ack = mail_render("acknowledgement", CONTEXTS["acknowledgement"], team=None)
    assert ack.text.startswith(f"»Dear {NAME},")
    assert "»You can also follow your request" in ack.text
    alert = mail_render("shift_coverage_alert", CONTEXTS["shift_coverage_alert"], team=None)
    assert alert.subject == "[»ATLAS DAST shifts] »2 uncovered EU slots"


def test_the_acknowledgement_reads_exactly_as_before():
    mail = mail_render("acknowledgement", CONTEXTS["acknowledgement"], team=None)
    assert mail.subject == "Rucio download fails"
    assert mail.text == (
        f"Dear {NAME},\n\n"
        "thank you for writing to ATLAS DAST. Your request is now ticket DAST-12:\n\n"
        "    Rucio download fails\n\n"
        "A shifter will look at it shortly.\n\n"
        "To add information, simply reply to this e-mail and keep [DAST-12] in the subject,\n"
        "so that everything stays in one place. Please do not open a new request for the "
        "same problem.\n\n"
        "You can also follow your request, and answer it, on the web:\n"
        "https://desk.example/my/DAST-12/\n\n"
        "-- \n"
        "ATLAS DAST help desk (this is an automatic message)\n"
    )


def test_the_handover_lists_each_ticket_and_wraps_its_introduction():
    mail = mail_render("handover", CONTEXTS["handover"], team=None)
    assert mail.subject == "[ATLAS DAST shifts] Handover: 2 tickets from the EU shift"
    assert mail.text == (
        f"Hello {NAME},\n\n"
        "the EU shift of Wednesday 18 November has ended. These 2 tickets still await\n"
        "a shifter's answer and are yours now (times are Europe/Zurich time):\n\n"
        "DAST-12  Rucio download fails\n"
        "    open for 6 h 30 min, until now with Bob Roe\n"
        "    last: inbound email from Anna Kowalska, Wed 18 Nov 15:40\n"
        "    https://desk.example/tickets/DAST-12/\n\n"
        "DAST-14  Task stuck\n"
        "    open for 2 h 5 min, until now with nobody\n"
        "    last: no messages\n"
        "    https://desk.example/tickets/DAST-14/\n\n"
        "Tina Trainee (trainee) shadows them.\n\n"
    )


def test_a_swap_request_without_note_or_approval_leaves_no_empty_lines():
    context = CONTEXTS["shift_swap_request"] | {"note": "", "what_back": "", "needs_approval": 0}
    mail = mail_render("shift_swap_request", context, team=None)
    assert mail.text == (
        f"Hello {NAME},\n\n"
        "Bob Roe asks you to take their EU on Monday 23 November shift.\n\n"
        "Accept or decline it on the shift calendar:\n\n"
        "https://desk.example/shifts/?team=dast\n"
    )


def test_a_line_break_in_a_subject_value_is_flattened_and_cannot_add_a_header():
    context = CONTEXTS["acknowledgement"] | {"subject": "Help\r\nBcc: victim@example.org\n"}
    mail = mail_render("acknowledgement", context, team=None)
    assert mail.subject == "Help Bcc: victim@example.org"
    assert "    Help\r\nBcc: victim@example.org\n" in mail.text  # the body keeps the value


@pytest.mark.django_db
@pytest.mark.frozen_at(WEDNESDAY_10)
def test_the_outbox_row_of_a_ticket_mail_is_tagged_one_line_and_sendable():
    ticket = TicketFactory(subject="Rucio\r\nBcc: victim@example.org")
    context = {k: v for k, v in CONTEXTS["acknowledgement"].items() if k != "subject"}
    row = requester_mail("acknowledgement", ticket=ticket, context=context)
    assert row.subject == f"[{ticket.reference}] Rucio Bcc: victim@example.org"
    assert row.automatic
    assert row.in_reply_to == ""
    assert ticket.reply_token in row.reply_to
    message = _as_email(row).message()  # Django refuses a header with a line break
    assert message["Subject"] == row.subject
    assert message["Bcc"] is None


@pytest.fixture
def team_templates(settings, tmp_path):
    """A deployment's own template folder before the desk's."""
    engine = settings.TEMPLATES[0]
    settings.TEMPLATES = [engine | {"DIRS": [tmp_path, *engine["DIRS"]]}]
    return tmp_path


def _override(root: Path, slug: str, name: str, source: str) -> None:
    path = root / "mail" / "teams" / slug / f"{name}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)


@pytest.mark.django_db
@pytest.mark.frozen_at(WEDNESDAY_10)
def test_a_teams_own_template_wins_and_other_teams_keep_the_desks(team_templates):
    biomed, dast = TeamFactory(slug="biomed"), TeamFactory(slug="dast")
    _override(
        team_templates,
        "biomed",
        "signin",
        "{% block subject %}biomed: your link{% endblock %}"
        "{% block text %}Bonjour {{ name }}, {{ url }}\n{% endblock %}",
    )
    context = CONTEXTS["signin"]
    for team in (biomed, dast):
        mail_send("signin", team=team, kind=OutboundKind.SIGN_IN, to=["a@x.org"], context=context)
    ours = OutboundMail.objects.get(team=biomed)
    assert (ours.subject, ours.body_text) == (
        "biomed: your link",
        f"Bonjour {NAME}, https://desk.example/my/signin/abc/\n",
    )
    desks = OutboundMail.objects.get(team=dast)
    assert desks.subject == "Your sign-in link for the ATLAS DAST help desk"
    assert desks.body_text.startswith(f"Hello {NAME},")


def test_a_template_without_its_blocks_is_refused_by_name(team_templates):
    _override(team_templates, "biomed", "signin", "Hello {{ name }}")
    with pytest.raises(MailTemplateError, match=r"biomed/signin.txt: no \{% block subject"):
        mail_template("signin", team=TeamFactory.build(slug="biomed"))


@pytest.mark.django_db
@pytest.mark.frozen_at(WEDNESDAY_10)
def test_a_batch_of_acknowledgements_loads_the_template_once_per_team(monkeypatch):
    team, other = TeamFactory(), TeamFactory()
    tickets = [TicketFactory(team=team) for _ in range(3)] + [TicketFactory(team=other)]
    loaded = []

    def counting(name, *, team):
        loaded.append((name, team.pk))
        return mail_template(name, team=team)

    monkeypatch.setattr("dispatch.acknowledgement.mail_template", counting)
    mails = tickets_acknowledge([(t, "A shifter will look at it shortly.") for t in tickets])
    assert len(mails) == 4
    assert sorted(loaded) == sorted([("acknowledgement", team.pk), ("acknowledgement", other.pk)])
    assert all(m.subject.startswith(f"[{m.ticket.reference}] ") for m in mails.values())
