"""Small pieces shared by live intake and archive import: raw storage, own addresses,
attachments."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import BinaryIO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction

from common.bulk import bulk_insert
from people.models import Team
from tickets.mail.parse import ParsedAttachment, ParsedMail, normalise_message_id
from tickets.models import Attachment, Mailbox, Message, RawMessage
from tickets.models.mail import RawSource

_HEADERS = BytesHeaderParser(policy=compat32)
_END_OF_HEADERS = re.compile(rb"\r?\n\r?\n")
# A big raw goes to and from the database in pieces of this size (the driver holds a piece
# two or three times over, escaped, never the whole mail).
RAW_PIECE_BYTES = 4 * 1024 * 1024


def raw_message_id(raw: bytes) -> str:
    """The normalised Message-ID from the headers alone (cheap: the header parser would
    also read the body in, as one string)."""
    end = _END_OF_HEADERS.search(raw)
    try:
        value = _HEADERS.parsebytes(raw[: end.end()] if end else raw).get("Message-ID", "")
    except Exception:  # a header block that cannot be read has no usable id
        return ""
    return normalise_message_id(str(value))


def raw_message_id_from_file(fp: BinaryIO, limit: int = 1024 * 1024) -> str:
    """``raw_message_id`` of a mail in a file: its header block, at most ``limit`` bytes."""
    fp.seek(0)
    lines: list[bytes] = []
    read = 0
    while read < limit:
        line = fp.readline(limit - read)
        if not line or (lines and line in (b"\n", b"\r\n")):
            break
        lines.append(line)
        read += len(line)
    return raw_message_id(b"".join(lines))


def raw_store_file(
    *,
    team: Team,
    mailbox: Mailbox,
    uidvalidity: int,
    uid: int,
    fp: BinaryIO,
    sha256: str,
) -> RawMessage | None:
    """``raw_store`` for a big mail fetched into a file: the row is written and its raw
    sent piece by piece and written once, so the mail is never in memory whole. None for a
    replay."""
    size = fp.seek(0, 2)
    message_id = raw_message_id_from_file(fp)
    try:
        with transaction.atomic():
            row = RawMessage.objects.create(
                team=team,
                source=RawSource.IMAP,
                mailbox=mailbox,
                uidvalidity=uidvalidity,
                uid=uid,
                message_id=message_id,
                sha256=sha256,
                size=size,
                raw=b"",
            )
            _raw_append(row, fp)
    except IntegrityError:
        return None
    return row


def _raw_append(row: RawMessage, fp: BinaryIO) -> None:
    fp.seek(0)
    if connection.vendor != "postgresql":
        # SQLite (the embedded set-up) concatenates as text: the raw goes in one piece.
        RawMessage.objects.filter(pk=row.pk).update(raw=fp.read())
        return
    # The pieces go to a temporary table and become the value in one UPDATE: appending
    # each to the stored value (``raw || piece``) would write the whole value again each
    # time, quadratic in the mail's size.
    table = connection.ops.quote_name(RawMessage._meta.db_table)
    whole = "SELECT string_agg(piece, ''::bytea ORDER BY n) FROM raw_pieces"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS raw_pieces"
            " (n integer PRIMARY KEY, piece bytea NOT NULL) ON COMMIT DELETE ROWS"
        )
        n = 0
        while piece := fp.read(RAW_PIECE_BYTES):
            cursor.execute("INSERT INTO raw_pieces (n, piece) VALUES (%s, %s)", [n, piece])
            n += 1
        cursor.execute(
            f"UPDATE {table} SET raw = COALESCE(({whole}), ''::bytea) WHERE id = %s",  # noqa: S608
            [row.pk],
        )
        cursor.execute("DELETE FROM raw_pieces")  # the next big mail of this transaction


def raw_copy_into(row: RawMessage, out: BinaryIO) -> None:
    """A stored raw written to ``out`` piece by piece (SUBSTR works on PostgreSQL's bytea
    and SQLite's blobs alike)."""
    table = connection.ops.quote_name(RawMessage._meta.db_table)
    sql = f"SELECT SUBSTR(raw, %s, %s) FROM {table} WHERE id = %s"  # noqa: S608
    with connection.cursor() as cursor:
        for start in range(0, row.size, RAW_PIECE_BYTES):
            cursor.execute(sql, [start + 1, RAW_PIECE_BYTES, row.pk])
            out.write(bytes(cursor.fetchone()[0]))


def raw_store(
    *,
    team: Team,
    raw: bytes,
    source: RawSource = RawSource.IMAP,
    mailbox: Mailbox | None = None,
    uidvalidity: int | None = None,
    uid: int | None = None,
    origin: str = "",
) -> RawMessage | None:
    """Store the bytes as they came: every delivery, also a second copy of a mail (filing
    marks it duplicate). None only when this very delivery (mailbox, UIDVALIDITY, UID) is
    stored already: a replay."""
    try:
        with transaction.atomic():
            return RawMessage.objects.create(
                team=team,
                source=source,
                mailbox=mailbox,
                uidvalidity=uidvalidity,
                uid=uid,
                origin=origin[:500],
                message_id=raw_message_id(raw),
                sha256=hashlib.sha256(raw).hexdigest(),
                size=len(raw),
                raw=raw,
            )
    except IntegrityError:
        return None


def raw_store_many(
    *,
    team: Team,
    mailbox: Mailbox,
    uidvalidity: int,
    fetched: list[tuple[int, bytes]],
) -> list[RawMessage]:
    """Store a fetched batch in one INSERT; returns the rows stored (UIDs stored before are
    left out). Falls back to one row at a time if another writer got in between."""
    known = set(
        RawMessage.objects.filter(
            mailbox=mailbox, uidvalidity=uidvalidity, uid__in=[uid for uid, _ in fetched]
        ).values_list("uid", flat=True)
    )
    rows = [
        RawMessage(
            team=team,
            source=RawSource.IMAP,
            mailbox=mailbox,
            uidvalidity=uidvalidity,
            uid=uid,
            message_id=raw_message_id(raw),
            sha256=hashlib.sha256(raw).hexdigest(),
            size=len(raw),
            raw=raw,
        )
        for uid, raw in dict(fetched).items()
        if uid not in known
    ]
    try:
        with transaction.atomic():
            bulk_insert(rows)
        return rows
    except IntegrityError:
        again = [
            raw_store(
                team=team, raw=bytes(r.raw), mailbox=mailbox, uidvalidity=uidvalidity, uid=r.uid
            )
            for r in rows
        ]
        return [r for r in again if r is not None]


def team_own_addresses(team: Team) -> set[str]:
    addresses = {team.support_address.lower()}
    for mailbox in Mailbox.objects.filter(team=team):
        addresses.update(mailbox.address_list)
    return addresses


def is_own(parsed: ParsedMail, own: set[str]) -> bool:
    """Mail from one of the desk's addresses (plus-addressed or not): never a ticket."""
    if parsed.sender is None:
        return False
    email = parsed.sender.email.lower()
    local, _, domain = email.partition("@")
    return email in own or f"{local.split('+')[0]}@{domain}" in own


def store_attachments(message: Message, parts: Iterable[ParsedAttachment]) -> None:
    for part in parts:
        _store_attachment(message, part)


def _store_attachment(message: Message, part: ParsedAttachment) -> None:
    digest = hashlib.sha256(part.content).hexdigest()
    attachment = Attachment(
        message=message,
        filename=part.filename,
        content_type=part.content_type[:255],
        size=part.size,
        sha256=digest,
        content_id=part.content_id[:255],
        dropped=part.dropped[:200],
    )
    if not part.dropped:
        # Stored under its digest: the same log mailed twice is kept once.
        path = f"attachments/{digest[:2]}/{digest}"
        if not default_storage.exists(path):
            path = default_storage.save(path, ContentFile(part.content))
        attachment.file.name = path
    attachment.save()
