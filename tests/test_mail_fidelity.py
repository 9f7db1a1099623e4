"""Mail fidelity (issue 13): nothing vanishes, nothing splits, every name readable.

Each case is a real message written out here (or a real mbox/.eml file on disk), run through
the parser, live intake or import_mail as the desk would.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command

from tests.factories import MailboxFactory, MembershipFactory, TeamFactory, UserFactory
from tests.mailfactory import make_mail
from tickets.mail.intake import raw_process, raw_store
from tickets.mail.parse import MailParseError, Noise, parse_message
from tickets.mail.sources import iter_sources
from tickets.models import EventKind, Message, MessageKind, RawMessage, RawState, Ticket
from tickets.models.mail import RawSource

NOW = datetime(2024, 3, 12, 12, 0, tzinfo=UTC)
SENT = datetime(2024, 3, 11, 9, 30, tzinfo=UTC)


def head(*lines: str | bytes) -> bytes:
    """A header block from lines (str as UTF-8, bytes as they are), then a blank line."""
    return b"".join((x.encode() if isinstance(x, str) else x) + b"\n" for x in lines) + b"\n"


def parse(raw: bytes, **kwargs):
    return parse_message(raw, now=NOW, **kwargs)


# --- 8: encoded display names ------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "=?utf-8?q?M=C3=BCller=2C_Andreas?=",
        "=?utf-8?q?M=C3=BCller,_Andreas?=",
        "=?utf-8?q?M=C3=BCller,=20Andreas?=",
    ],
)
def test_a_comma_inside_an_encoded_display_name_keeps_the_requesters_name(written):
    raw = head(f"From: {written} <a.mueller@kit.edu>", "Subject: jobs fail") + b"hello\n"
    sender = parse(raw).sender
    assert sender is not None
    assert (sender.name, sender.email) == ("Müller, Andreas", "a.mueller@kit.edu")


def test_an_encoded_name_with_a_comma_does_not_split_a_list_of_addresses():
    raw = head(
        "From: jo@cern.ch",
        "Cc: =?utf-8?q?M=C3=BCller,_Andreas?= <a@kit.edu>, Bo <bo@cern.ch>",
        "Subject: x",
    )
    assert [(a.name, a.email) for a in parse(raw + b"x\n").cc] == [
        ("Müller, Andreas", "a@kit.edu"),
        ("Bo", "bo@cern.ch"),
    ]


# --- 5: raw 8-bit headers ------------------------------------------------------------------


def test_raw_gbk_subject_and_sender_name_read_as_chinese():
    raw = head(
        b"From: " + "张伟".encode("gbk") + b" <zhang.wei@ihep.ac.cn>",
        b"Subject: " + "关于作业失败的问题 请帮忙查看".encode("gbk"),
        "Date: Mon, 11 Mar 2024 09:30:00 +0800",
    )
    mail = parse(raw + b"hello\n")
    assert mail.subject == "关于作业失败的问题 请帮忙查看"
    assert mail.sender is not None
    assert mail.sender.name == "张伟"


def test_raw_shift_jis_subject_reads_as_japanese():
    subject = "ジョブが失敗しました。確認をお願いします"
    raw = head("From: yamada@kek.jp", b"Subject: " + subject.encode("shift_jis"))
    assert parse(raw + b"hello\n").subject == subject


def test_raw_euc_jp_attachment_filename_reads_as_japanese_like_the_subject():
    raw = (
        head(
            "From: yamada@kek.jp",
            b"Subject: " + "ジョブの報告書です".encode("euc_jp"),
            "MIME-Version: 1.0",
            'Content-Type: multipart/mixed; boundary="b"',
        )
        + b"--b\nContent-Type: text/plain\n\nsee attached\n--b\n"
        + b'Content-Type: application/pdf\nContent-Disposition: attachment; filename="'
        + "報告書.pdf".encode("euc_jp")
        + b'"\nContent-Transfer-Encoding: base64\n\nJVBERi0=\n--b--\n'
    )
    mail = parse(raw)
    assert mail.subject == "ジョブの報告書です"
    assert [a.filename for a in mail.attachments] == ["報告書.pdf"]


def test_undeclared_utf8_headers_are_read_as_utf8_first():
    raw = head("From: Hélène Dupont <h@cern.ch>", "Subject: Tâches échouées")
    mail = parse(raw + b"x\n")
    assert mail.subject == "Tâches échouées"
    assert mail.sender is not None
    assert mail.sender.name == "Hélène Dupont"


# --- 7: named inline text ------------------------------------------------------------------


def test_a_named_inline_text_part_gives_the_body_when_there_is_no_other():
    raw = (
        head(
            "From: jo@cern.ch",
            "Subject: question",
            "MIME-Version: 1.0",
            'Content-Type: multipart/mixed; boundary="b"',
        )
        + b'--b\nContent-Type: text/plain; charset=utf-8; name="question.txt"\n'
        + b'Content-Disposition: inline; filename="question.txt"\n\n'
        + b"My task 15934872 fails at BNL.\n--b--\n"
    )
    mail = parse(raw)
    assert mail.text.strip() == "My task 15934872 fails at BNL."
    assert [a.filename for a in mail.attachments] == ["question.txt"]  # and kept under its name


def test_a_named_inline_text_part_beside_a_real_body_stays_an_attachment_only():
    raw = (
        head("From: jo@cern.ch", "Subject: q", 'Content-Type: multipart/mixed; boundary="b"')
        + b"--b\nContent-Type: text/plain\n\nthe body\n"
        + b'--b\nContent-Type: text/plain\nContent-Disposition: inline; filename="log.txt"\n\n'
        + b"log line\n--b--\n"
    )
    assert parse(raw).text.strip() == "the body"


# --- 4: lists ----------------------------------------------------------------------------


def test_a_person_posting_through_a_list_with_precedence_bulk_is_not_noise():
    # CERN e-groups relay with 'Precedence: bulk' and no List-Id.
    raw = head(
        "From: Jo User <jo.user@cern.ch>",
        "To: hn-atlas-dist-analysis-help@cern.ch",
        "Subject: jobs fail at SITE",
        "Precedence: bulk",
    )
    assert parse(raw + b"Hello, my jobs fail.\n").noise == Noise.NONE


def test_precedence_bulk_from_a_campaign_sender_is_still_bulk():
    raw = head(
        "From: Grid News <noreply@news.example.com>",
        "Subject: Our March newsletter",
        "Precedence: bulk",
        "X-Campaign: 2024-03",
    )
    assert parse(raw + b"news\n").noise == Noise.BULK


def test_an_auto_submitted_list_post_is_still_an_auto_reply():
    raw = head(
        "From: jo@cern.ch",
        "Subject: Out of Office",
        "Precedence: bulk",
        "List-Id: <hn.cern.ch>",
        "Auto-Submitted: auto-replied",
    )
    assert parse(raw + b"away\n").noise == Noise.AUTO_REPLY


# --- 10: not mail --------------------------------------------------------------------------


def test_a_text_file_with_only_x_lines_is_not_mail():
    with pytest.raises(MailParseError):
        parse(b"X-Axis: time (s)\nX-Unit: seconds\n\n1 2 3\n")


# --- 9: size cap ---------------------------------------------------------------------------


def _big_mail(log_bytes: int) -> bytes:
    return make_mail(
        subject="huge log",
        date=SENT,
        attachments=(
            ("small.txt", "text/plain", b"small\n"),
            ("huge.log", "application/octet-stream", b"x" * log_bytes),
        ),
    )


def test_a_mail_over_the_raw_cap_is_read_up_to_it_and_the_cut_attachment_dropped():
    raw = _big_mail(200_000)
    mail = parse(raw, max_raw_bytes=100_000)
    assert mail.oversize
    assert mail.subject == "huge log"
    assert "lost heartbeat" in mail.text
    kept = {a.filename: a for a in mail.attachments}
    assert kept["small.txt"].content == b"small\n"
    assert kept["huge.log"].dropped.startswith("cut off")
    assert kept["huge.log"].content == b""
    assert not parse(raw, max_raw_bytes=len(raw)).oversize


def test_the_fetcher_batches_by_bytes_and_fetches_a_big_mail_alone():
    from tickets.mail.fetch import _chunks

    sizes = {1: 10, 2: 10, 3: 500, 4: 10, 5: 10, 6: 10}
    assert list(_chunks([1, 2, 3, 4, 5, 6], sizes, 2, 100)) == [[1, 2], [3], [4, 5], [6]]


# --- 6: fingerprint -----------------------------------------------------------------------

LIST_FOOTER = (
    "\n_______________________________________________\n"
    "hn-atlas mailing list\nhttps://lists.example.org/listinfo/hn-atlas\n"
)


def test_the_lists_copy_and_the_direct_copy_share_a_fingerprint_other_mail_does_not():
    body = "My task fails.\n\n-- \nJo User, CERN IT\n"
    direct = make_mail(subject="task fails", body=body, date=SENT)
    listed = make_mail(subject="[hn-atlas] task fails", body=body + LIST_FOOTER, date=SENT)
    other = make_mail(subject="task fails", body="Another task fails.\n", date=SENT)
    from tickets.mail.fingerprint import content_fingerprint  # new in this change

    prints = [content_fingerprint(parse(m)) for m in (direct, listed, other)]
    assert prints[0] == prints[1]
    assert prints[2] != prints[0]


# --- 3: mbox -------------------------------------------------------------------------------

ENVELOPE = b"From anna.kowalska@cern.ch Mon Mar 11 09:30:00 2024\n"


def test_a_single_file_starting_with_an_envelope_and_a_from_paragraph_is_one_message(tmp_path):
    body = "Hello,\n\nFrom Monday 11 March 2024 at 09:30: my jobs fail.\nRegards: Anna\n"
    path = tmp_path / "message"  # no suffix: it might be an mbox
    path.write_bytes(ENVELOPE + make_mail(body=body, date=SENT))
    found = list(iter_sources([path]))
    assert len(found) == 1
    assert b"From Monday 11 March" in found[0][1]
    assert not found[0][1].startswith(b"From ")


def test_an_mbox_is_split_only_at_envelope_lines_and_unquotes_from(tmp_path):
    first = make_mail(subject="one", body="Text\n\n>From the log: lost heartbeat\n", date=SENT)
    second = make_mail(subject="two", body="Hi\n\nFrom what I see: all fine\nOK: yes\n")
    path = tmp_path / "export"
    path.write_bytes(ENVELOPE + first + b"\n" + ENVELOPE + second)
    found = [raw for _, raw in iter_sources([path])]
    assert len(found) == 2
    assert b"\nFrom the log: lost heartbeat" in found[0]
    assert b"From what I see: all fine\nOK: yes" in found[1]


# --- database: intake and import ----------------------------------------------------------


@pytest.fixture
def team(db):
    team = TeamFactory(slug="dast", ticket_prefix="DAST", support_address="hn-help@cern.ch")
    MailboxFactory(team=team)
    return team


@pytest.fixture
def deliver(team, django_capture_on_commit_callbacks):
    def deliver(raw: bytes):
        with django_capture_on_commit_callbacks(execute=True):
            stored = raw_store(team=team, raw=raw, source=RawSource.IMAP)
            assert stored is not None
            return raw_process(stored, received_at=NOW)

    return deliver


def test_a_different_mail_reusing_a_stored_message_id_is_filed_as_its_own(deliver):
    first = deliver(make_mail(message_id="<alert@nagios>", subject="disk full", date=SENT))
    second = deliver(
        make_mail(
            sender=("Monitor", "nagios@cern.ch"),
            message_id="<alert@nagios>",
            subject="disk ok",
            body="All disks are fine again.",
            date=SENT,
        )
    )
    assert (first.outcome, second.outcome) == ("new_ticket", "new_ticket")
    assert second.ticket != first.ticket
    assert second.ticket.messages.get().body_text.strip() == "All disks are fine again."
    assert RawMessage.objects.count() == 2
    assert "reuses the Message-ID <alert@nagios>" in second.raw.note
    assert Message.objects.get(ticket=first.ticket).message_id == "<alert@nagios>"


def test_the_lists_copy_of_a_filed_mail_is_kept_raw_and_marked_duplicate(deliver):
    body = "My task fails at BNL."
    direct = deliver(make_mail(message_id="<q@cern.ch>", body=body, date=SENT))
    copy = deliver(
        make_mail(
            message_id="<q@cern.ch>",
            subject="[hn-atlas] Task 15934872 exhausted",
            body=body + LIST_FOOTER,
            date=SENT,
            headers={"List-Id": "<hn-atlas.cern.ch>"},
        )
    )
    assert copy.outcome == "duplicate"
    assert Ticket.objects.count() == 1
    stored = RawMessage.objects.get(pk=copy.raw.pk)
    assert stored.state == RawState.DUPLICATE
    assert stored.duplicate_of_id == direct.raw.pk
    assert b"hn-atlas mailing list" in bytes(stored.raw)


def test_the_same_bytes_delivered_again_are_a_duplicate(deliver):
    raw = make_mail(date=SENT)
    assert deliver(raw).outcome == "new_ticket"
    again = deliver(raw)
    assert again.outcome == "duplicate"
    assert RawMessage.objects.filter(state=RawState.DUPLICATE).count() == 1


def test_a_list_copy_and_a_direct_copy_without_message_id_open_one_ticket(deliver):
    def without_id(raw: bytes) -> bytes:
        return b"\n".join(x for x in raw.split(b"\n") if not x.startswith(b"Message-ID:"))

    body = "My jobs fail.\n"
    direct = deliver(without_id(make_mail(body=body, date=SENT)))
    copy = deliver(
        without_id(make_mail(subject="[hn-atlas] Task 15934872 exhausted", body=body, date=SENT))
    )
    assert direct.raw.message_id == ""
    assert copy.outcome == "duplicate"
    assert Ticket.objects.count() == 1


def test_two_different_mails_without_message_id_are_two_tickets(deliver):
    def without_id(raw: bytes) -> bytes:
        return b"\n".join(x for x in raw.split(b"\n") if not x.startswith(b"Message-ID:"))

    deliver(without_id(make_mail(body="first question", date=SENT)))
    assert deliver(without_id(make_mail(body="second question", date=SENT))).outcome == (
        "new_ticket"
    )


def test_an_oversize_mail_is_stored_whole_flagged_and_its_ticket_noted(deliver, settings):
    settings.MAIL_MAX_RAW_BYTES = 100_000
    raw = _big_mail(200_000)
    result = deliver(raw)
    assert result.outcome == "new_ticket"
    stored = RawMessage.objects.get()
    assert bytes(stored.raw) == raw  # kept whole
    assert stored.oversize
    note = result.ticket.messages.get(kind=MessageKind.NOTE)
    assert "huge.log" in note.body_text


def _import(*paths) -> dict[str, int]:
    out = StringIO()
    call_command("import_mail", *map(str, paths), "--team", "dast", "--json", stdout=out)
    return json.loads(out.getvalue())


def test_import_keeps_a_copy_from_another_file_as_a_duplicate_and_skips_a_rerun(team, tmp_path):
    raw = make_mail(message_id="<q@cern.ch>", date=SENT)
    (tmp_path / "a.eml").write_bytes(raw)
    (tmp_path / "b.eml").write_bytes(raw)
    counts = _import(tmp_path)
    assert (counts["imported"], counts["duplicates"], counts["new_tickets"]) == (1, 1, 1)
    assert RawMessage.objects.count() == 2
    copy = RawMessage.objects.get(state=RawState.DUPLICATE)
    assert copy.duplicate_of == RawMessage.objects.get(state=RawState.PROCESSED)
    again = _import(tmp_path)
    assert (again["imported"], again["duplicates"]) == (0, 2)
    assert RawMessage.objects.count() == 2


def test_import_files_a_different_mail_with_a_reused_message_id(team, tmp_path):
    (tmp_path / "a.eml").write_bytes(make_mail(message_id="<r@x>", body="one", date=SENT))
    (tmp_path / "b.eml").write_bytes(make_mail(message_id="<r@x>", body="two", date=SENT))
    counts = _import(tmp_path)
    assert (counts["new_tickets"], counts["duplicates"]) == (2, 0)


def test_import_rejects_a_text_file_with_x_lines_instead_of_opening_a_ticket(team, tmp_path):
    (tmp_path / "notes").write_bytes(b"X-Axis: time\nX-Unit: s\n\n1 2 3\n")
    counts = _import(tmp_path / "notes")
    assert (counts["failed"], counts["new_tickets"]) == (1, 0)
    assert RawMessage.objects.get().state == RawState.FAILED


def test_import_counts_oversize_mail_and_dropped_attachments(team, tmp_path, settings):
    settings.MAIL_MAX_RAW_BYTES = 100_000
    (tmp_path / "big.eml").write_bytes(_big_mail(200_000))
    counts = _import(tmp_path / "big.eml")
    assert (counts["oversize"], counts["dropped_attachments"]) == (1, 1)
    assert counts["new_tickets"] == 1


def test_import_of_a_lone_message_with_an_envelope_line_opens_no_junk_ticket(team, tmp_path):
    body = "Hello,\n\nFrom Monday 11 March 2024 at 09:30: my jobs fail.\nRegards: Anna\n"
    (tmp_path / "message").write_bytes(ENVELOPE + make_mail(body=body, date=SENT))
    counts = _import(tmp_path / "message")
    assert (counts["imported"], counts["new_tickets"]) == (1, 1)
    assert "my jobs fail" in Message.objects.get().body_text
    assert not Ticket.objects.filter(requester__email="unknown@invalid").exists()


# --- 2: threads that heal ------------------------------------------------------------------

ASKED = datetime(2024, 3, 11, 9, 0, tzinfo=UTC)
ANSWERED = datetime(2024, 3, 11, 10, 15, tzinfo=UTC)


def _question_and_shifters_answer(team) -> tuple[bytes, bytes]:
    """A user's question and a shifter's answer to it, written from the shifter's own mail."""
    MembershipFactory(team=team, user=UserFactory(username="anna", email="anna.shifter@cern.ch"))
    question = make_mail(
        sender=("Jo User", "jo.user@uni-bonn.de"),
        subject="Rucio rule stuck at FZK",
        message_id="<question@uni-bonn.de>",
        date=ASKED,
    )
    answer = make_mail(
        sender=("Anna Shifter", "anna.shifter@cern.ch"),
        subject="Re: Rucio rule stuck at FZK",
        body="The FZK tape buffer is full; the rule continues tonight.",
        message_id="<answer@cern.ch>",
        in_reply_to="<question@uni-bonn.de>",
        references="<question@uni-bonn.de>",
        date=ANSWERED,
    )
    return question, answer


