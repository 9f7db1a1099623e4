"""What the grid services answer, turned into dataclasses. Pure: bytes or JSON in,
dataclasses out, no Django. A body that is not what the service documents raises BadData
with a short reason (it ends up on the admin's service health page).

Shapes:
- GOCDB ``?method=get_downtime``: ``<results><DOWNTIME ID=".." PRIMARY_KEY=".."
  CLASSIFICATION="SCHEDULED">`` with HOSTNAME, SERVICE_TYPE, HOSTED_BY (the GOCDB site),
  GOCDB_PORTAL_URL, SEVERITY (OUTAGE/WARNING), DESCRIPTION, START_DATE and END_DATE (Unix
  seconds); one element per affected service, so one downtime may come several times.
- CRIC ``/api/atlas/pandaqueue/query/?json``: ``{"ANALY_X": {"atlas_site": .., "rc_site":
  .., "cloud": ..}}``; ``/api/atlas/ddmendpoint/query/?json``: the same keyed by endpoint
  (``site``, ``rc_site``, ``cloud``).
- BigPanDA ``/job?pandaid=N&json``: ``{"job": {"jobstatus", "computingsite",
  "<source>errorcode", "<source>errordiag", ...}}``; ``/task/N/?json``: ``{"task":
  {"status", "site", "errordialog", ...}}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.etree import ElementTree

from grid.http import BadData

__all__ = [
    "CricEntry",
    "DowntimeRow",
    "JobOrTask",
    "parse_cric",
    "parse_downtimes",
    "parse_job",
    "parse_task",
]

MAX_DIALOG = 500


@dataclass
class DowntimeRow:
    key: str
    gocdb_site: str
    severity: str
    classification: str
    description: str
    start_at: datetime
    end_at: datetime
    url: str
    services: list[str] = field(default_factory=list)


def _unix(text: str | None, what: str) -> datetime:
    try:
        return datetime.fromtimestamp(int((text or "").strip()), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise BadData(f"{what} is not a Unix time: {text!r}") from None


def parse_downtimes(body: bytes) -> list[DowntimeRow]:
    """Each downtime once, its services gathered, in the feed's order."""
    try:
        # Python's expat refuses entity expansion bombs (billion laughs) and ElementTree
        # resolves no external entities; the feed comes from a configured service.
        root = ElementTree.fromstring(body)  # noqa: S314
    except ElementTree.ParseError as error:
        raise BadData(f"not XML: {error}") from None
    if root.tag != "results":
        raise BadData(f"expected <results>, got <{root.tag}>")
    found: dict[str, DowntimeRow] = {}
    for element in root.iter("DOWNTIME"):
        key = element.get("PRIMARY_KEY") or element.findtext("PRIMARY_KEY") or element.get("ID")
        if not key:
            raise BadData("a DOWNTIME without PRIMARY_KEY")
        service = " ".join(
            filter(None, [element.findtext("HOSTNAME"), element.findtext("SERVICE_TYPE")])
        )
        if key in found:
            if service and service not in found[key].services:
                found[key].services.append(service)
            continue
        severity = (element.findtext("SEVERITY") or "").strip().upper()
        classification = (element.get("CLASSIFICATION") or "").strip().upper()
        if severity not in ("OUTAGE", "WARNING"):
            raise BadData(f"downtime {key}: unknown SEVERITY {severity!r}")
        if classification not in ("SCHEDULED", "UNSCHEDULED"):
            raise BadData(f"downtime {key}: unknown CLASSIFICATION {classification!r}")
        site = (element.findtext("HOSTED_BY") or "").strip()
        if not site:
            raise BadData(f"downtime {key}: no HOSTED_BY")
        start = _unix(element.findtext("START_DATE"), f"downtime {key} START_DATE")
        end = _unix(element.findtext("END_DATE"), f"downtime {key} END_DATE")
        if end < start:
            raise BadData(f"downtime {key} ends before it starts")
        found[key] = DowntimeRow(
            key=key[:64],
            gocdb_site=site[:100],
            severity=severity,
            classification=classification,
            description=(element.findtext("DESCRIPTION") or "").strip(),
            start_at=start,
            end_at=end,
            url=(element.findtext("GOCDB_PORTAL_URL") or "").strip()[:500],
            services=[service] if service else [],
        )
    return list(found.values())


@dataclass(frozen=True)
class CricEntry:
    name: str  # the queue or endpoint
    atlas_site: str
    gocdb_site: str
    cloud: str


def _json(body: bytes | str) -> object:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadData(f"not JSON: {error}") from None


def parse_cric(body: bytes | str) -> list[CricEntry]:
    """A CRIC pandaqueue or ddmendpoint list (a JSON object keyed by name)."""
    data = _json(body)
    if not isinstance(data, dict):
        raise BadData("expected a JSON object keyed by name")
    entries = []
    for name, item in data.items():
        if not isinstance(item, dict):
            raise BadData(f"{name}: expected an object")
        site = str(item.get("atlas_site") or item.get("site") or "").strip()
        if not site:
            continue  # a queue no site claims tells nothing about sites
        entries.append(
            CricEntry(
                name=str(name).strip(),
                atlas_site=site,
                gocdb_site=str(item.get("rc_site") or "").strip(),
                cloud=str(item.get("cloud") or "").strip(),
            )
        )
    return entries


@dataclass(frozen=True)
class JobOrTask:
    status: str
    site: str
    errors: list[tuple[str, int | str, str]]  # (source, code, dialog), non-zero codes only


# The error sources a PanDA job reports, as its fields are named.
_JOB_ERROR_SOURCES = ("pilot", "exe", "sup", "ddm", "brokerage", "jobdispatcher", "taskbuffer")


def _object(body: bytes | str, key: str) -> dict[str, object]:
    data = _json(body)
    if not isinstance(data, dict) or not isinstance(data.get(key), dict):
        raise BadData(f'expected an object with a "{key}" object')
    return data[key]


def parse_job(body: bytes | str) -> JobOrTask:
    job = _object(body, "job")
    status = str(job.get("jobstatus") or "").strip()
    if not status:
        raise BadData("the job has no jobstatus")
    errors: list[tuple[str, int | str, str]] = []
    for source in _JOB_ERROR_SOURCES:
        code = job.get(f"{source}errorcode")
        if code in (None, "", 0, "0"):
            continue
        dialog = str(job.get(f"{source}errordiag") or "").strip()[:MAX_DIALOG]
        errors.append((source, code if isinstance(code, int | str) else str(code), dialog))
    return JobOrTask(status=status, site=str(job.get("computingsite") or ""), errors=errors)


def parse_task(body: bytes | str) -> JobOrTask:
    task = _object(body, "task")
    status = str(task.get("status") or task.get("superstatus") or "").strip()
    if not status:
        raise BadData("the task has no status")
    dialog = str(task.get("errordialog") or "").strip()[:MAX_DIALOG]
    return JobOrTask(
        status=status,
        site=str(task.get("site") or ""),
        errors=[("task", "", dialog)] if dialog else [],
    )
