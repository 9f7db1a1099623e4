"""Grid facts escalation asks about (registered in GridConfig.ready())."""

from __future__ import annotations

from datetime import datetime

from escalation.holds import Hold
from escalation.models import ExpertGroup
from grid.selectors import outage_until


def outage_hold(group: ExpertGroup, at: datetime) -> Hold | None:
    """A site group whose site (by name, or any alias) is in a declared outage: hold until
    it ends."""
    outage = outage_until(group.name, at)
    if outage is None:
        return None
    kind = outage.get_classification_display()
    return Hold(
        until=outage.end_at,
        reason=f"{group.name} is in a {kind} outage declared in GOCDB ({outage.gocdb_site})",
    )
