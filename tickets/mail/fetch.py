"""Fetch a mailbox: lease it, store new mail raw, flag it on the server, then process it.

The order is what makes a killed fetcher harmless: raw bytes and the UID high-water mark are
committed together before the server-side flag is set; processing comes after and is retried
for any stored mail still marked new. A second fetcher finds the lease taken and waits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import BinaryIO

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from tickets.mail.imap import ImapError, ImapSession, ImapSettings
from tickets.mail.intake import intake_process
from tickets.mail.mailstore import RAW_PIECE_BYTES, raw_store_file, raw_store_many
from tickets.models import Mailbox, RawMessage, RawState
from tickets.models.mail import RawSource

log = logging.getLogger(__name__)
BATCH = 500
# How often a fetcher that found the mailbox taken looks again (a takeover is this quick).
LEASE_RETRY_SECONDS = 3


def fetcher_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


# The namespace of the mailbox leases' PostgreSQL advisory locks (the mailbox's pk is the key).
LEASE_LOCK_NAMESPACE = 0x6D61696C  # "mail"


def _lease_lock(mailbox: Mailbox) -> tuple[bool, bool]:
    """On PostgreSQL, hold the mailbox's session advisory lock: it dies with the holder's
    connection, so a fetcher killed or cut off lets another take over at once instead of
    after the lease time. Elsewhere (SQLite, one machine) the lease row alone decides.
    Returns (held now, taken by this call); never taken twice by one connection."""
    if connection.vendor != "postgresql":
        return True, False
    key = [LEASE_LOCK_NAMESPACE, mailbox.pk]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
            "AND classid = %s::int::oid AND objid = %s::int::oid AND granted",
            key,
        )
        if cursor.fetchone() is not None:
            return True, False
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
        taken = bool(cursor.fetchone()[0])
        return taken, taken


def _lease_unlock(mailbox: Mailbox) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LEASE_LOCK_NAMESPACE, mailbox.pk])


def mailbox_lease_claim(mailbox: Mailbox, owner: str, seconds: int | None = None) -> bool:
    """Take or renew the mailbox's lease. False when another live fetcher holds it.

    A lease whose advisory lock is free belongs to a fetcher that died (or lost its database
    connection and with it the lock): it is taken over at once. Owners sharing one database
    connection are told apart by the lease row alone."""
    now = timezone.now()
    seconds = seconds or settings.MAIL_LEASE_SECONDS
    free = Q(lease_owner="") | Q(lease_owner=owner) | Q(lease_expires_at__lt=now)
    holder = Mailbox.objects.filter(pk=mailbox.pk).values_list("lease_owner", flat=True).first()
    held, took = _lease_lock(mailbox)
    if not held:
        return False  # a live fetcher elsewhere holds it
    # The lock was free although the lease names someone else: its holder is gone.
    foreign = bool(holder) and holder != owner and took
    if foreign:
        free |= Q(lease_owner=holder)
    taken = (
        Mailbox.objects.filter(free, pk=mailbox.pk).update(
            lease_owner=owner, lease_expires_at=now + timedelta(seconds=seconds)
        )
        == 1
    )
    if not taken and took:
        _lease_unlock(mailbox)
    elif taken and foreign:
        log.warning("mailbox %s: took over the lease of %s, which is gone", mailbox, holder)
    return taken


def mailbox_lease_release(mailbox: Mailbox, owner: str) -> None:
    released = Mailbox.objects.filter(pk=mailbox.pk, lease_owner=owner).update(
        lease_owner="", lease_expires_at=None
    )
    if released:
        _lease_unlock(mailbox)


def imap_settings(mailbox: Mailbox) -> ImapSettings:
    return ImapSettings(
        host=mailbox.host,
        port=mailbox.port,
        security=mailbox.security,
        username=mailbox.username,
        password=mailbox.password(),
    )


@dataclass
class FetchResult:
    stored: int = 0  # raw rows: every delivery
    duplicates: int = 0  # of those, copies of a mail already filed
    processed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


def mailbox_fetch_once(
    mailbox: Mailbox, session: ImapSession, *, batch: int = BATCH
) -> FetchResult:
    """One pass over the mailbox's folder with an open session. Mail a crashed fetcher left
    stored but unfiled is filed first: a mailbox's mail is filed in the order it came, so a
    reply never opens a ticket of its own before its original is filed."""
    result = FetchResult()
    result.processed += raw_process_pending(mailbox=mailbox)
    uidvalidity = session.select(mailbox.folder)
    if mailbox.uidvalidity != uidvalidity:
        # New UIDVALIDITY: UIDs mean nothing any more. Start again from 1; each mail stored
        # before comes again as a new delivery, kept and marked duplicate, filed nowhere.
        log.warning(
            "mailbox %s: UIDVALIDITY %s -> %s, rescanning",
            mailbox,
            mailbox.uidvalidity,
            uidvalidity,
        )
        Mailbox.objects.filter(pk=mailbox.pk).update(uidvalidity=uidvalidity, last_uid=0)
        mailbox.uidvalidity, mailbox.last_uid = uidvalidity, 0
    # Below the high-water mark, a UID without our flag was stored by a fetcher killed before
    # flagging it, or its body could not be fetched: flag the first kind, fetch the second.
    unflagged = session.unflagged_upto(mailbox.last_uid)
    stored_before = {
        uid
        for uid in RawMessage.objects.filter(
            mailbox=mailbox, uidvalidity=uidvalidity, uid__in=unflagged
        ).values_list("uid", flat=True)
        if uid is not None
    }
    session.mark_stored(sorted(stored_before), mailbox.processed_folder)
    retry = [uid for uid in unflagged if uid not in stored_before]
    uids = retry + session.uids_after(mailbox.last_uid)
    sizes = session.sizes(uids)
    big = settings.MAIL_STREAM_RAW_BYTES
    for chunk in _chunks(uids, sizes, batch, settings.MAIL_FETCH_BATCH_BYTES, big):
        with contextlib.ExitStack() as cleanup:
            if sizes.get(chunk[0], 0) > big:  # alone in its chunk
                stored, fetched, files = _fetch_big(mailbox, session, uidvalidity, chunk, cleanup)
            else:
                stored, fetched, files = _fetch_batch(mailbox, session, uidvalidity, chunk)
            mailbox.last_uid = max(mailbox.last_uid, chunk[-1])
            result.stored += len(stored)
            missing = [uid for uid in chunk if uid not in fetched]
            if missing:
                log.warning("mailbox %s: no body for UIDs %s; will try again", mailbox, missing)
            # Flagged only once stored (after the commit), never a UID without a body.
            session.mark_stored([u for u in chunk if u in fetched], mailbox.processed_folder)
            filed = intake_process(mailbox.team, stored, received_at=timezone.now(), files=files)
            for one in filed:
                result.outcomes[one.outcome] = result.outcomes.get(one.outcome, 0) + 1
                result.processed += 1
                result.duplicates += one.outcome == "duplicate"
    result.processed += raw_process_pending(mailbox=mailbox)
    # The pass went through: /healthz reads this to tell a stalled fetcher.
    Mailbox.objects.filter(pk=mailbox.pk).update(last_fetch_at=timezone.now(), last_error="")
    return result


def _fetch_batch(
    mailbox: Mailbox, session: ImapSession, uidvalidity: int, chunk: list[int]
) -> tuple[list[RawMessage], set[int], dict[int, BinaryIO]]:
    """Fetch a batch of mail whole and store it with the new high-water mark: (rows stored,
    UIDs fetched, no files)."""
    bodies = session.fetch(chunk)
    with transaction.atomic():
        stored = raw_store_many(
            team=mailbox.team,
            mailbox=mailbox,
            uidvalidity=uidvalidity,
            fetched=[(uid, bodies[uid]) for uid in chunk if uid in bodies],
        )
        _high_water(mailbox, uidvalidity, chunk[-1])
    return stored, set(bodies), {}


def _fetch_big(
    mailbox: Mailbox,
    session: ImapSession,
    uidvalidity: int,
    chunk: list[int],
    cleanup: contextlib.ExitStack,
) -> tuple[list[RawMessage], set[int], dict[int, BinaryIO]]:
    """Fetch one big mail in pieces into a temporary file and store it from there: (the row
    stored, the UID if fetched, the file by row id for parsing; it lives as long as
    ``cleanup``)."""
    (uid,) = chunk
    fp = cleanup.enter_context(tempfile.TemporaryFile())  # noqa: SIM115
    digest = session.fetch_into(uid, fp, piece=RAW_PIECE_BYTES)
    with transaction.atomic():
        row = None
        if digest is not None:
            row = raw_store_file(
                team=mailbox.team,
                mailbox=mailbox,
                uidvalidity=uidvalidity,
                uid=uid,
                fp=fp,
                sha256=digest,
            )
        _high_water(mailbox, uidvalidity, uid)
    fetched = {uid} if digest is not None else set()
    return ([row], fetched, {row.pk: fp}) if row is not None else ([], fetched, {})


def _high_water(mailbox: Mailbox, uidvalidity: int, uid: int) -> None:
    Mailbox.objects.filter(pk=mailbox.pk, uidvalidity=uidvalidity).update(
        last_uid=max(mailbox.last_uid, uid), last_fetch_at=timezone.now(), last_error=""
    )


def _chunks(
    uids: list[int], sizes: dict[int, int], count: int, max_bytes: int, alone_above: int = 0
) -> Iterator[list[int]]:
    """UIDs in fetch batches of at most ``count`` mails and about ``max_bytes`` (a larger
    mail alone): a backlog of big mails must not be held in memory all at once. A mail over
    ``alone_above`` (when set) is always alone: it is fetched in pieces."""
    chunk: list[int] = []
    held = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        alone = 0 < alone_above < size
        if chunk and (alone or len(chunk) >= count or held + size > max_bytes):
            yield chunk
            chunk, held = [], 0
        chunk.append(uid)
        held += size
        if alone:
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk


def raw_process_pending(*, mailbox: Mailbox | None = None, limit: int = 1000) -> int:
    """Process stored mail that a crash left unprocessed. Returns how many."""
    pending = RawMessage.objects.filter(state=RawState.NEW, source=RawSource.IMAP)
    if mailbox is not None:
        pending = pending.filter(mailbox=mailbox)
    pending = pending.select_related("team").order_by("pk")
    # A big raw is not loaded here: filing reads it from the database in pieces.
    big = Q(size__gt=settings.MAIL_STREAM_RAW_BYTES)
    rows = sorted(
        [*pending.exclude(big)[:limit], *pending.filter(big).defer("raw")[:limit]],
        key=lambda row: row.pk,
    )[:limit]
    count = 0
    by_team: dict[int, list[RawMessage]] = {}
    for raw in rows:
        by_team.setdefault(raw.team_id, []).append(raw)
    for raws in by_team.values():
        count += len(intake_process(raws[0].team, raws, received_at=timezone.now()))
    return count


def mailbox_poll(mailbox: Mailbox) -> FetchResult | None:
    """One lease-protected pass, connecting and disconnecting (the beat task's way)."""
    owner = fetcher_identity()
    if not mailbox_lease_claim(mailbox, owner):
        return None
    try:
        with ImapSession(imap_settings(mailbox)) as session:
            return mailbox_fetch_once(mailbox, session)
    except (ImapError, LookupError) as exc:
        Mailbox.objects.filter(pk=mailbox.pk).update(last_error=str(exc)[:2000])
        log.warning("mailbox %s: %s", mailbox, exc)
        return None
    finally:
        mailbox_lease_release(mailbox, owner)


class MailboxWatcher:
    """The long-running fetcher for one mailbox: IDLE when the server can, polling when not,
    reconnecting with backoff on any failure. ``stop`` ends it at the next wait."""

    def __init__(
        self,
        mailbox: Mailbox,
        *,
        idle_seconds: float = 10,
        poll_seconds: float = 30,
        max_backoff: float = 60,
    ) -> None:
        self.mailbox = mailbox
        self.owner = fetcher_identity()
        self.idle_seconds = idle_seconds
        self.poll_seconds = poll_seconds
        self.max_backoff = max_backoff
        self.stopping = threading.Event()
        self.passes = 0

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        backoff = 1.0
        try:
            while not self.stopping.is_set():
                try:
                    if not mailbox_lease_claim(self.mailbox, self.owner):
                        self.stopping.wait(min(self.poll_seconds, LEASE_RETRY_SECONDS))
                        continue
                    self._session_loop()
                    backoff = 1.0
                except (ImapError, LookupError) as exc:
                    self._note_error(exc)
                except DatabaseError as exc:
                    # PostgreSQL restarted or the network blinked: a fresh connection next
                    # time (the advisory lock went with the old one and is taken again).
                    log.warning("mailbox %s: database error: %s", self.mailbox, exc)
                    connection.close()
                else:
                    continue
                log.warning("mailbox %s: reconnecting in %.0f s", self.mailbox, backoff)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
        finally:
            # If the database is gone, so is the advisory lock, and the lease row expires.
            with contextlib.suppress(DatabaseError):
                mailbox_lease_release(self.mailbox, self.owner)
            # A watcher runs in a thread of its own: its connection must not outlive it.
            connection.close()

    def _note_error(self, exc: Exception) -> None:
        log.warning("mailbox %s: %s", self.mailbox, exc)
        try:
            Mailbox.objects.filter(pk=self.mailbox.pk).update(last_error=str(exc)[:2000])
        except DatabaseError:
            connection.close()

    def _session_loop(self) -> None:
        with ImapSession(imap_settings(self.mailbox)) as session:
            idle = session.can_idle()
            while not self.stopping.is_set():
                mailbox_fetch_once(self.mailbox, session)
                self.passes += 1
                if not mailbox_lease_claim(self.mailbox, self.owner):
                    log.warning("mailbox %s: lost the lease", self.mailbox)
                    return
                if idle:
                    session.idle_wait(min(self.idle_seconds, settings.MAIL_LEASE_SECONDS / 3))
                else:
                    self.stopping.wait(self.poll_seconds)
