"""The directory of expert groups, clouds and sites, imported from a CSV or JSON file.

CSV has a header row and one group a row, in UTF-8 (with or without a BOM), separated by
``,`` or ``;``. JSON is a list of objects with the same keys, or ``{"groups": [...]}``::

    kind,name,email,cloud,target_hours,next_level,next_level_kind,reply_addresses,active
    cloud,DE,cloud-de-support@example.org,,,,zone,,
    site,FZK-LCG2,fzk-lcg2-support@example.org,DE,,DE,,@gridka.example.org,

Only kind, name and email are required. A row states its group whole, and an empty cell means
the default: target_hours EXPERT_TARGET_HOURS for experts and SITE_TARGET_HOURS for clouds and
sites (working hours); next_level_kind "group" when next_level is given, else "zone"; no
reply addresses; active. ``cloud`` names a cloud, ``next_level`` a group of any kind
(``cloud:CERN`` picks the kind when two share a name), in the file or among the team's active
groups. remind_percent and next_level_percent are not in the file and keep their values.

The file is checked whole before anything is written: any error refuses all of it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from escalation.models import ExpertGroup, GroupKind, NextLevel, default_target_hours
from escalation.selectors import GROUPS_CACHED
from people.models import Team
from people.teamcache import team_cache_forget

COLUMNS = (
    "kind",
    "name",
    "email",
    "cloud",
    "target_hours",
    "next_level",
    "next_level_kind",
    "reply_addresses",
    "active",
)
REQUIRED = ("kind", "name", "email")
KINDS = tuple(GroupKind.values)
# The choices of ExpertGroup.next_level_kind (a test keeps the two in step).
NEXT_LEVEL_KINDS = tuple(NextLevel.values)
# A target beyond a working year is a typo, and would overflow nothing but patience.
MAX_TARGET_HOURS = 2000
NAME_MAX = 100
EMAIL_MAX = 254
TRUE = {"true", "yes", "y", "1"}
FALSE = {"false", "no", "n", "0"}

Key: TypeAlias = tuple[str, str]  # (kind, name)
NOWHERE = "in the file or among the team's active groups"


@dataclass(frozen=True)
class DirectoryError:
    """One problem in the file. ``line`` is the CSV line (the header is 1) or the JSON item
    (the first is 1), as ``unit`` says; 0 is the file as a whole."""

    line: int
    field: str
    message: str
    unit: str = "line"

    def __str__(self) -> str:
        where = f"{self.unit} {self.line}" if self.line else "file"
        return (
            f"{where}, {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class DirectoryInvalid(Exception):
    """The file was refused; ``errors`` lists every problem found, in file order."""

    def __init__(self, errors: Iterable[DirectoryError]) -> None:
        self.errors = sorted(errors, key=lambda e: e.line)
        count = len(self.errors)
        first = f": {self.errors[0]}" if self.errors else ""
        super().__init__(f"{count} error{'s' if count != 1 else ''} in the directory{first}")


@dataclass(frozen=True)
class Entry:
    """One group as the file states it. ``target_hours`` None is the kind's default."""

    line: int
    kind: str
    name: str
    email: str
    cloud: str = ""
    target_hours: int | None = None
    next_level: str = ""
    next_level_kind: str = "zone"
    reply_addresses: tuple[str, ...] = ()
    active: bool = True
    unit: str = "line"

    @property
    def key(self) -> Key:
        return (self.kind, self.name)

    def error(self, field: str, message: str) -> DirectoryError:
        return DirectoryError(self.line, field, message, self.unit)


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    deactivated: int


# Reading the file


