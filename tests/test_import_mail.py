"""import_mail: archives into tickets with their dates and threads, no mail sent, re-runnable."""

from __future__ import annotations

import json
import mailbox
import os
from datetime import date, datetime, time, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from people.models import Role
from shifts.models import Booking, ShiftRole
from tests.corpus import CORPUS
from tests.factories import TeamFactory, shift_team
from tests.mailfactory import make_mail
from tickets.models import (
    EventKind,
    Message,
    OutboundMail,
    RawMessage,
    RawState,
    Status,
    Ticket,
)
from tickets.models.mail import OutboundKind

pytestmark = pytest.mark.django_db


def _import(*paths, team="dast") -> dict[str, int]:
    out = StringIO()
    call_command("import_mail", *map(str, paths), "--team", team, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def team():
    return TeamFactory(slug="dast", ticket_prefix="DAST")


def test_an_mbox_thread_is_imported_with_its_dates_and_threads_and_no_acknowledgement(
    team, tmp_path
):
    first = make_mail(message_id="<q@cern.ch>", subject="Rucio rule stuck")
    reply = make_mail(
        sender=("Shifter", "shifter@cern.ch"),
        subject="Re: Rucio rule stuck",
        message_id="<a@cern.ch>",
        in_reply_to="<q@cern.ch>",
        references="<q@cern.ch>",
    )
    other = make_mail(message_id="<o@cern.ch>", subject="AMI tag lookup")
    box = mailbox.mbox(tmp_path / "export.mbox")
    for raw in (first, reply, other):
        box.add(raw)
    box.flush()
    counts = _import(tmp_path / "export.mbox")
    assert counts == {
        "imported": 3,
        "joined": 1,
        "new_tickets": 2,
        "duplicates": 0,
        "rejected": 0,
        "failed": 0,
        "oversize": 0,
        "dropped_attachments": 0,
        "reordered": 0,
    }
    ticket = Ticket.objects.get(subject="Rucio rule stuck")
    assert ticket.messages.count() == 2
    assert OutboundMail.objects.count() == 0
    again = _import(tmp_path / "export.mbox")
    assert again["duplicates"] == 3
    assert again["imported"] == 0
    assert Ticket.objects.count() == 2


def test_the_summary_line_names_every_count(team, tmp_path):
    (tmp_path / "one.eml").write_bytes(make_mail())
    out = StringIO()
    call_command("import_mail", str(tmp_path / "one.eml"), "--team", "dast", stdout=out)
    assert out.getvalue().strip() == (
        "imported=1 joined=0 new_tickets=1 duplicates=0 rejected=0 failed=0 oversize=0 "
        "dropped_attachments=0 reordered=0"
    )


def test_every_file_of_the_real_world_corpus_imports_and_none_is_lost(team):
    if not CORPUS.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"the mail corpus is missing at {CORPUS}")
        pytest.skip("the mail corpus is not beside this checkout")
    files = [p for p in CORPUS.rglob("*") if p.is_file()]
    counts = _import(CORPUS)
    assert counts["imported"] + counts["duplicates"] == len(files)
    assert (
        counts["new_tickets"] + counts["joined"] + counts["rejected"] + counts["failed"]
        == counts["imported"]
    )
    # Every file is kept raw, a copy of another one as a duplicate.
    assert RawMessage.objects.count() == counts["imported"] + counts["duplicates"]
    assert RawMessage.objects.filter(state=RawState.DUPLICATE).count() == counts["duplicates"]
    assert RawMessage.objects.filter(state=RawState.NEW).count() == 0
    # Bounces and auto-replies are most of sisimai's share: they must not all be tickets.
    assert counts["rejected"] > 300
    assert counts["new_tickets"] > 100
    stored_messages = Message.objects.exclude(raw=None).count()
    assert stored_messages == counts["new_tickets"] + counts["joined"]


