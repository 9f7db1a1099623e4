"""import_groups: the expert/cloud/site directory from CSV or JSON, all or nothing, re-runnable."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError

from escalation.directory import (
    NEXT_LEVEL_KINDS,
    DirectoryInvalid,
    directory_import,
    parse_directory,
)
from escalation.models import ExpertGroup
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db
EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "atlas-clouds.csv"
HEADER = "kind,name,email,cloud,target_hours,next_level,next_level_kind,reply_addresses,active\n"


@pytest.fixture
def team():
    return TeamFactory(slug="dast", ticket_prefix="DAST")


def _import(path, *flags, team="dast") -> str:
    out = StringIO()
    call_command("import_groups", "--team", team, str(path), *flags, stdout=out)
    return out.getvalue().strip()


def _write(tmp_path, text: str, name: str = "groups.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _snapshot(team) -> list[tuple]:
    return list(
        ExpertGroup.objects.filter(team=team)
        .order_by("kind", "name")
        .values_list(
            "kind",
            "name",
            "email",
            "cloud__name",
            "response_target_hours",
            "next_level__name",
            "next_level_kind",
            "reply_addresses",
            "active",
        )
    )


def test_the_example_directory_imports_its_experts_clouds_and_sites(team):
    assert _import(EXAMPLE) == "created=38 updated=0 unchanged=0 deactivated=0"
    groups = ExpertGroup.objects.filter(team=team)
    assert groups.filter(kind="expert").count() == 7
    assert groups.filter(kind="cloud").count() == 11
    assert groups.filter(kind="site").count() == 20
    fzk = groups.get(name="FZK-LCG2")
    assert (fzk.cloud.kind, fzk.cloud.name) == ("cloud", "DE")
    assert fzk.next_level == fzk.cloud
    assert fzk.next_level_kind == "group"
    assert fzk.speaks_for("admin@gridka.example.org")
    assert sorted(groups.get(kind="cloud", name="DE").sites.values_list("name", flat=True)) == [
        "DESY-HH",
        "FZK-LCG2",
        "LRZ-LMU",
    ]
    bigpanda = groups.get(name="BigPanDA monitoring")
    assert bigpanda.next_level == groups.get(name="PanDA/JEDI")
    assert groups.get(name="PanDA/JEDI").next_level == groups.get(name="ADC coordination")
    us = groups.get(kind="cloud", name="US")
    assert (us.next_level, us.next_level_kind) == (None, "zone")
    assert us.reply_addresses == "us-cloud-ops@example.org\n@usatlas.example.org"


def test_targets_default_to_8_hours_for_experts_and_16_for_clouds_and_sites(team, settings):
    _import(EXAMPLE)
    groups = ExpertGroup.objects.filter(team=team)
    assert groups.get(name="Athena").response_target_hours == settings.EXPERT_TARGET_HOURS == 8
    assert groups.get(name="DE").response_target_hours == settings.SITE_TARGET_HOURS == 16
    assert groups.get(name="DESY-HH").response_target_hours == 16
    # ... unless the file gives one.
    assert groups.get(name="CERN-PROD").response_target_hours == 8
    assert groups.get(name="Physics Analysis Tools").response_target_hours == 16


def test_importing_the_same_file_twice_changes_nothing_the_second_time(team):
    _import(EXAMPLE)
    before = _snapshot(team)
    assert _import(EXAMPLE) == "created=0 updated=0 unchanged=38 deactivated=0"
    assert _snapshot(team) == before


@pytest.mark.parametrize("wrapped", [False, True])
def test_a_json_directory_imports_like_a_csv_one(team, tmp_path, wrapped):
    groups = [
        {"kind": "cloud", "name": "DE", "email": "cloud-de-support@example.org"},
        {
            "kind": "site",
            "name": "FZK-LCG2",
            "email": "fzk-lcg2-support@example.org",
            "cloud": "DE",
            "next_level": "DE",
            "target_hours": 24,
            "reply_addresses": ["@gridka.example.org", "gridka-ops@example.org"],
            "active": True,
        },
        {"kind": "expert", "name": "AMI", "email": "ami-support@example.org", "active": False},
    ]
    document = {"groups": groups} if wrapped else groups
    path = _write(tmp_path, json.dumps(document), "groups.json")
    assert _import(path) == "created=3 updated=0 unchanged=0 deactivated=0"
    fzk = ExpertGroup.objects.get(team=team, name="FZK-LCG2")
    assert fzk.cloud.name == "DE"
    assert fzk.next_level == fzk.cloud
    assert fzk.response_target_hours == 24
    assert fzk.reply_addresses == "@gridka.example.org\ngridka-ops@example.org"
    assert ExpertGroup.objects.get(team=team, name="DE").response_target_hours == 16
    assert ExpertGroup.objects.get(team=team, name="AMI").active is False
    assert _import(path) == "created=0 updated=0 unchanged=3 deactivated=0"


def test_a_semicolon_separated_file_with_a_bom_and_no_extension_is_read_as_csv(team, tmp_path):
    text = "\ufeffkind;name;email;cloud\ncloud;FR;cloud-fr-support@example.org;\n"
    text += "site;GRIF;grif-support@example.org;FR\n"
    path = tmp_path / "directory"
    path.write_bytes(text.encode("utf-8"))
    assert _import(path) == "created=2 updated=0 unchanged=0 deactivated=0"
    grif = ExpertGroup.objects.get(team=team, name="GRIF")
    assert grif.cloud.name == "FR"
    # No next level given: the zone's coordinator hears.
    assert (grif.next_level, grif.next_level_kind) == (None, "zone")


def test_a_changed_email_updates_that_group_and_leaves_the_others(team, tmp_path):
    _import(EXAMPLE)
    text = EXAMPLE.read_text().replace("rucio-ddm-support@example.org", "rucio-support@example.org")
    path = _write(tmp_path, text)
    assert _import(path) == "created=0 updated=1 unchanged=37 deactivated=0"
    rucio = ExpertGroup.objects.get(team=team, name="Rucio/DDM")
    assert rucio.email == "rucio-support@example.org"
    assert rucio.next_level.name == "ADC coordination"


def test_a_changed_next_level_alone_counts_as_an_update(team, tmp_path):
    _import(EXAMPLE)
    text = EXAMPLE.read_text().replace(
        "BigPanDA monitoring,bigpanda-monitoring@example.org,,,PanDA/JEDI",
        "BigPanDA monitoring,bigpanda-monitoring@example.org,,,ADC coordination",
    )
    assert _import(_write(tmp_path, text)) == "created=0 updated=1 unchanged=37 deactivated=0"
    bigpanda = ExpertGroup.objects.get(team=team, name="BigPanDA monitoring")
    assert bigpanda.next_level.name == "ADC coordination"


def test_deactivate_missing_marks_the_groups_not_in_the_file_inactive_without_deleting_them(
    team, tmp_path
):
    _import(EXAMPLE)
    # DE and FR stay; the site refers to its cloud, which therefore stays active too.
    path = _write(
        tmp_path,
        HEADER
        + "cloud,DE,cloud-de-support@example.org,,,,zone,,\n"
        + "site,GRIF,grif-support@example.org,FR,,FR,,,\n",
    )
    assert _import(path, "--deactivate-missing") == (
        "created=0 updated=0 unchanged=2 deactivated=35"
    )
    groups = ExpertGroup.objects.filter(team=team)
    assert groups.count() == 38
    assert sorted(groups.filter(active=True).values_list("name", flat=True)) == [
        "DE",
        "FR",
        "GRIF",
    ]
    assert groups.get(name="FZK-LCG2").active is False


def test_without_deactivate_missing_groups_not_in_the_file_stay_active(team, tmp_path):
    _import(EXAMPLE)
    path = _write(tmp_path, HEADER + "cloud,DE,cloud-de-support@example.org,,,,zone,,\n")
    assert _import(path) == "created=0 updated=0 unchanged=1 deactivated=0"
    assert ExpertGroup.objects.filter(team=team, active=True).count() == 38


def test_a_site_may_link_to_a_cloud_the_team_already_has(team, tmp_path):
    ExpertGroup.objects.create(team=team, kind="cloud", name="IT", email="it@example.org")
    path = _write(tmp_path, HEADER + "site,INFN-T1,infn-t1@example.org,IT,,IT,,,\n")
    assert _import(path) == "created=1 updated=0 unchanged=0 deactivated=0"
    assert ExpertGroup.objects.get(team=team, name="INFN-T1").cloud.name == "IT"


def test_a_next_level_shared_by_two_kinds_is_picked_with_its_kind(team, tmp_path):
    rows = (
        "cloud,CERN,cloud-cern@example.org,,,,,,\n"
        "expert,CERN,cern-experts@example.org,,,,,,\n"
        "site,CERN-PROD,cern-prod@example.org,CERN,,{next},,,\n"
    )
    err = StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_groups",
            "--team",
            "dast",
            str(_write(tmp_path, HEADER + rows.format(next="CERN"))),
            stderr=err,
        )
    assert err.getvalue().strip() == (
        "line 4, next_level: 'CERN' is the name of 2 groups: write cloud:CERN or expert:CERN"
    )
    _import(_write(tmp_path, HEADER + rows.format(next="cloud:CERN")))
    site = ExpertGroup.objects.get(team=team, name="CERN-PROD")
    assert (site.next_level.kind, site.next_level.name) == ("cloud", "CERN")


BAD_ROWS = {
    "an unknown kind": (
        "tier,CERN-PROD,cern-prod@example.org,,,,,,\n",
        "line 3, kind: 'tier' is not one of expert, cloud, site",
    ),
    "a bad email": (
        "cloud,DE,cloud-de-support(at)example.org,,,,,,\n",
        "line 3, email: 'cloud-de-support(at)example.org' is not an e-mail address",
    ),
    "a missing email": (
        "cloud,DE,,,,,,,\n",
        "line 3, email: is required",
    ),
    "a site whose cloud is nowhere": (
        "site,PIC,pic@example.org,ES,,,,,\n",
        "line 3, cloud: no cloud 'ES' in the file or among the team's active groups",
    ),
    "a site whose cloud is inactive in the team": (
        "site,NDGF-T1,ndgf@example.org,ND,,,,,\n",
        "line 3, cloud: no cloud 'ND' in the file or among the team's active groups",
    ),
    "a cloud on an expert group": (
        "expert,AMI,ami@example.org,FR,,,,,\n",
        "line 3, cloud: only a site has a cloud, and this is a expert",
    ),
    "a zero target": (
        "expert,AMI,ami@example.org,,0,,,,\n",
        "line 3, target_hours: '0' is not a positive whole number of hours",
    ),
    "a fractional target": (
        "expert,AMI,ami@example.org,,1.5,,,,\n",
        "line 3, target_hours: '1.5' is not a positive whole number of hours",
    ),
    "a word for a target": (
        "expert,AMI,ami@example.org,,one day,,,,\n",
        "line 3, target_hours: 'one day' is not a positive whole number of hours",
    ),
    "a name twice": (
        "cloud,FR,fr-other@example.org,,,,,,\n",
        "line 3, name: 'FR' is already a cloud on line 2",
    ),
    "an unknown next level": (
        "expert,AMI,ami@example.org,,,ADC coordinators,,,\n",
        "line 3, next_level: no group 'ADC coordinators' in the file "
        "or among the team's active groups",
    ),
    "a group as its own next level": (
        "expert,AMI,ami@example.org,,,AMI,,,\n",
        "line 3, next_level: a group cannot be its own next level",
    ),
    "next level kind group without a group": (
        "expert,AMI,ami@example.org,,,,group,,\n",
        "line 3, next_level: is required when next_level_kind is 'group'",
    ),
    "an unknown next level kind": (
        "expert,AMI,ami@example.org,,,,shifter,,\n",
        "line 3, next_level_kind: 'shifter' is not one of group, zone, team, none",
    ),
    "a bad reply address": (
        "expert,AMI,ami@example.org,,,,,ami-dev,\n",
        "line 3, reply_addresses: 'ami-dev' is neither an e-mail address nor an @domain",
    ),
    "a bad active flag": (
        "expert,AMI,ami@example.org,,,,,,maybe\n",
        "line 3, active: 'maybe' is neither true nor false",
    ),
    "too many cells": (
        "expert,AMI,ami@example.org,,,,,,,extra\n",
        "line 3: 10 cells, but the header has 9 columns",
    ),
}


@pytest.mark.parametrize("case", BAD_ROWS)
def test_a_bad_row_is_reported_with_its_line_and_nothing_is_written(team, tmp_path, case):
    ExpertGroup.objects.create(team=team, kind="cloud", name="ND", email="nd@x.org", active=False)
    before = _snapshot(team)
    row, expected = BAD_ROWS[case]
    # Line 2 is valid and would be imported, were the file not refused whole.
    path = _write(tmp_path, HEADER + "cloud,FR,cloud-fr-support@example.org,,,,zone,,\n" + row)
    err = StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import_groups", "--team", "dast", str(path), stdout=StringIO(), stderr=err)
    assert refused.value.returncode == 2
    assert err.getvalue().splitlines() == [expected]
    assert _snapshot(team) == before


def test_every_error_in_the_file_is_listed_at_once(team, tmp_path):
    path = _write(
        tmp_path,
        HEADER
        + "cloud,DE,cloud-de-support@example.org,,,,,,\n"
        + "site,FZK-LCG2,fzk(at)example.org,DE,,,,,\n"
        + "\n"
        + "site,PIC,pic@example.org,ES,two,,,,\n"
        + "cloud,DE,de@example.org,,,,,,\n",
    )
    with pytest.raises(DirectoryInvalid) as refused:
        parse_directory(path.read_bytes(), path.name, known=set())
    assert [str(error) for error in refused.value.errors] == [
        "line 3, email: 'fzk(at)example.org' is not an e-mail address",
        "line 5, target_hours: 'two' is not a positive whole number of hours",
        "line 5, cloud: no cloud 'ES' in the file or among the team's active groups",
        "line 6, name: 'DE' is already a cloud on line 2",
    ]
    assert ExpertGroup.objects.count() == 0


def test_json_errors_name_the_item(team):
    data = json.dumps(
        [
            {"kind": "cloud", "name": "UK", "email": "uk@example.org"},
            {"kind": "site", "name": "RAL-LCG2", "email": "ral", "target_hours": "8"},
            {"kind": "site", "name": "RAL", "email": "ral@example.org", "colud": "UK"},
            "UKI-NORTHGRID-MAN-HEP",
        ]
    ).encode()
    with pytest.raises(DirectoryInvalid) as refused:
        parse_directory(data, "uk.json")
    assert [str(error) for error in refused.value.errors] == [
        "item 2, email: 'ral' is not an e-mail address",
        "item 3, colud: is not a key (the keys: kind, name, email, cloud, target_hours, "
        "next_level, next_level_kind, reply_addresses, active)",
        "item 4: is not an object",
    ]


def test_a_header_without_a_required_column_refuses_the_file(team):
    with pytest.raises(DirectoryInvalid) as refused:
        parse_directory(b"kind,name,mail\nexpert,AMI,ami@example.org\n", "groups.csv")
    assert [str(error) for error in refused.value.errors] == [
        "line 1, mail: is not a column (the columns: kind, name, email, cloud, target_hours, "
        "next_level, next_level_kind, reply_addresses, active)",
        "line 1, email: the header lacks this column",
    ]


def test_a_file_with_no_groups_is_refused_rather_than_deactivating_everything(team, tmp_path):
    _import(EXAMPLE)
    with pytest.raises(CommandError):
        _import(_write(tmp_path, HEADER), "--deactivate-missing")
    assert ExpertGroup.objects.filter(team=team, active=True).count() == 38


def test_a_file_that_is_not_utf8_is_refused_with_the_line_of_the_bad_byte(team):
    with pytest.raises(DirectoryInvalid) as refused:
        parse_directory(HEADER.encode() + b"site,M\xfcnchen,lrz@example.org\n", "x.csv")
    byte = len(HEADER) + len("site,M") + 1
    assert str(refused.value.errors[0]) == f"line 2: not UTF-8 text (byte {byte})"


def test_the_service_checks_references_against_the_team_even_when_the_parser_did_not(team):
    entries = parse_directory(HEADER.encode() + b"site,PIC,pic@example.org,ES,,,,,\n", "x.csv")
    with pytest.raises(DirectoryInvalid) as refused:
        directory_import(team=team, entries=entries)
    assert [str(e) for e in refused.value.errors] == [
        "line 2, cloud: no cloud 'ES' in the file or among the team's active groups"
    ]
    assert ExpertGroup.objects.count() == 0


def test_a_refused_file_exits_with_status_2_and_lists_its_errors_on_stderr(
    team, tmp_path, capsys, monkeypatch
):
    # run_from_argv closes the connections when done; the test's transaction needs its own.
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)
    path = _write(
        tmp_path,
        HEADER + "expert,AMI,x,,,,,,\n" + "site,PIC,pic@example.org,ES,,,,,\n",
    )
    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["manage.py", "import_groups", "--team", "dast", str(path)]).execute()
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "line 2, email: 'x' is not an e-mail address",
        "line 3, cloud: no cloud 'ES' in the file or among the team's active groups",
        f"CommandError: {path}: 2 errors, nothing imported",
    ]
    assert ExpertGroup.objects.count() == 0


def test_a_dry_run_counts_what_would_change_and_writes_nothing(team, tmp_path):
    assert _import(EXAMPLE, "--dry-run") == (
        "created=38 updated=0 unchanged=0 deactivated=0 (dry run: nothing written)"
    )
    assert ExpertGroup.objects.count() == 0
    _import(EXAMPLE)
    before = _snapshot(team)
    path = _write(tmp_path, HEADER + "cloud,DE,new-de@example.org,,,,zone,,\n")
    assert _import(path, "--dry-run", "--deactivate-missing") == (
        "created=0 updated=1 unchanged=0 deactivated=37 (dry run: nothing written)"
    )
    assert _snapshot(team) == before


def test_an_unknown_team_is_refused(team):
    with pytest.raises(CommandError, match="no team 'atlas'"):
        _import(EXAMPLE, team="atlas")


def test_the_next_level_kinds_are_the_models_choices():
    field = ExpertGroup._meta.get_field("next_level_kind")
    assert tuple(value for value, _ in field.choices) == NEXT_LEVEL_KINDS


def test_a_json_file_without_an_extension_is_recognised_by_its_content():
    data = b'\xef\xbb\xbf  [{"kind": "expert", "name": "AMI", "email": "ami@example.org"}]'
    [entry] = parse_directory(data, "directory")
    assert (entry.kind, entry.name, entry.email, entry.unit) == (
        "expert",
        "AMI",
        "ami@example.org",
        "item",
    )


def test_a_reference_to_a_group_the_file_marks_inactive_is_refused(team):
    data = (
        HEADER
        + "cloud,TW,cloud-tw@example.org,,,,,,no\n"
        + "site,TAIWAN-LCG2,tw@example.org,TW,,TW,,,\n"
    ).encode()
    with pytest.raises(DirectoryInvalid) as refused:
        parse_directory(data, "tw.csv", known=set())
    assert [str(e) for e in refused.value.errors] == [
        "line 3, cloud: 'TW' is inactive on line 2",
        "line 3, next_level: 'TW' is inactive on line 2",
    ]
