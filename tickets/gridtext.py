"""Grid identifiers in support mail: JEDI tasks, PanDA jobs, Rucio datasets, queues, storage
endpoints, JIRA keys, GGUS tickets and software releases.

Pure: text in, a frozen dataclass out, no Django. A bare number is never taken for an id (mail is
full of phone numbers, dates and event counts); a number counts only after a context word
("task", "PandaID=", "GGUS ticket #") or inside a monitor URL. Every pattern is compiled once
and has no nested unbounded quantifiers, so a megabyte of hostile text is still scanned in
linear time.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from typing import TypeVar

T = TypeVar("T")

__all__ = [
    "DEFAULT_JIRA_PROJECTS",
    "GridIds",
    "find_ids",
    "find_known_names",
    "parse_job_or_url",
    "parse_task_or_url",
]

DEFAULT_JIRA_PROJECTS: tuple[str, ...] = (
    "ATLASPANDA",
    "ADCSUPPORT",
    "ATLDDMOPS",
    "ADCINFR",
    "ATLINFR",
    "ATLASJT",
    "RUCIO",
    "AMI",
    "ATLASG",
    "ATLASRECTS",
)


@dataclass(frozen=True)
class GridIds:
    tasks: tuple[int, ...] = ()  # JEDI task ids
    jobs: tuple[int, ...] = ()  # PanDA job ids
    datasets: tuple[str, ...] = ()  # Rucio DIDs "scope:name", or DQ2 names without a scope
    queues: tuple[str, ...] = ()  # PanDA queues
    sites: tuple[str, ...] = ()  # storage endpoints (RSEs) and sites named as such
    jira: tuple[str, ...] = ()  # keys of the configured JIRA projects
    ggus: tuple[int, ...] = ()  # GGUS ticket numbers
    releases: tuple[str, ...] = ()  # "Project,version" as asetup takes it, or a bare version

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def merged(self, other: GridIds) -> GridIds:
        """Both sets of ids; each kind in order of first appearance, self's first."""
        return GridIds(
            **{
                f.name: tuple(dict.fromkeys((*getattr(self, f.name), *getattr(other, f.name))))
                for f in fields(self)
            }
        )


# Task ids are 6-10 digits and job ids 7-12: shorter numbers after "task" or "job" are counts,
# release numbers or the pre-JEDI jobset ids, which no monitor links any more.
_TASK_DIGITS = (6, 10)
_JOB_DIGITS = (7, 12)
_END = r"(?!\d)(?!\.\d)"  # a number that is not the head of a longer number or of a version
# Between a context word and its number: spaces, ":", "=", "#", and "> " when a quoted line
# breaks right after the word.
_SEP = r"[\s:=#>]{1,16}"

_TASK = re.compile(
    r"(?<![A-Za-z])(?:(?:jedi[ _-]?)?task(?:[ _-]?id)?s?" + _SEP + r"|"
    r"(?:retry|kill|killAndRetry|finish)\(\s{0,2}|"  # pbook commands take a task id
    r"bigpanda[\w.-]{0,40}/task/)(\d+)" + _END,
    re.IGNORECASE,
)
_JOB = re.compile(
    r"(?<![A-Za-z])(?:(?:panda[ _-]?)?job(?:[ _-]?id)?s?" + _SEP + r"|panda[ _-]?id" + _SEP + r"|"
    r"bigpanda[\w.-]{0,40}/job/|pandamon/query\?(?:[^\s&]{0,40}&){0,4}job=)(\d+)" + _END,
    re.IGNORECASE,
)
# "tasks 15934870, 15934871 and 15934872": a list continues a number found in context.
_MORE = re.compile(r"(?:\s{0,2},\s{0,2}|\s{1,2}(?:and|or|&)\s{1,2})(\d+)" + _END)