def parse_directory(
    data: bytes, filename: str, *, known: Collection[Key] | None = None
) -> list[Entry]:
    """The groups in a CSV or JSON file (by extension, else by content). ``known`` is the
    (kind, name) of the team's active groups: given, references to groups not in the file
    are checked too (``directory_import`` checks them in any case). Raises DirectoryInvalid
    with every problem found."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DirectoryInvalid(
            [DirectoryError(line, "", f"not UTF-8 text (byte {exc.start + 1})")]
        ) from None
    suffix = Path(filename).suffix.lower()
    is_json = suffix == ".json" or (suffix != ".csv" and text.lstrip()[:1] in ("[", "{"))
    rows, errors = _json_rows(text) if is_json else _csv_rows(text)
    entries = [row.entry() for row in rows]
    for row in rows:
        errors += row.errors
    if not rows and not errors:
        errors.append(DirectoryError(0, "", "no groups in the file"))
    # Rows with errors of their own are still checked against the others, when they have
    # a kind and a name to be checked by, so that one run lists every problem.
    errors += directory_check([e for e in entries if e.kind in KINDS and e.name], known)
    if errors:
        raise DirectoryInvalid(errors)
    return entries


def _csv_rows(text: str) -> tuple[list[_Row], list[DirectoryError]]:
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[_Row] = []
    errors: list[DirectoryError] = []
    previous = 0
    try:
        for cells in reader:
            line, previous = previous + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in cells]
                errors += _header_errors(header, line)
                if errors:
                    return [], errors
                continue
            row = _Row(dict(zip(header, cells, strict=False)), line, "line")
            if any(cell.strip() for cell in cells[len(header) :]):
                row.fail("", f"{len(cells)} cells, but the header has {len(header)} columns")
            rows.append(row)
    except csv.Error as exc:
        errors.append(DirectoryError(reader.line_num, "", f"not readable as CSV ({exc})"))
    return rows, errors


def _header_errors(header: list[str], line: int) -> list[DirectoryError]:
    errors = []
    for position, column in enumerate(header):
        if column not in COLUMNS:
            errors.append(
                DirectoryError(line, column, f"is not a column (the columns: {', '.join(COLUMNS)})")
            )
        elif column in header[:position]:
            errors.append(DirectoryError(line, column, "is a column twice"))
    for column in REQUIRED:
        if column not in header:
            errors.append(DirectoryError(line, column, "the header lacks this column"))
    return errors


def _json_rows(text: str) -> tuple[list[_Row], list[DirectoryError]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], [DirectoryError(exc.lineno, "", f"not readable as JSON ({exc.msg})")]
    if isinstance(data, dict) and set(data) == {"groups"}:
        data = data["groups"]
    if not isinstance(data, list):
        return [], [DirectoryError(0, "", 'expected a list of groups, or {"groups": [...]}')]
    rows, errors = [], []
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            errors.append(DirectoryError(number, "", "is not an object", "item"))
            continue
        row = _Row(item, number, "item")
        for key in item:
            if key not in COLUMNS:
                row.fail(str(key), f"is not a key (the keys: {', '.join(COLUMNS)})")
        rows.append(row)
    return rows, errors


class _Row:
    """One CSV row or JSON object, read into an Entry; its problems gather in ``errors`` (and
    the entry then holds what could be read)."""

    def __init__(self, values: Mapping[str, object], line: int, unit: str) -> None:
        self.values, self.line, self.unit = values, line, unit
        self.errors: list[DirectoryError] = []

    def fail(self, field: str, message: str) -> None:
        self.errors.append(DirectoryError(self.line, field, message, self.unit))

    def entry(self) -> Entry:
        kind = self.required("kind").lower()
        name = self.required("name")
        email = self.required("email")
        if kind and kind not in KINDS:
            self.fail("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
        if len(name) > NAME_MAX:
            self.fail("name", f"is longer than {NAME_MAX} characters")
        if email and not _is_email(email):
            self.fail("email", f"{email!r} is not an e-mail address")
        cloud = self.text("cloud")
        if cloud and kind in KINDS and kind != GroupKind.SITE:
            self.fail("cloud", f"only a site has a cloud, and this is a {kind}")
        next_level, next_level_kind = self.next_level()
        return Entry(
            line=self.line,
            unit=self.unit,
            kind=kind,
            name=name,
            email=email,
            cloud=cloud,
            target_hours=self.hours("target_hours"),
            next_level=next_level,
            next_level_kind=next_level_kind,
            reply_addresses=self.addresses("reply_addresses"),
            active=self.flag("active"),
        )

    def text(self, field: str) -> str:
        value = self.values.get(field)
        if value is None:
            return ""
        if isinstance(value, str):
            return value.strip()
        self.fail(field, f"must be text, not {json.dumps(value)}")
        return ""

    def required(self, field: str) -> str:
        before = len(self.errors)
        value = self.text(field)
        if not value and len(self.errors) == before:  # else text() said it is not text
            self.fail(field, "is required")
        return value

    def next_level(self) -> tuple[str, str]:
        next_level = self.text("next_level")
        kind = self.text("next_level_kind").lower()
        if not kind:
            kind = "group" if next_level else "zone"
        elif kind not in NEXT_LEVEL_KINDS:
            self.fail("next_level_kind", f"{kind!r} is not one of {', '.join(NEXT_LEVEL_KINDS)}")
        elif kind == "group" and not next_level:
            self.fail("next_level", "is required when next_level_kind is 'group'")
        elif kind != "group" and next_level:
            self.fail(
                "next_level_kind",
                f"is {kind!r}, so next_level {next_level!r} would never hear: leave one empty",
            )
        return next_level, kind

    def hours(self, field: str) -> int | None:
        value = self.values.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            if value <= MAX_TARGET_HOURS:
                return value
            self.fail(field, f"{value} hours is more than a working year ({MAX_TARGET_HOURS})")
            return None
        shown = value.strip() if isinstance(value, str) else json.dumps(value)
        self.fail(field, f"{shown!r} is not a positive whole number of hours")
        return None

    def addresses(self, field: str) -> tuple[str, ...]:
        value = self.values.get(field)
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            value = " ".join(value)
        text = self.text(field) if not isinstance(value, str) else value
        found = []
        for address in re.split(r"[\s,;]+", text.strip()):
            if not address:
                continue
            if not _is_email("x" + address if address.startswith("@") else address):
                self.fail(field, f"{address!r} is neither an e-mail address nor an @domain")
            elif address not in found:
                found.append(address)
        return tuple(found)

    def flag(self, field: str) -> bool:
        value = self.values.get(field)
        if isinstance(value, bool):
            return value
        text = self.text(field).lower()
        if not text or text in TRUE:
            return True
        if text in FALSE:
            return False
        self.fail(field, f"{text!r} is neither true nor false")
        return True


def _is_email(value: str) -> bool:
    if len(value) > EMAIL_MAX:
        return False
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


# Checks across rows


def directory_check(entries: list[Entry], known: Collection[Key] | None) -> list[DirectoryError]:
    """Problems between rows: a group named twice, and (when ``known`` is given: the team's
    active groups) a cloud or next level that is neither in the file nor known, or that the
    file marks inactive."""
    errors = []
    first: dict[Key, Entry] = {}
    for entry in entries:
        if entry.key in first:
            seen = first[entry.key]
            errors.append(
                entry.error("name", f"{entry.name!r} is already a {entry.kind} on {_at(seen)}")
            )
        else:
            first[entry.key] = entry
    if known is None:
        return errors
    names = set(first) | set(known)
    for entry in entries:
        if entry.cloud:
            key = (GroupKind.CLOUD.value, entry.cloud)
            if key not in names:
                errors.append(entry.error("cloud", f"no cloud {entry.cloud!r} {NOWHERE}"))
            elif key in first and not first[key].active:
                errors.append(
                    entry.error("cloud", f"{entry.cloud!r} is inactive on {_at(first[key])}")
                )
        if entry.next_level:
            key_or_none, problem = _resolve(entry.next_level, names)
            if key_or_none is None:
                errors.append(entry.error("next_level", problem))
            elif key_or_none == entry.key:
                errors.append(entry.error("next_level", "a group cannot be its own next level"))
            elif key_or_none in first and not first[key_or_none].active:
                target = first[key_or_none]
                errors.append(
                    entry.error("next_level", f"{target.name!r} is inactive on {_at(target)}")
                )
    return errors


def _at(entry: Entry) -> str:
    return f"{entry.unit} {entry.line}"


def _resolve(reference: str, names: Collection[Key]) -> tuple[Key | None, str]:
    """The group a next_level names: by name, any kind; ``kind:name`` when names clash."""
    prefix, colon, rest = reference.partition(":")
    if colon and prefix.strip().lower() in KINDS:
        key = (prefix.strip().lower(), rest.strip())
        if key in names:
            return key, ""
        return None, f"no {key[0]} {key[1]!r} {NOWHERE}"
    matches = sorted(key for key in names if key[1] == reference)
    if not matches:
        return None, f"no group {reference!r} {NOWHERE}"
    if len(matches) > 1:
        spelled = " or ".join(f"{kind}:{reference}" for kind, _ in matches)
        return None, f"{reference!r} is the name of {len(matches)} groups: write {spelled}"
    return matches[0], ""


# Writing


def directory_names(*, team: Team) -> set[Key]:
    """(kind, name) of the team's active groups: what a file may refer to without listing."""
    return set(ExpertGroup.objects.filter(team=team, active=True).values_list("kind", "name"))


