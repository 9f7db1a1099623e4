"""Rucio's word on the datasets a ticket names: whether the DID exists and on how many
storage endpoints it has replicas. Asked by a worker when the ticket page's status
fragment finds a DID missing or stale, and only when a Rucio token is configured."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from django.utils import timezone

from grid.http import NotFound, ServiceError, fetch, service_config
from grid.models import DidStatus, Service
from grid.selectors import did_is_fresh
from grid.zammad import count_replicas, parse_did, parse_replica_stream


def rucio_configured() -> bool:
    config = service_config(Service.RUCIO)
    return bool(config.url and config.token)


def did_split(did: str) -> tuple[str, str]:
    """(scope, name) of "scope:name", or of a bare name as Rucio derives it: the first two
    parts of user./group. names, the first part of the others."""
    scope, colon, name = did.partition(":")
    if colon:
        return scope, name.rstrip("/")
    parts = did.rstrip("/").split(".")
    if parts[0] in ("user", "group") and len(parts) > 2:
        return ".".join(parts[:2]), did.rstrip("/")
    return parts[0], did.rstrip("/")


def _path(scope: str, name: str) -> str:
    return f"/{quote(scope, safe='')}/{quote(name, safe='')}"


def did_fetch(*, scope: str, name: str) -> DidStatus:
    """Ask Rucio about one DID and store the answer (or why there is none)."""
    now = timezone.now()
    row, _ = DidStatus.objects.get_or_create(scope=scope[:100], name=name[:255])
    try:
        did = fetch(Service.RUCIO, "/dids" + _path(scope, name), lambda r: parse_did(r.content))
        replicas = None
        if did.type in ("DATASET", "FILE"):
            tail = "/datasets" if did.type == "DATASET" else ""
            lines = fetch(
                Service.RUCIO,
                "/replicas" + _path(scope, name) + tail,
                lambda r: parse_replica_stream(r.content),
            )
            replicas = count_replicas(did.type, lines)
    except NotFound:
        row.found, row.did_type, row.replicas = False, "", None
        row.fetched_at, row.error = now, ""
    except ServiceError as error:
        row.error, row.error_at = error.message, now
    else:
        row.found, row.did_type, row.replicas = True, did.type, replicas
        row.fetched_at, row.error = now, ""
    row.save()
    return row


def dids_fetch(*, dids: Iterable[str]) -> int:
    """Each DID whose stored answer is older than RUCIO_DID_TTL_S."""
    todo = 0
    for did in dict.fromkeys(dids):
        scope, name = did_split(did)
        row = DidStatus.objects.filter(scope=scope, name=name).first()
        if not did_is_fresh(row, timezone.now()):
            did_fetch(scope=scope, name=name)
            todo += 1
    return todo
