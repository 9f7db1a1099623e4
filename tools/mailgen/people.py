"""The cast: requesters, the shifter team over the years, expert groups and cloud contacts."""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from . import names
from .clock import DAY
from .model import Person
from .rand import pick as _pick
from .rand import weighted as _weighted

_CLIENTS = (
    ("gmail", 25.0),
    ("outlook", 20.0),
    ("thunderbird", 22.0),
    ("apple", 18.0),
    ("mutt", 5.0),
    ("webmail", 10.0),
)
_NON_LATIN = frozenset({"ru", "gr", "jp", "cn", "tw"})


def _display(rng: Random, country: names.Country, first: names.Name, last: names.Name) -> str:
    """How the name shows in From: native or romanised, and in which order."""
    native = rng.random() < (0.35 if country.key in _NON_LATIN else 0.85)
    if country.cjk and native:
        return last.native + ("" if rng.random() < 0.6 else " ") + first.native
    f, la = (first.native, last.native) if native else (first.roman, last.roman)
    x = rng.random()
    if x < 0.12:
        return f"{la.upper()} {f}"  # the CERN phonebook habit
    if x < 0.20:
        return f"{la}, {f}"
    return f"{f} {la}"


def _local_part(rng: Random, first: str, last: str, domain: str) -> str:
    f = "".join(c for c in first.lower() if c.isalnum() or c == "-")
    la = "".join(c for c in last.lower() if c.isalnum() or c == "-")
    if domain == "cern.ch":
        return f"{f}.{la}"
    if domain in ("gmail.com", "gmx.de", "163.com", "mail.ru", "yandex.ru", "seznam.cz"):
        return f"{f}.{la}{int(rng.random() * 90) + 10}" if rng.random() < 0.6 else f"{f}{la}"
    x = rng.random()
    if x < 0.4:
        return f"{f}.{la}"
    if x < 0.75:
        return f"{f[:1]}{la}"
    return la


def _charsets(rng: Random, country: names.Country, client: str) -> tuple[str, ...]:
    legacy = tuple(c for c in country.legacy_charsets if c != "utf-8")
    if client == "gmail" or not legacy or rng.random() < 0.55:
        return ("utf-8", *legacy)
    return (*legacy, "utf-8")


def make_person(
    rng: Random,
    country_key: str,
    used: set[str],
    *,
    domain: str | None = None,
    zone: str | None = None,
) -> Person:
    """One invented person of `country_key` whose address is not in `used` (which it joins)."""
    country = names.COUNTRIES[country_key]
    female = rng.random() < 0.22
    first = _pick(rng, country.firsts_f if female else country.firsts_m)
    last_m, last_f = _pick(rng, country.lasts)
    last = last_f if female else last_m
    domain = domain or _weighted(rng, country.domains)
    local = _local_part(rng, names.ascii_fold(first.roman), names.ascii_fold(last.roman), domain)
    email = f"{local}@{domain}"
    serial = 1
    while email in used:
        serial += 1
        email = f"{local}{serial}@{domain}"
    used.add(email)
    display = _display(rng, country, first, last)
    client = "gmail" if domain == "gmail.com" and rng.random() < 0.8 else _client(rng)
    if zone is None:
        zone = "eu" if domain == "cern.ch" else names.DOMAIN_ZONES.get(domain, country.zone)
    header_encoding = country.header_encoding
    if header_encoding == "q" and rng.random() < 0.3:
        header_encoding = "b"
    nick = (names.ascii_fold(first.roman)[:1] + names.ascii_fold(last.roman)).lower()
    return Person(
        name=display,
        email=email,
        country=country_key,
        zone=zone,
        client=client,
        charsets=_charsets(rng, country, client),
        header_encoding=header_encoding,
        nickname="".join(c for c in nick if c.isalpha())[:10],
        first_name=first.native if any(ord(c) > 127 for c in display) else first.roman,
    )


def _client(rng: Random) -> str:
    return _weighted(rng, _CLIENTS)


def make_requesters(rng: Random, count: int, used: set[str]) -> list[Person]:
    countries = tuple(zip(names.COUNTRY_KEYS, names.COUNTRY_WEIGHTS, strict=True))
    return [make_person(rng, _weighted(rng, countries), used) for _ in range(count)]


@dataclass(frozen=True, slots=True)
class Shifter:
    person: Person
    zone: str  # "EU" or "NA"
    begin_ts: int
    end_ts: int


_EU_COUNTRIES = ("fr", "de", "it", "es", "cz", "pl", "nordic", "uk", "ma", "gr", "ru", "jp", "tr")
_NA_COUNTRIES = ("us", "us", "us", "ca", "cn", "tw", "br")
_NA_ZONES = ("us_east", "us_east", "us_central", "us_pacific")
_BUCKET = 30 * DAY