_SCOPE = r"(?:user\.[A-Za-z0-9_-]+|group\.[A-Za-z0-9_-]+|(?:mc|data)\d\d_\w+|valid\d|panda)"
_DQ2 = r"(?:(?:user|group)(?:\d\d)?\.[A-Za-z0-9_-]+|(?:mc|data)\d\d_[A-Za-z0-9]+|valid\d)"
_DATASET = re.compile(
    r"(?<![\w.@-])(?:(?P<scope>" + _SCOPE + r"):(?P<name>[A-Za-z0-9_.-]+/?)"
    r"|(?P<dq2>" + _DQ2 + r"\.[A-Za-z0-9_.-]+/?))"
)
_DQ2_DETAIL = re.compile(r"[\d_]|/$")  # "user.jdoe.test1", "user.jdoe.out/"; not a host name

_QUEUE = re.compile(
    r"(?<![\w-])(ANALY_[A-Za-z0-9_-]+)"
    r"|(?:[?&]computingsite=|bigpanda[\w.-]{0,40}/site/)([A-Za-z][A-Za-z0-9_-]+)",
)
_SPACE_TOKENS = (
    "DATADISK|SCRATCHDISK|LOCALGROUPDISK|LOCALGROUPTAPE|USERDISK|PRODDISK|GROUPDISK|"
    "CALIBDISK|DATATAPE|MCTAPE"
)
_RSE = re.compile(
    r"(?<![\w-])([A-Za-z][A-Za-z0-9-]*(?:_[A-Za-z0-9-]+)?_(?:" + _SPACE_TOKENS + r"))(?!\w)"
)
_SITE_OPTION = re.compile(r"--(?:excluded)?site[= ]\s{0,2}([A-Za-z][A-Za-z0-9_,-]{1,400})", re.I)

_GGUS = re.compile(
    r"(?<![A-Za-z])(?:ggus(?:[\s-]{0,2}ticket)?(?:[\s-]{0,2}(?:id|number|no\.?))?[\s:#=]{1,4}"
    r"|ggus\.(?:eu|org)/[^\s?]{0,40}\?(?:[^\s]{0,80}?[&;])?ticket(?:_id)?=)(\d+)" + _END,
    re.IGNORECASE,
)
_GGUS_DIGITS = (5, 7)
# The new GGUS (a Zammad) links a ticket as https://helpdesk.ggus.eu/#ticket/zoom/<id>,
# with an id of any length.
_GGUS_ZOOM = re.compile(r"ggus\.(?:eu|org)/#ticket/zoom/(\d+)" + _END, re.IGNORECASE)
_GGUS_ZOOM_DIGITS = (1, 9)

_PROJECTS = (
    "AthAnalysisBase|AthAnalysis|AthDerivation|AthSimulation|AthGeneration|Athena|"
    "AnalysisBase|AnalysisTop|AtlasDerivation|AtlasProduction|AtlasOffline|AtlasPhysics|"
    "AtlasAnalysis|AtlasTier0|AtlasP1HLT|AtlasHLT|AtlasSimulation|AtlasReconstruction"
)
_VERSION = r"\d{1,2}\.\d{1,2}\.\d{1,3}(?:\.\d{1,3})?"
_VERSION_END = r"(?!\w)(?!\.\d)"  # not "8.0.2FP6" (Lotus Domino) nor the head of a longer one
# Without a project name, "release 7.0.1" is more likely a mail server's (Lotus Domino) than
# Athena's: Athena releases numbered 12 and up when the list began.
_FIRST_BARE_RELEASE = 12
_RELEASE = re.compile(
    rf"(?<![\w.])(?P<p1>{_PROJECTS})(?:,\s?|\s{{1,2}}|=)(?P<v1>{_VERSION}){_VERSION_END}"
    rf"|(?<![\w.])(?P<v2>{_VERSION}),(?P<p2>{_PROJECTS})(?!\w)"
    rf"|(?<![\w.])(?i:release|asetup|athenaTag)[\s:=]{{1,3}}(?:(?i:is|was)\s{{1,2}})?"
    rf"(?P<v3>{_VERSION}){_VERSION_END}(?:,(?P<p3>{_PROJECTS})(?!\w))?"
)


