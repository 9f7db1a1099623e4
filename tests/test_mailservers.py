"""The test mail servers themselves: what the fetcher and outbox tests will rely on."""

from __future__ import annotations

import imaplib
import smtplib
import socket
import time
from email.message import EmailMessage

import pytest
from imapclient.exceptions import LoginError

from tests.mailservers import (
    DOVECOT_USERS,
    Dovecot,
    ImapMailbox,
    SmtpSink,
    pid_alive,
    start_dovecot_for_tests,
)


def make_raw(number: int) -> bytes:
    return (
        f"From: Customer {number} <customer{number}@example.com>\r\n"
        f"To: support@dast.example\r\n"
        f"Subject: Printer {number} is on fire\r\n"
        f"Message-ID: <m{number}@example.com>\r\n"
        f"Date: Sat, 22 Nov 2025 10:00:0{number % 10} +0000\r\n"
        "\r\n"
        f"Body of message {number}.\r\n"
    ).encode()


def test_appended_messages_come_back_byte_for_byte_with_increasing_uids(
    imap_mailbox: ImapMailbox,
) -> None:
    server, user, password, folder = imap_mailbox
    raws = [make_raw(n) for n in range(3)]

    uids = server.append_many(user, password, raws, folder)

    assert uids == sorted(uids)
    assert len(set(uids)) == 3
    with server.connect(user, password) as client:
        client.select_folder(folder, readonly=True)
        assert client.search("ALL") == uids
        fetched = client.fetch(uids, ["RFC822"])
    assert [fetched[uid][b"RFC822"] for uid in uids] == raws


def test_append_stores_the_flags_given(imap_mailbox: ImapMailbox) -> None:
    server, user, password, folder = imap_mailbox

    seen = server.append(user, password, make_raw(1), folder, flags=[b"\\Seen"])
    unseen = server.append(user, password, make_raw(2), folder)

    assert server.flags(user, password, folder) == {seen: {b"\\Seen"}, unseen: set()}


def test_idle_sees_an_append_from_another_connection_within_two_seconds(
    imap_mailbox: ImapMailbox,
) -> None:
    server, user, password, folder = imap_mailbox
    with server.connect(user, password) as watcher:
        watcher.select_folder(folder)
        watcher.idle()
        uid = server.append(user, password, make_raw(7), folder)
        responses = watcher.idle_check(timeout=2)  # returns empty-handed after two seconds
        watcher.idle_done()

    assert (1, b"EXISTS") in responses, responses
    assert uid == 1


def test_reset_uidvalidity_gives_a_new_uidvalidity_and_keeps_the_messages(
    imap_mailbox: ImapMailbox,
) -> None:
    server, user, password, folder = imap_mailbox
    server.append(user, password, make_raw(1), folder, flags=[b"\\Flagged"])
    server.append_many(user, password, [make_raw(2), make_raw(3)], folder)
    before = server.uidvalidity(user, password, folder)

    after = server.reset_uidvalidity(user, folder)

    assert after != before
    assert server.uidvalidity(user, password, folder) == after
    flags = server.flags(user, password, folder)
    assert len(flags) == 3
    assert sorted(flags.values(), key=len) == [set(), set(), {b"\\Flagged"}]


def test_reset_uidvalidity_disconnects_a_session_that_has_the_folder_selected(
    imap_mailbox: ImapMailbox,
) -> None:
    server, user, password, folder = imap_mailbox
    server.append(user, password, make_raw(1), folder)
    client = server.connect(user, password)
    client.select_folder(folder)

    server.reset_uidvalidity(user, folder)

    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        client.search("ALL")
    client.shutdown()


def test_drop_connections_breaks_an_open_client_and_a_new_connection_works(
    imap_mailbox: ImapMailbox,
) -> None:
    server, user, password, folder = imap_mailbox
    client = server.connect(user, password)
    client.select_folder(folder)
    session_pids = server.session_pids(user)
    assert session_pids

    dropped = server.drop_connections()

    assert dropped >= 1
    assert not any(pid_alive(pid) for pid in session_pids)
    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        client.noop()
    client.shutdown()
    with server.connect(user, password) as again:
        assert again.select_folder(folder)[b"EXISTS"] == 0


