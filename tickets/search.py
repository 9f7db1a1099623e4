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
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from people.models import Team
from people.selectors import teams_for_desk_user
from tickets.models import Message, Ticket, parse_reference
from tickets.selectors import AnyUser, ticket_list_for_user, ticket_list_of_teams

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


def ticket_search(
    user: AnyUser, text: str, *, teams: Sequence[Team] | None = None
) -> QuerySet[Ticket]:
    """The tickets this user may see that match ``text``, best first (at most MAX_HITS).
    ``teams``: the user's desk teams, when the caller has them already."""
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
        if teams is None:
            teams = list(teams_for_desk_user(user))
        return _ranked([team.pk for team in teams], words)
    return _substrings(tickets, words)


# The subjects and the newest RANK_WINDOW matching messages, each ranked, in one statement
# (hand-written: the two ORM queries it replaces cost more to build than to run).
_RANK_SQL = """
(SELECT newest.ticket_id,
        max(ts_rank(newest.search_vector, websearch_to_tsquery('english', %(q)s))), false
   FROM (SELECT m.ticket_id, m.search_vector FROM tickets_message m
          WHERE m.team_id = ANY(%(teams)s)
            AND m.search_vector @@ websearch_to_tsquery('english', %(q)s)
          ORDER BY m.id DESC LIMIT %(window)s) AS newest
  GROUP BY newest.ticket_id ORDER BY 2 DESC LIMIT %(hits)s)
UNION ALL
(SELECT t.id, ts_rank(t.search_vector, websearch_to_tsquery('english', %(q)s)), true
   FROM tickets_ticket t
  WHERE t.team_id = ANY(%(teams)s)
    AND t.search_vector @@ websearch_to_tsquery('english', %(q)s)
  ORDER BY 2 DESC LIMIT %(hits)s)
"""


def _ranked(team_ids: list[int], words: str) -> QuerySet[Ticket]:
    """Ranked over the desk's teams (ranking every ticket a person may see would rank an
    expert's few escalated tickets among all the teams' mail). Ranking reads each hit's
    tsvector: only the newest RANK_WINDOW matching messages are ranked, so a common word
    costs the same as a rare one."""
    rank: dict[int, float] = defaultdict(float)
    params: dict[str, Any] = {
        "q": words,
        "teams": team_ids,
        "window": RANK_WINDOW,
        "hits": MAX_HITS,
    }
    with connection.cursor() as cursor:
        cursor.execute(_RANK_SQL, params)
        for ticket_id, value, in_subject in cursor.fetchall():
            rank[ticket_id] += SUBJECT_BOOST * value if in_subject else value
    best = sorted(rank, key=lambda pk: (-rank[pk], -pk))[:MAX_HITS]
    tickets = ticket_list_of_teams(team_ids)
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