def directory_import(
    *,
    team: Team,
    entries: list[Entry],
    deactivate_missing: bool = False,
    dry_run: bool = False,
) -> ImportResult:
    """Create or update the team's groups from ``entries`` (by kind and name), in one
    transaction. With ``deactivate_missing`` the team's groups that the file neither lists
    nor refers to are marked inactive; none is deleted, since escalations point at them.
    ``dry_run`` does it all, counts, and rolls back. Raises DirectoryInvalid first if a
    reference does not resolve against the team as it now is."""
    with transaction.atomic():
        # One import of a team at a time: the second sees the first's groups.
        Team.objects.select_for_update().filter(pk=team.pk).first()
        groups = {(g.kind, g.name): g for g in ExpertGroup.objects.filter(team=team)}
        known = {key for key, group in groups.items() if group.active}
        errors = directory_check(entries, known)
        if errors:
            raise DirectoryInvalid(errors)
        names = known | {entry.key for entry in entries}
        created, updated = _upsert(team, entries, groups, names)
        deactivated = 0
        if deactivate_missing:
            keep = {entry.key for entry in entries} | _referenced(entries, names)
            stale = [g.pk for key, g in groups.items() if key not in keep and g.active]
            deactivated = ExpertGroup.objects.filter(pk__in=stale).update(active=False)
        if dry_run:
            transaction.set_rollback(True)
        else:
            transaction.on_commit(lambda: team_cache_forget(team.pk, GROUPS_CACHED))
    return ImportResult(
        created=len(created),
        updated=len(updated - created),
        unchanged=len(entries) - len(created | updated),
        deactivated=deactivated,
    )