def test_the_expert_account_is_separate_from_support(dovecot: Dovecot) -> None:
    support_uid = dovecot.append("support", "support-pw", make_raw(1))
    expert_before = len(dovecot.flags("expert", "expert-pw"))

    dovecot.append("expert", "expert-pw", make_raw(2))

    assert support_uid in dovecot.flags("support", "support-pw")
    assert len(dovecot.flags("expert", "expert-pw")) == expert_before + 1


def test_wrong_passwords_are_refused_without_slowing_the_next_login(dovecot: Dovecot) -> None:
    for _ in range(2):
        with pytest.raises(LoginError, match="Authentication failed"):
            dovecot.connect("support", "not-the-password")

    started = time.monotonic()
    dovecot.connect("support", "support-pw").logout()

    # Dovecot's per-IP penalty would make this 4 s; a login takes ~10 ms.
    assert time.monotonic() - started < 2


def test_stopping_dovecot_ends_the_master_and_all_its_processes() -> None:
    server = Dovecot.start(DOVECOT_USERS)
    try:
        client = server.connect("support", "support-pw")
        client.select_folder("INBOX")
        pids = server.process_ids()
        # master, log, config, anvil, imap-login, auth, imap at least
        assert server.pid in pids
        assert len(pids) >= 5
        assert server.session_pids() <= pids
    finally:
        server.stop()

    assert server.process is not None
    assert server.process.returncode is not None
    assert [pid for pid in pids if pid_alive(pid)] == []
    assert not server.root.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((server.host, server.port), timeout=1).close()


@pytest.mark.parametrize(("in_ci", "outcome"), [(False, "skip"), (True, "fail")])
def test_a_missing_dovecot_skips_outside_ci_and_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch, in_ci: bool, outcome: str
) -> None:
    monkeypatch.setattr("tests.mailservers.IN_CI", in_ci)
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr("tests.mailservers.DOVECOT_FALLBACK", "/nonexistent/dovecot")
    expected = pytest.skip.Exception if outcome == "skip" else pytest.fail.Exception

    with pytest.raises(expected, match="Dovecot is not available"):
        start_dovecot_for_tests(DOVECOT_USERS)


# --- SMTP sink ------------------------------------------------------------------------------


def make_mail(subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "desk@dast.example"
    message["To"] = "customer@example.com"
    message["Subject"] = subject
    message.set_content("Your ticket has been received.")
    return message


def send(sink: SmtpSink, subject: str) -> None:
    with smtplib.SMTP(sink.host, sink.port, timeout=5) as client:
        client.send_message(make_mail(subject))


def test_the_smtp_sink_keeps_envelope_and_raw_bytes(smtp_sink: SmtpSink) -> None:
    send(smtp_sink, "Ticket #1 received")

    [mail] = smtp_sink.wait_for(1, timeout=5)
    assert mail.mail_from == "desk@dast.example"
    assert mail.rcpt_tos == ("customer@example.com",)
    assert b"Subject: Ticket #1 received" in mail.raw
    assert mail.message()["Subject"] == "Ticket #1 received"


def test_fail_next_refuses_one_message_with_451_then_accepts(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail_next(1)

    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(smtp_sink, "first try")
    send(smtp_sink, "second try")

    assert refused.value.smtp_code == 451
    assert [m.message()["Subject"] for m in smtp_sink.wait_for(1)] == ["second try"]


def test_a_stopped_sink_refuses_connections_and_restarts_on_the_same_port(
    smtp_sink: SmtpSink,
) -> None:
    port = smtp_sink.port
    send(smtp_sink, "before")

    smtp_sink.stop()
    with pytest.raises(ConnectionRefusedError):
        send(smtp_sink, "while down")
    smtp_sink.restart()
    send(smtp_sink, "after")

    assert smtp_sink.port == port
    assert [m.message()["Subject"] for m in smtp_sink.wait_for(2)] == ["before", "after"]


def test_wait_for_gives_up_when_too_few_messages_arrive(smtp_sink: SmtpSink) -> None:
    send(smtp_sink, "only one")

    with pytest.raises(TimeoutError, match="1 of 2"):
        smtp_sink.wait_for(2, timeout=0.3)
