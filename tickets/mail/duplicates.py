"""Which deliveries repeat a mail the desk already has, and which only reuse its Message-ID.

Every delivery is stored raw (tickets.mail.mailstore, tickets.mail.archive); this
step, run in the filing transaction, decides what a delivery is:

* the same bytes as an earlier row: a duplicate;
* the same Message-ID and the same content fingerprint (sender, date, subject and body,
  without what a list adds): a duplicate, such as the list's copy of a mail also sent to the
  desk directly;
* the same Message-ID with other content: a different mail (ticketing systems and monitoring
  reuse ids). It is filed as a mail of its own, without the id on its message (the first
  mail keeps it for threading), and the reuse is noted on its raw row;
* no Message-ID, and the fingerprint (with a date) of an earlier mail without one: a
  duplicate.

A duplicate opens nothing; its raw row is marked and points at the row it repeats.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import Q

from people.models import Team
from tickets.mail.batch import Item
from tickets.mail.fingerprint import content_fingerprint
from tickets.mail.parse import MailParseError, parse_message
from tickets.models import Message, RawMessage, RawState

# pg_advisory_xact_lock(namespace, team): two mailboxes of one team filing the list's copy
# and the direct copy at the same moment would otherwise both take theirs for the first.
_LOCK_NAMESPACE = 0x6D61696C  # 'mail'
Earlier = RawMessage | Item


def duplicates_mark(*, team: Team, items: list[Item]) -> None:
    """Set ``original`` on the items that repeat an earlier delivery (stored, or earlier in
    ``items``) and ``reuses_id`` on those that only share its Message-ID."""
    if not items:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, team.pk])
    index = _Index(_stored(team, items))
    ids = {i.message_id for i in items if i.message_id}
    filed_ids = set(
        Message.objects.filter(team=team, message_id__in=ids).values_list("message_id", flat=True)
    )
    for item in items:
        original, how = index.original(item)
        if original is not None:
            item.original = original
            item.outcome = "duplicate"
            row = item.original_row()
            where = f"raw #{row.pk}" if row is not None and row.pk else "an earlier delivery"
            item.remark = f"duplicate: {how} {where}"
            continue
        earlier = index.by_id.get(item.message_id, [])
        if item.message_id and (earlier or item.message_id in filed_ids):
            item.reuses_id = True
            first = earlier[0] if earlier else None
            row = first.row if isinstance(first, Item) else first
            where = f" (raw #{row.pk})" if row is not None and row.pk else ""
            item.remark = (
                f"reuses the Message-ID {item.message_id[:200]} of an earlier, different "
                f"mail{where}: filed as a mail of its own"
            )
        index.add(item)


def _stored(team: Team, items: list[Item]) -> Iterable[RawMessage]:
    mine = [i.row.pk for i in items if i.row is not None and i.row.pk]
    shas = {i.sha256 for i in items}
    ids = {i.message_id for i in items if i.message_id}
    prints = {i.fingerprint for i in items if i.fingerprint and not i.message_id}
    wanted = Q(sha256__in=shas) | Q(message_id__in=ids)
    if prints:
        wanted |= Q(message_id="", fingerprint__in=prints)
    return (
        RawMessage.objects.filter(wanted, team=team)
        .exclude(state__in=[RawState.NEW, RawState.DUPLICATE])
        .exclude(pk__in=mine)
        .only("pk", "sha256", "message_id", "fingerprint", "state")
        .order_by("pk")
    )


class _Index:
    def __init__(self, rows: Iterable[RawMessage]) -> None:
        self.by_sha: dict[str, Earlier] = {}
        self.by_id: dict[str, list[Earlier]] = {}
        self.by_print: dict[str, Earlier] = {}
        for row in rows:
            self._add(row, row.sha256, row.message_id, row.fingerprint)

    def add(self, item: Item) -> None:
        self._add(item, item.sha256, item.message_id, item.fingerprint)

    def _add(self, earlier: Earlier, sha: str, message_id: str, fingerprint: str) -> None:
        self.by_sha.setdefault(sha, earlier)
        if message_id:
            self.by_id.setdefault(message_id, []).append(earlier)
        elif fingerprint:
            self.by_print.setdefault(fingerprint, earlier)

    def original(self, item: Item) -> tuple[Earlier | None, str]:
        if item.sha256 in self.by_sha:
            return self.by_sha[item.sha256], "the same bytes as"
        if not item.fingerprint:
            return None, ""
        if item.message_id:
            for earlier in self.by_id.get(item.message_id, []):
                if _fingerprint(earlier) == item.fingerprint:
                    return earlier, "the same Message-ID and content as"
            return None, ""
        dated = item.parsed is not None and item.parsed.date is not None
        if dated and item.fingerprint in self.by_print:
            return self.by_print[item.fingerprint], "the same content (no Message-ID) as"
        return None, ""


def _fingerprint(earlier: Earlier) -> str:
    """An earlier row's fingerprint; rows stored before fingerprints were kept get theirs
    now (only the few that share a Message-ID with new mail are read again)."""
    if isinstance(earlier, Item):
        return earlier.fingerprint
    if earlier.fingerprint or earlier.state == RawState.FAILED:
        return earlier.fingerprint
    raw = RawMessage.objects.filter(pk=earlier.pk).values_list("raw", flat=True).first()
    try:
        parsed = parse_message(bytes(raw or b""))
    except MailParseError:
        return ""
    earlier.fingerprint = content_fingerprint(parsed)
    RawMessage.objects.filter(pk=earlier.pk).update(fingerprint=earlier.fingerprint)
    return earlier.fingerprint