def _upsert(
    team: Team, entries: list[Entry], groups: dict[Key, ExpertGroup], names: set[Key]
) -> tuple[set[Key], set[Key]]:
    """Write every entry; ``groups`` gains the new ones. Clouds go first so that sites can
    link to them; next levels are set once every group exists."""
    created: set[Key] = set()
    updated: set[Key] = set()
    order = {GroupKind.CLOUD: 0, GroupKind.EXPERT: 1, GroupKind.SITE: 2}
    for entry in sorted(entries, key=lambda e: order[GroupKind(e.kind)]):
        fields = {
            "email": entry.email,
            "cloud_id": groups[(GroupKind.CLOUD.value, entry.cloud)].pk if entry.cloud else None,
            "response_target_hours": entry.target_hours or default_target_hours(entry.kind),
            "next_level_kind": entry.next_level_kind,
            "reply_addresses": "\n".join(entry.reply_addresses),
            "active": entry.active,
        }
        group = groups.get(entry.key)
        if group is None:
            groups[entry.key] = ExpertGroup.objects.create(
                team=team, kind=entry.kind, name=entry.name, **fields
            )
            created.add(entry.key)
        elif _assign(group, fields):
            updated.add(entry.key)
    for entry in entries:
        target = _resolve(entry.next_level, names)[0] if entry.next_level else None
        if _assign(groups[entry.key], {"next_level_id": groups[target].pk if target else None}):
            updated.add(entry.key)
    return created, updated


def _assign(group: ExpertGroup, fields: Mapping[str, object]) -> bool:
    """Set the fields that differ and save just those; whether any did."""
    changed = [name for name, value in fields.items() if getattr(group, name) != value]
    for name in changed:
        setattr(group, name, fields[name])
    if changed:
        group.save(update_fields=[name.removesuffix("_id") for name in changed])
    return bool(changed)


def _referenced(entries: list[Entry], names: set[Key]) -> set[Key]:
    keys = {(GroupKind.CLOUD.value, entry.cloud) for entry in entries if entry.cloud}
    for entry in entries:
        if entry.next_level:
            key = _resolve(entry.next_level, names)[0]
            if key is not None:
                keys.add(key)
    return keys