def _assert_healed(ticket: Ticket) -> None:
    ticket.refresh_from_db()
    assert Ticket.objects.count() == 1
    assert ticket.messages.count() == 2
    assert ticket.requester.email == "jo.user@uni-bonn.de"
    changed = ticket.events.get(kind=EventKind.REQUESTER_CHANGED)
    assert (changed.data["old"], changed.data["new"]) == (
        "anna.shifter@cern.ch",
        "jo.user@uni-bonn.de",
    )


@pytest.mark.frozen_at(NOW)
def test_an_original_arriving_after_the_shifters_reply_joins_its_ticket_as_requester(team, deliver):
    question, answer = _question_and_shifters_answer(team)
    first = deliver(answer)
    assert first.outcome == "new_ticket"
    assert first.ticket.requester.email == "anna.shifter@cern.ch"
    late = deliver(question)
    assert late.outcome == "joined"
    assert late.ticket == first.ticket
    _assert_healed(first.ticket)


def test_an_mbox_with_the_reply_before_its_original_imports_as_one_thread(team, tmp_path):
    question, answer = _question_and_shifters_answer(team)
    later = datetime(2024, 3, 11, 11, 0, tzinfo=UTC)
    other = make_mail(message_id="<other@cern.ch>", subject="AMI tag lookup", date=later)
    (tmp_path / "export.mbox").write_bytes(
        b"".join(ENVELOPE + raw + b"\n" for raw in (answer, other, question))
    )
    counts = _import(tmp_path / "export.mbox")
    assert (counts["new_tickets"], counts["joined"], counts["reordered"]) == (2, 1, 1)
    ticket = Ticket.objects.get(subject="Rucio rule stuck at FZK")
    assert ticket.requester.email == "jo.user@uni-bonn.de"
    assert ticket.created_at == ASKED
    assert ticket.first_response_at == ANSWERED
    assert [m.sender_email for m in ticket.messages.order_by("created_at")] == [
        "jo.user@uni-bonn.de",
        "anna.shifter@cern.ch",
    ]