def test_an_eml_file_with_an_envelope_line_stays_one_message(team, tmp_path):
    body = "Hello,\n\nFrom what I see the task is broken.\n"
    raw = b"From anna@cern.ch Mon Mar  5 10:00:00 2018\n" + make_mail(body=body)
    (tmp_path / "one.eml").write_bytes(raw)
    assert _import(tmp_path / "one.eml")["new_tickets"] == 1
    assert "From what I see" in Message.objects.get().body_text


def test_gmail_labels_become_the_tickets_tags(team, tmp_path):
    raw = make_mail(headers={"X-Gmail-Labels": "Inbox,Rucio,=?UTF-8?Q?Gel=C3=B6st?=,Unread"})
    box = mailbox.mbox(tmp_path / "gmail.mbox")
    box.add(raw)
    box.flush()
    _import(tmp_path / "gmail.mbox")
    ticket = Ticket.objects.get()
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["Gelöst", "Rucio"]


def test_a_maildir_imports_like_an_mbox(team, tmp_path):
    from tools.mailgen import write_archive

    stats = write_archive(tmp_path / "maildir", messages=60, seed=3, fmt="maildir")
    counts = _import(tmp_path / "maildir")
    assert counts["imported"] == stats.messages == 60
    assert counts["new_tickets"] == stats.threads
    assert counts["failed"] == 0


def test_an_import_killed_half_way_completes_without_duplicates_when_run_again(
    team, tmp_path, postgres_url
):
    import signal
    import subprocess

    from tests.procs import PYTHON, ROOT, child_env, wait_for
    from tools.mailgen import write_archive

    stats = write_archive(tmp_path / "big.mbox", messages=6000, seed=5)
    env = child_env(DATABASE_URL=postgres_url)
    args = [
        PYTHON,
        "manage.py",
        "import_mail",
        str(tmp_path / "big.mbox"),
        "--team",
        "dast",
        "--json",
        "--no-progress",
    ]
    first = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    wait_for(lambda: RawMessage.objects.count() >= 1000, timeout=120, what="a few batches")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    stored = RawMessage.objects.count()
    assert 0 < stored < stats.messages
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout)
    assert counts["duplicates"] == stored
    assert counts["imported"] == stats.messages - stored
    assert RawMessage.objects.count() == stats.messages
    assert Ticket.objects.count() == stats.threads
    assert Message.objects.count() == stats.messages


GENEVA = ZoneInfo("Europe/Zurich")
WEDNESDAY = date(2026, 11, 18)


@pytest.mark.frozen_at(datetime.combine(WEDNESDAY, time(10), tzinfo=GENEVA))
def test_imported_threads_still_open_go_to_the_shifter_on_duty_without_acknowledgement(
    tmp_path, django_capture_on_commit_callbacks
):
    team = shift_team({"anna": Role.SHIFTER})
    anna = team.people["anna"]
    Booking.objects.create(zone=team.eu, day=WEDNESDAY, person=anna, role=ShiftRole.FIRST_LEVEL)
    recent = datetime.combine(WEDNESDAY - timedelta(days=2), time(9), tzinfo=GENEVA)
    old = recent - timedelta(days=60)
    (tmp_path / "recent.eml").write_bytes(make_mail(subject="Rucio rule stuck", date=recent))
    (tmp_path / "old.eml").write_bytes(make_mail(subject="AMI tag lookup", date=old))
    with django_capture_on_commit_callbacks(execute=True):  # the routing consumer runs
        _import(tmp_path)
    still_open = Ticket.objects.get(subject="Rucio rule stuck")
    assert still_open.assignee == anna
    assert still_open.events.filter(kind=EventKind.IMPORTED_OPEN).count() == 1
    closed = Ticket.objects.get(subject="AMI tag lookup")
    assert (closed.status, closed.assignee) == (Status.CLOSED, None)
    assert not OutboundMail.objects.filter(kind=OutboundKind.ACKNOWLEDGEMENT).exists()
    with django_capture_on_commit_callbacks(execute=True):
        _import(tmp_path)  # run again: announced once
    assert still_open.events.filter(kind=EventKind.IMPORTED_OPEN).count() == 1
