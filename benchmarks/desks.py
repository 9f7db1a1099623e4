"""A team with a mailbox on a test Dovecot, as the intake benchmarks set it up."""

from __future__ import annotations

import os

from people.models import Team
from tickets.models import Mailbox

USER = "desk"
PASSWORD = "bench-pw"


def imap_desk(imap, *, slug: str, name: str, prefix: str, mailbox: str) -> tuple[Team, Mailbox]:
    """A new team whose mailbox reads USER's INBOX on ``imap`` (a tests.mailservers.Dovecot)."""
    os.environ["DAST_BENCH_IMAP_PW"] = PASSWORD
    team = Team.objects.create(
        slug=slug,
        name=name,
        ticket_prefix=prefix,
        support_address="hn-atlas-dist-analysis-help@cern.ch",
    )
    box = Mailbox.objects.create(
        team=team,
        name=mailbox,
        host=imap.host,
        port=imap.port,
        security="none",
        username=USER,
        password_env="DAST_BENCH_IMAP_PW",
        addresses="dast-desk@cern.ch",
    )
    return team, box