@functools.lru_cache(maxsize=16)
def _jira_pattern(projects: tuple[str, ...]) -> re.Pattern[str] | None:
    if not projects:
        return None
    names = "|".join(re.escape(p) for p in sorted(projects, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{names})-\d{{1,7}}(?!\d)")


def _numbers(
    pattern: re.Pattern[str], text: str, digits: tuple[int, int]
) -> Iterator[tuple[int, int]]:
    """(position, number) for each number in context, and the numbers of a list after it."""
    low, high = digits

    def fits(number: str) -> bool:  # \d also matches other scripts' digits, which int() takes
        return number.isascii() and low <= len(number) <= high

    for match in pattern.finditer(text):
        if not fits(match.group(1)):
            continue
        yield match.start(1), int(match.group(1))
        end = match.end()
        while (more := _MORE.match(text, end)) and fits(more.group(1)):
            yield more.start(1), int(more.group(1))
            end = more.end()


def _datasets(text: str) -> Iterator[tuple[int, str]]:
    for match in _DATASET.finditer(text):
        after = text[match.end() : match.end() + 1]
        if after and after in "*?@[":  # a wildcard pattern or a mail address, not a DID
            continue
        if match.group("scope"):
            name = _trim(match.group("name"))
            if name:
                yield match.start(), f"{match.group('scope')}:{name}"
            continue
        dq2 = _trim(match.group("dq2"))
        prefix, _, rest = dq2.partition(".")
        if prefix.startswith(("user", "group")):
            rest = rest.partition(".")[2]
        if rest and _DQ2_DETAIL.search(rest):
            yield match.start(), dq2


def _trim(name: str) -> str:
    """Drop sentence punctuation caught at the end; a container's trailing "/" stays."""
    return name if name.endswith("/") else name.rstrip(".-")


def _queues(text: str) -> Iterator[tuple[int, str]]:
    for match in _QUEUE.finditer(text):
        group = 1 if match.group(1) else 2
        queue = match.group(group).rstrip("_-")
        if len(queue) > len("ANALY_"):
            yield match.start(group), queue


def _sites(text: str) -> Iterator[tuple[int, str]]:
    for match in _RSE.finditer(text):
        yield match.start(1), match.group(1)
    for match in _SITE_OPTION.finditer(text):
        position = match.start(1)
        for part in match.group(1).split(","):
            site = part.rstrip("_-")
            # Queues and endpoints in the list are found by their own patterns; a lowercase
            # word is prose about the option ("--excludedSite of pathena"), not a site.
            prose = site.isalpha() and site.islower()
            other = site.startswith("ANALY_") or _RSE.fullmatch(site)
            if site[:1].isalpha() and not prose and not other:
                yield position, site
            position += len(part) + 1


def _releases(text: str) -> Iterator[tuple[int, str]]:
    for match in _RELEASE.finditer(text):
        project = match.group("p1") or match.group("p2") or match.group("p3")
        version = match.group("v1") or match.group("v2") or match.group("v3")
        if project:
            yield match.start(), f"{project},{version}"
        elif int(version.partition(".")[0]) >= _FIRST_BARE_RELEASE:
            yield match.start(), version


def _jira(text: str, projects: tuple[str, ...]) -> Iterator[tuple[int, str]]:
    pattern = _jira_pattern(projects)
    if pattern is not None:
        for match in pattern.finditer(text):
            yield match.start(), match.group()


def _ordered(found: Iterable[tuple[int, T]]) -> tuple[T, ...]:
    return tuple(dict.fromkeys(value for _, value in sorted(found, key=lambda pv: pv[0])))


# Words without which a kind cannot occur (lowercase): a regex scan costs a call per character,
# a substring test almost nothing, and most mail names few kinds of ids.
_NEEDLES = {
    "tasks": ("task", "retry(", "kill", "finish("),
    "jobs": ("job", "panda"),
    "datasets": ("user", "group", "mc", "data", "valid", "panda"),
    "queues": ("analy_", "computingsite=", "/site/"),
    "sites": ("disk", "tape", "site"),
    "ggus": ("ggus",),
    "releases": ("ath", "analysis", "atlas", "release", "asetup"),
}


def find_ids(
    text: str,
    *,
    jira_projects: Iterable[str] = DEFAULT_JIRA_PROJECTS,
    only: Iterable[str] | None = None,
) -> GridIds:
    """Every grid identifier in `text`, each kind deduplicated in order of first appearance.
    ``only``: the kinds wanted (as named in ``_NEEDLES``, and "jira"); the others come back
    empty."""
    projects = tuple(dict.fromkeys(p.strip().upper() for p in jira_projects if p.strip()))
    low = text.lower()
    wanted = {*_NEEDLES, "jira"} if only is None else set(only)
    kinds = {
        kind
        for kind, needles in _NEEDLES.items()
        if kind in wanted and any(n in low for n in needles)
    }
    releases = _ordered(_releases(text)) if "releases" in kinds else ()
    # "release 21.2.87" adds nothing when "AnalysisBase,21.2.87" is already there.
    versions = {r.partition(",")[2] for r in releases if "," in r}
    return GridIds(
        tasks=_ordered(_numbers(_TASK, text, _TASK_DIGITS)) if "tasks" in kinds else (),
        jobs=_ordered(_numbers(_JOB, text, _JOB_DIGITS)) if "jobs" in kinds else (),
        datasets=_ordered(_datasets(text)) if "datasets" in kinds else (),
        queues=_ordered(_queues(text)) if "queues" in kinds else (),
        sites=_ordered(_sites(text)) if "sites" in kinds else (),
        jira=_ordered(_jira(text, projects))
        if "jira" in wanted and any(p in text for p in projects)
        else (),
        ggus=_ordered(
            [*_numbers(_GGUS, text, _GGUS_DIGITS), *_numbers(_GGUS_ZOOM, text, _GGUS_ZOOM_DIGITS)]
        )
        if "ggus" in kinds
        else (),
        releases=tuple(r for r in releases if "," in r or r not in versions),
    )


_NAME_TOKEN = re.compile(r"(?<![\w.@/-])[A-Za-z][A-Za-z0-9_-]{1,99}(?![\w@-])")


def find_known_names(text: str, known: Mapping[str, str]) -> GridIds:
    """Names a directory knows (``known``: upper-case name -> "site" or "queue") written plain
    in ``text``, as sites and queues. A name that is a plain word ("PIC", "MWT2") counts when
    written in capitals or with a digit, dash or underscore: "a pic of the error" is not PIC."""
    sites: list[tuple[int, str]] = []
    queues: list[tuple[int, str]] = []
    for match in _NAME_TOKEN.finditer(text):
        token = match.group()
        kind = known.get(token.upper())
        if kind is None or not (token.isupper() or not token.isalpha()):
            continue
        (queues if kind == "queue" else sites).append((match.start(), token))
    return GridIds(sites=_ordered(sites), queues=_ordered(queues))


def _single(value: str, digits: tuple[int, int], found: tuple[int, ...]) -> int | None:
    value = value.strip()
    if value.isascii() and value.isdigit():
        return int(value) if digits[0] <= len(value) <= digits[1] else None
    return found[0] if len(found) == 1 else None


def parse_task_or_url(value: str) -> int | None:
    """A JEDI task id typed or pasted: the number, a BigPanDA task URL, or "task N"."""
    return _single(value, _TASK_DIGITS, _ordered(_numbers(_TASK, value, _TASK_DIGITS)))


def parse_job_or_url(value: str) -> int | None:
    """A PanDA job id typed or pasted: the number, a BigPanDA or old monitor job URL."""
    return _single(value, _JOB_DIGITS, _ordered(_numbers(_JOB, value, _JOB_DIGITS)))
