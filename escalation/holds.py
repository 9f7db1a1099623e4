"""Reasons to hold an escalation's mail for a while: a site in a declared outage cannot
answer, and its response timer should not run meanwhile. Another app (grid) registers a
check in its AppConfig.ready(); escalation knows nothing of where the answer comes from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from escalation.models import ExpertGroup


@dataclass(frozen=True)
class Hold:
    until: datetime
    reason: str  # "BNL-ATLAS is in a scheduled outage (GOCDB)"


HoldCheck = Callable[[ExpertGroup, datetime], Hold | None]
_checks: dict[str, HoldCheck] = {}


def register(name: str, check: HoldCheck) -> None:
    _checks[name] = check


def hold_for(group: ExpertGroup, at: datetime) -> Hold | None:
    """The hold that ends last among the registered checks', if any."""
    holds = [hold for check in _checks.values() if (hold := check(group, at)) is not None]
    return max(holds, key=lambda h: h.until) if holds else None