def test_an_original_imported_after_its_reply_heals_the_ticket_the_reply_opened(team, tmp_path):
    question, answer = _question_and_shifters_answer(team)
    (tmp_path / "answer.eml").write_bytes(answer)
    (tmp_path / "question.eml").write_bytes(question)
    assert _import(tmp_path / "answer.eml")["new_tickets"] == 1
    ticket = Ticket.objects.get()
    assert ticket.requester.email == "anna.shifter@cern.ch"
    counts = _import(tmp_path / "question.eml")
    assert (counts["new_tickets"], counts["joined"]) == (0, 1)
    _assert_healed(ticket)
    assert ticket.subject == "Rucio rule stuck at FZK"  # the original's, not "Re: ..."
    assert ticket.created_at == ASKED


@pytest.mark.django_db(transaction=True)
def test_over_imap_an_original_fetched_after_its_reply_joins_the_replys_ticket(
    imap_mailbox, desk_mailbox
):
    from tickets.mail.fetch import mailbox_poll

    server, user, password, folder = imap_mailbox
    mailbox = desk_mailbox
    team = mailbox.team
    question, answer = _question_and_shifters_answer(team)
    server.append_many(user, password, [answer], folder)
    mailbox_poll(mailbox)
    ticket = Ticket.objects.get()
    server.append_many(user, password, [question], folder)
    mailbox_poll(mailbox)
    _assert_healed(ticket)
