"""Full-text search over ticket subjects and every message body.

On PostgreSQL a trigger keeps a tsvector per ticket (subject) and per message (subject and
body; migration 0006) with GIN indexes: a query is ``websearch_to_tsquery`` (quotes for
phrases, ``-word`` to exclude, ``or``), ranked, best tickets first. URL and Rucio punctuation
is a word break on both sides, so a PanDA job id pasted as a BigPanDA URL, a JEDI task id or
a ``scope:name`` dataset matches exactly. Ranking looks at the newest RANK_WINDOW matching
messages (a help desk searches recent mail far more than old). On SQLite (``make run``)
every word must appear in the subject or in a message, as a substring; newest activity
first.

A ticket reference ("DAST-1234", also "[DAST-1234]") goes straight to that ticket.
"""

from __future__ import annotations

import re
from collections import defaultdict

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import F, Max, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL

from tickets.models import Message, Ticket, parse_reference
from tickets.selectors import AnyUser, teams_for_desk_user, ticket_list_for_user

# The best this many tickets are ranked and listed: a search is for finding, not browsing.
MAX_HITS = 200
MAX_QUERY_CHARS = 200
_BREAKS = re.compile(r"[/?=&:#]")
RANK_WINDOW = 500
# A hit in the subject weighs more than one in a body.
SUBJECT_BOOST = 2.0


def search_words(text: str) -> str:
    """The query as the index saw the mail: URL and DID punctuation is a word break."""
    return " ".join(_BREAKS.sub(" ", text.strip()[:MAX_QUERY_CHARS]).split())


def ticket_search(user: AnyUser, text: str) -> QuerySet[Ticket]:
    """The tickets this user may see that match ``text``, best first (at most MAX_HITS)."""
    tickets = ticket_list_for_user(user)
    reference = parse_reference(text)
    if reference:
        exact = tickets.filter(team__ticket_prefix=reference[0], number=reference[1])
        if exact.exists():
            return exact
    words = search_words(text)
    if not words:
        return tickets.none()
    if connection.vendor == "postgresql":
        return _ranked(user, tickets, words)
    return _substrings(tickets, words)


def _ranked(user: AnyUser, tickets: QuerySet[Ticket], words: str) -> QuerySet[Ticket]:
    query = SearchQuery(words, search_type="websearch", config="english")
    team_ids = list(teams_for_desk_user(user).values_list("pk", flat=True))
    rank: dict[int, float] = defaultdict(float)
    # Ranking reads each hit's tsvector: only the newest RANK_WINDOW matching messages are
    # ranked, so a common word costs the same as a rare one.
    newest = (
        Message.objects.filter(team_id__in=team_ids, search_vector=query)
        .order_by("-pk")
        .values("pk")[:RANK_WINDOW]
    )
    in_messages = (
        Message.objects.filter(pk__in=Subquery(newest))
        .values("ticket_id")
        .annotate(rank=Max(SearchRank(F("search_vector"), query)))
        .order_by("-rank")[:MAX_HITS]
    )
    for row in in_messages:
        rank[row["ticket_id"]] += row["rank"]
    in_subjects = (
        Ticket.objects.filter(team_id__in=team_ids, search_vector=query)
        .annotate(rank=SearchRank(F("search_vector"), query))
        .order_by("-rank")
        .values_list("pk", "rank")[:MAX_HITS]
    )
    for pk, value in in_subjects:
        rank[pk] += SUBJECT_BOOST * value
    best = sorted(rank, key=lambda pk: (-rank[pk], -pk))[:MAX_HITS]
    if not best:
        return tickets.none()
    # Best first: the position in the ranked list, one array parameter (a CASE of 200 arms
    # would cost more to build than the query takes).
    order = RawSQL("array_position(%s::bigint[], tickets_ticket.id)", (best,))
    return tickets.filter(pk__in=best).order_by(order)


def _substrings(tickets: QuerySet[Ticket], words: str) -> QuerySet[Ticket]:
    for word in words.split()[:8]:
        matching = Message.objects.filter(body_text__icontains=word).values("ticket_id")
        tickets = tickets.filter(Q(subject__icontains=word) | Q(pk__in=matching))
    return tickets.order_by("-last_message_at", "-pk")
