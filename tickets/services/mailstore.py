"""Small pieces shared by live intake and archive import: raw storage, own addresses,
attachments."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from email.parser import BytesHeaderParser
from email.policy import compat32

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from people.models import Team
from tickets.mail.parse import ParsedAttachment, ParsedMail, normalise_message_id
from tickets.models import Attachment, Mailbox, Message, RawMessage
from tickets.models.mail import RawSource
from tickets.services.bulk import bulk_insert

_HEADERS = BytesHeaderParser(policy=compat32)


def raw_message_id(raw: bytes) -> str:
    """The normalised Message-ID from the headers alone (cheap: no body parsing)."""
    try:
        value = _HEADERS.parsebytes(raw).get("Message-ID", "")
    except Exception:  # a header block that cannot be read has no usable id
        return ""
    return normalise_message_id(str(value))


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