class Roster:
    """About forty shifters over the years, each for a tenure of one to four years."""

    def __init__(self, rng: Random, begin_ts: int, end_ts: int, used: set[str]) -> None:
        self.begin_ts = begin_ts
        self.shifters: list[Shifter] = []
        for zone, count, countries in (("EU", 26, _EU_COUNTRIES), ("NA", 14, _NA_COUNTRIES)):
            self._hire(rng, zone, count, countries, begin_ts, end_ts, used)
        buckets = (end_ts - begin_ts) // _BUCKET + 1
        self._active: dict[str, list[list[Shifter]]] = {"EU": [], "NA": []}
        for zone, table in self._active.items():
            staff = [s for s in self.shifters if s.zone == zone]
            for b in range(buckets):
                now = begin_ts + b * _BUCKET + _BUCKET // 2
                active = [s for s in staff if s.begin_ts <= now < s.end_ts]
                # An uncovered month still gets an answer: the closest tenure helps out.
                table.append(active or [min(staff, key=lambda s: _distance(s, now))])

    def _hire(
        self,
        rng: Random,
        zone: str,
        count: int,
        countries: tuple[str, ...],
        begin_ts: int,
        end_ts: int,
        used: set[str],
    ) -> None:
        year = 365 * DAY
        stride = (end_ts - begin_ts + 2 * year) / count
        for i in range(count):
            start = int(begin_ts - year + (i + rng.random()) * stride)
            tenure = int(year * (1.0 + 3.0 * rng.random()))
            country = _pick(rng, countries)
            person_zone = _pick(rng, _NA_ZONES) if zone == "NA" else None
            person = make_person(rng, country, used, domain="cern.ch", zone=person_zone)
            self.shifters.append(Shifter(person, zone, start, start + tenure))

    def on_shift(self, zone: str, ts: int, rng: Random) -> Shifter:
        table = self._active[zone]
        bucket = min(max((ts - self.begin_ts) // _BUCKET, 0), len(table) - 1)
        return _pick(rng, table[bucket])


def _distance(shifter: Shifter, ts: int) -> int:
    if ts < shifter.begin_ts:
        return shifter.begin_ts - ts
    return max(0, ts - shifter.end_ts)


@dataclass(frozen=True, slots=True)
class ExpertGroup:
    key: str
    label: str  # as a shifter names them in mail
    address: str
    experts: tuple[Person, ...]


_GROUPS = (
    ("panda", "PanDA/JEDI", "atlas-adc-pandajedi-support@cern.ch", ("de", "jp", "us", "it")),
    ("rucio", "Rucio/DDM", "atlas-adc-ddm-support@cern.ch", ("de", "cz", "fr", "uk")),
    ("bigpanda", "BigPanDA monitoring", "atlas-adc-monitoring-support@cern.ch", ("ru", "us")),
    ("ami", "AMI", "atlas-ami-support@cern.ch", ("fr", "fr", "it")),
    ("athena", "Athena core software", "atlas-sw-core-help@cern.ch", ("uk", "us", "de")),
    ("pat", "Physics Analysis Tools", "atlas-pat-support@cern.ch", ("nordic", "us", "it")),
)

# Which expert group a shifter escalates each category to; site problems go to cloud support.
CATEGORY_GROUPS = {
    "data_access": "rucio",
    "panda": "panda",
    "athena": "athena",
    "monitoring": "bigpanda",
    "analysis_tools": "pat",
    "ami": "ami",
}

CLOUD_COUNTRIES = {
    "CERN": "fr",
    "US": "us",
    "CA": "ca",
    "FR": "fr",
    "DE": "de",
    "IT": "it",
    "NL": "nl",
    "ND": "nordic",
    "ES": "es",
    "UK": "uk",
    "TW": "tw",
    "CZ": "cz",
    "JP": "jp",
}


def make_experts(rng: Random, used: set[str]) -> dict[str, ExpertGroup]:
    groups = {}
    for key, label, address, countries in _GROUPS:
        experts = tuple(make_person(rng, country, used, domain="cern.ch") for country in countries)
        groups[key] = ExpertGroup(key, label, address, experts)
    for cloud, country in CLOUD_COUNTRIES.items():
        contact = make_person(rng, country, used)
        address = f"atlas-adc-cloud-{cloud.lower()}@cern.ch"
        groups[f"cloud-{cloud}"] = ExpertGroup(
            f"cloud-{cloud}", f"{cloud} cloud support", address, (contact,)
        )
    return groups
