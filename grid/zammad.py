"""What GGUS (a Zammad) and Rucio answer, turned into dataclasses. Pure: bytes in,
dataclasses out, no Django; a body that is not what the service documents raises BadData.

Zammad (REST API v1, token auth ``Authorization: Token token=...``):
- ``POST /api/v1/tickets`` answers the ticket created: ``{"id": 4711, "number": "1000042",
  "title": .., "state_id": 1, ...}`` (``"state": "new"`` with ``expand=true``).
- ``GET /api/v1/tickets/<id>?expand=true``: the same object, ``state`` by name.
- ``GET /api/v1/tickets/search?query=..&expand=true``: a list of such objects; without
  ``expand``, ``{"tickets": [ids], "assets": {"Ticket": {"<id>": {...}}}}``.
- ``GET /api/v1/ticket_articles/by_ticket/<id>``: a list of ``{"id", "from", "sender"
  ("Agent", "Customer", "System"), "internal", "content_type", "body", "created_at"}``.

Rucio: ``GET /dids/<scope>/<name>`` gives ``{"scope", "name", "type": "DATASET", ...}``;
``GET /replicas/<scope>/<name>/datasets`` (a dataset) and ``GET /replicas/<scope>/<name>``
(a file) stream one JSON object a line (``application/x-json-stream``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from grid.http import BadData

# Zammad's default states by id, for an answer without ``expand``.
_STATE_IDS = {
    1: "new",
    2: "open",
    3: "pending reminder",
    4: "closed",
    5: "merged",
    6: "removed",
    7: "pending close",
}
MAX_ARTICLE = 20_000


def _json(body: bytes | str) -> object:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadData(f"not JSON: {error}") from None


@dataclass(frozen=True)
class ZammadTicket:
    id: int
    number: str
    title: str
    state: str  # lower case: "new", "assigned", "solved", ...


def _ticket(data: object) -> ZammadTicket:
    if not isinstance(data, dict):
        raise BadData("expected a ticket object")
    ticket_id = data.get("id")
    if not isinstance(ticket_id, int) or isinstance(ticket_id, bool) or ticket_id <= 0:
        raise BadData(f"a ticket without a valid id: {ticket_id!r}")
    number = str(data.get("number") or "").strip()
    if not number.isdigit():
        raise BadData(f"ticket {ticket_id} has no number")
    state = data.get("state")
    if not isinstance(state, str):
        state = _STATE_IDS.get(data.get("state_id"), "")  # type: ignore[arg-type]
    if not state:
        raise BadData(f"ticket {ticket_id} has no state")
    return ZammadTicket(
        id=ticket_id,
        number=number[:32],
        title=str(data.get("title") or "")[:250],
        state=state.strip().lower()[:32],
    )


def parse_ticket(body: bytes | str) -> ZammadTicket:
    return _ticket(_json(body))


def parse_ticket_search(body: bytes | str) -> list[ZammadTicket]:
    """Both shapes of a search answer; tickets in the order GGUS gives them."""
    data = _json(body)
    if isinstance(data, list):
        return [_ticket(item) for item in data]
    if isinstance(data, dict) and isinstance(data.get("tickets"), list):
        assets = data.get("assets") or {}
        known = assets.get("Ticket") or {} if isinstance(assets, dict) else {}
        if not isinstance(known, dict):
            raise BadData('"assets.Ticket" is not an object')
        return [_ticket(known[str(i)]) for i in data["tickets"] if str(i) in known]
    raise BadData('expected a list of tickets or {"tickets": [...], "assets": ...}')


@dataclass(frozen=True)
class ZammadArticle:
    id: int
    sender: str  # "Agent", "Customer", "System"
    author: str  # the "from" line
    internal: bool
    html: bool
    body: str
    created_at: datetime | None


def _when(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        found = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadData(f"not an ISO time: {text!r}") from None
    return found if found.tzinfo is not None else None


def parse_articles(body: bytes | str) -> list[ZammadArticle]:
    data = _json(body)
    if not isinstance(data, list):
        raise BadData("expected a list of articles")
    articles = []
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("id"), int):
            raise BadData("an article without an id")
        articles.append(
            ZammadArticle(
                id=item["id"],
                sender=str(item.get("sender") or ""),
                author=str(item.get("from") or "")[:200],
                internal=bool(item.get("internal")),
                html=str(item.get("content_type") or "").lower() == "text/html",
                body=str(item.get("body") or "")[:MAX_ARTICLE],
                created_at=_when(item.get("created_at")),
            )
        )
    return sorted(articles, key=lambda a: a.id)


# --- Rucio ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Did:
    scope: str
    name: str
    type: str  # "DATASET", "CONTAINER", "FILE"


def parse_did(body: bytes | str) -> Did:
    data = _json(body)
    if not isinstance(data, dict):
        raise BadData("expected a DID object")
    did_type = str(data.get("type") or "").strip().upper()
    if did_type not in ("DATASET", "CONTAINER", "FILE"):
        raise BadData(f"unknown DID type {did_type!r}")
    return Did(str(data.get("scope") or ""), str(data.get("name") or ""), did_type)


def parse_replica_stream(body: bytes | str) -> list[dict[str, object]]:
    """One JSON object a line (Rucio's x-json-stream); a plain JSON list is taken too."""
    text = body.decode() if isinstance(body, bytes) else body
    stripped = text.strip()
    if stripped.startswith("["):
        data = _json(stripped)
        lines = data if isinstance(data, list) else []
    else:
        lines = [_json(line) for line in stripped.splitlines() if line.strip()]
    objects = [line for line in lines if isinstance(line, dict)]
    if len(objects) != len(lines):
        raise BadData("expected one replica object a line")
    return objects


def count_replicas(did_type: str, lines: list[dict[str, object]]) -> int:
    """On how many storage endpoints the DID has a replica: a dataset's replicas are one a
    line (``rse``), a file's are the keys of ``rses``."""
    if did_type == "DATASET":
        return len({str(line.get("rse")) for line in lines if line.get("rse")})
    endpoints: set[str] = set()
    for line in lines:
        rses = line.get("rses")
        if isinstance(rses, dict):
            endpoints.update(str(rse) for rse in rses)
    return len(endpoints)
