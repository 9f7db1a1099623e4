"""tickets.gridtext: grid identifiers in support mail.

Snippets are copied from mail as the generator (tools/mailgen) writes it and from the real-world
corpus in /work/shared/mail-corpus; the corpus has no grid mail, so it serves as the negative
sample. Pure tests: no database, no servers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterator
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import pytest

from tests.corpus import CORPUS
from tickets import gridtext
from tickets.gridtext import GridIds, find_ids, parse_job_or_url, parse_task_or_url
from tools.mailgen import plan_threads
from tools.mailgen import threads as mailgen_threads

# --- tasks -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "I submitted task 15934870 with prun yesterday",
        "JEDI task 15934870 is stuck",
        "see https://bigpanda.cern.ch/jobs/?jeditaskid=15934870&jobstatus=failed",
        "taskID: 15934870",
        "Task ID = 15934870",
        "my task #15934870 failed",
        "JediTaskID=15934870",
        "  pbook -c 'retry(15934870)'",
        "The monitor page is https://bigpanda.cern.ch/task/15934870/",
        "https://bigpanda.cern.ch/tasks/?jeditaskid=15934870",
        # A quoted line that breaks between the word and the number.
        "> > for example task\n> > 15934870. Has something changed?",
    ],
)
def test_a_task_id_in_context_is_found(text: str) -> None:
    assert find_ids(text).tasks == (15934870,)


def test_a_list_of_task_ids_after_one_context_word_is_found() -> None:
    text = "tasks 15934870, 15934871 and 15934872 are exhausted"
    assert find_ids(text).tasks == (15934870, 15934871, 15934872)


@pytest.mark.parametrize(
    "text",
    [
        "task 12345",  # five digits: a count or an old jobset id, not a JEDI task
        "task 12345678901",  # eleven digits
        "jobset 1234567",
        "the task failed 15934870 times",
        "15934870",  # a bare number is never an id
        "version 21.2.87 of the task",
        "task 2018-03-02",
        "subtask 15934870",
        "task ١٥٩٣٤٨٧٠",  # Arabic-Indic digits: int() would take them
    ],
)
def test_a_number_without_task_context_is_not_a_task(text: str) -> None:
    assert find_ids(text).tasks == ()


def test_a_task_list_stops_at_a_number_that_is_not_a_task_id() -> None:
    assert find_ids("task 15934870, 2 jobs failed").tasks == (15934870,)


# --- jobs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Example job: https://bigpanda.cern.ch/job?pandaid=4567891234",
        "https://bigpanda.cern.ch/job/4567891234/",
        "http://panda.cern.ch/server/pandamon/query?job=4567891234",
        "http://panda.cern.ch/server/pandamon/query?mode=x&job=4567891234",
        "PandaID=4567891234",
        "pandaid 4567891234",
        "The log tarball link for job 4567891234 in BigPanDA gives a 404",
        "PanDA job ID: 4567891234",
    ],
)
def test_a_job_id_in_context_is_found(text: str) -> None:
    assert find_ids(text).jobs == (4567891234,)


def test_a_job_named_after_a_job_url_is_found_too() -> None:
    text = "The failing jobs are https://bigpanda.cern.ch/job?pandaid=4056374311 and 4056375840."
    assert find_ids(text).jobs == (4056374311, 4056375840)


@pytest.mark.parametrize(
    "text",
    [
        "job 12",
        "job 123456",  # six digits
        "job 1234567890123",  # thirteen digits
        "jobsetID=1234567",
        "I ran 4567891234 jobs",
        "https://bigpanda.cern.ch/jobs/?jeditaskid=15934870",
    ],
)
def test_a_number_without_job_context_is_not_a_job(text: str) -> None:
    assert find_ids(text).jobs == ()


# --- what is never an id -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Call me on +41 22 767 1234 or 0041227671234.",
        "Since 2018-03-02 14:33:12 nothing works; Tue, 27 Oct 2008 10:00:00 +0100",
        "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: ISO-8859-1",
        "Our nodes run SL-6 and EL-9; see ABC-123 and XYZ-4567.",
        "I processed 15934870 events in 4567891234 bytes.",
        # From the corpus (sisimai bounces): a host under user.* and a mail server's release.
        "<kijitora@user.example.or.jp>: host mx.user.example.or.jp[192.0.2.22] said: 550",
        "by mx.example.co.jp (Lotus Domino Release 7.0.1)",
        "by relay2.neko.example.org (Lotus Domino Release 8.0.2FP6)",
        "helo=198.51.100.102.static-user.example.br",
        "The option --excludedSite of pathena seems to be ignored",
    ],
)
def test_ordinary_mail_text_holds_no_ids(text: str) -> None:
    assert find_ids(text) == GridIds()


def test_no_message_of_the_real_world_corpus_holds_an_id() -> None:
    files = [p for p in sorted(CORPUS.rglob("*")) if p.is_file() and p.name != "README.md"]
    found = {p.name: ids for p in files if (ids := find_ids(p.read_bytes().decode("latin-1")))}
    assert len(files) > 800
    assert found == {}


# --- datasets ----------------------------------------------------------------------------------


def test_rucio_dids_with_a_scope_are_found_whole() -> None:
    text = (
        "The input is\nmc16_13TeV:mc16_13TeV.410470.PhPy8EG_A14_ttbar_hdamp258p75_nonallhad"
        ".deriv.DAOD_EXOT2.e6337_s3126_r10201_p3529\nand I wrote to "
        "user.jdoe:user.jdoe.data17_13TeV.00325713.physics_Main.DAOD_EXOT2.f10_m20_v2, "
        "then group.phys-higgs:group.phys-higgs.ntuple.v3 (and panda:panda.um.12345.log)."
    )
    assert find_ids(text).datasets == (
        "mc16_13TeV:mc16_13TeV.410470.PhPy8EG_A14_ttbar_hdamp258p75_nonallhad.deriv.DAOD_EXOT2"
        ".e6337_s3126_r10201_p3529",
        "user.jdoe:user.jdoe.data17_13TeV.00325713.physics_Main.DAOD_EXOT2.f10_m20_v2",
        "group.phys-higgs:group.phys-higgs.ntuple.v3",
        "panda:panda.um.12345.log",
    )


def test_dq2_names_without_a_scope_are_found_and_sentence_punctuation_is_dropped() -> None:
    text = (
        "--outDS user.jdoe.12345.out/. Input: "
        "mc15_13TeV.410000.PowhegPythiaEvtGen_P2012_ttbar.merge.AOD.e3698_s2608."
        "\n  dq2-get data11_7TeV.00180164.physics_Muons.merge.NTUP_SMWZ.f379_m876_p577,"
    )
    assert find_ids(text).datasets == (
        "user.jdoe.12345.out/",
        "mc15_13TeV.410000.PowhegPythiaEvtGen_P2012_ttbar.merge.AOD.e3698_s2608",
        "data11_7TeV.00180164.physics_Muons.merge.NTUP_SMWZ.f379_m876_p577",
    )


@pytest.mark.parametrize(
    "text",
    [
        "rucio list-dids user.jdoe:user.jdoe.test*",  # a wildcard, not a DID
        "write to user.jdoe.smith@cern.ch",
        "see www.user.example.org",
        "user.jdoe alone is a scope",
        "mc15_13TeV is a project, not a dataset",
        "DAOD_TOPQ1.12701669._000833.pool.root.1",  # a file of a task, named without a scope
    ],
)
def test_what_only_looks_like_a_dataset_is_not_one(text: str) -> None:
    assert find_ids(text).datasets == ()


# --- queues and sites --------------------------------------------------------------------------


def test_analysis_queues_are_found_whatever_the_case_of_the_site_part() -> None:
    text = (
        "failed at ANALY_BNL_SHORT, ANALY_IN2P3-CC and ANALY_praguelcg2_; "
        "https://bigpanda.cern.ch/jobs/?computingsite=BNL_PROD&jobstatus=failed"
    )
    assert find_ids(text).queues == (
        "ANALY_BNL_SHORT",
        "ANALY_IN2P3-CC",
        "ANALY_praguelcg2",
        "BNL_PROD",
    )


def test_storage_endpoints_and_excluded_sites_are_sites() -> None:
    text = (
        "rucio add-rule user.jdoe:user.jdoe.x1 1 BNL-OSG2_DATADISK\n"
        "MWT2_UC_LOCALGROUPDISK, praguelcg2_LOCALGROUPDISK and CERN-PROD_SCRATCHDISK.\n"
        "resubmit with --excludedSite=CERN-PROD,ANALY_FZK,TRIUMF-LCG2."
    )
    ids = find_ids(text)
    assert ids.sites == (
        "BNL-OSG2_DATADISK",
        "MWT2_UC_LOCALGROUPDISK",
        "praguelcg2_LOCALGROUPDISK",
        "CERN-PROD_SCRATCHDISK",
        "CERN-PROD",
        "TRIUMF-LCG2",
    )
    assert ids.queues == ("ANALY_FZK",)


def test_a_space_token_without_a_site_is_not_a_site() -> None:
    assert find_ids("BNL-OSG2_DISK and _DATADISK and a DATADISK").sites == ()


# --- JIRA and GGUS -----------------------------------------------------------------------------


def test_jira_keys_of_the_default_projects_are_found() -> None:
    text = "see ATLASPANDA-426, https://its.cern.ch/jira/browse/ATLDDMOPS-5300 and (ADCSUPPORT-12)"
    assert find_ids(text).jira == ("ATLASPANDA-426", "ATLDDMOPS-5300", "ADCSUPPORT-12")


def test_only_the_configured_jira_projects_are_found() -> None:
    ids = find_ids("FOO-12 and ATLASPANDA-426", jira_projects=["foo"])
    assert ids.jira == ("FOO-12",)


@pytest.mark.parametrize(
    "text",
    [
        "I opened GGUS\nticket 123456:",
        "GGUS 123456 is open",
        "GGUS ticket #123456",
        "GGUS-Ticket-ID: 123456",
        "https://ggus.eu/?mode=ticket_info&ticket_id=123456",
        "https://ggus.eu/index.php?mode=ticket_info&ticket_id=123456",
        "see https://helpdesk.ggus.eu/#ticket/zoom/123456 for the site's answer",
    ],
)
def test_a_ggus_ticket_is_found(text: str) -> None:
    assert find_ids(text).ggus == (123456,)


def test_a_new_ggus_link_is_found_whatever_the_length_of_its_id() -> None:
    found = find_ids("GGUS says: https://helpdesk.ggus.eu/#ticket/zoom/4711 and GGUS 123456")
    assert found.ggus == (4711, 123456)


@pytest.mark.parametrize("text", ["GGUS 1234", "GGUS 12345678", "ggus ticket soon"])
def test_a_ggus_number_of_the_wrong_length_is_not_a_ticket(text: str) -> None:
    assert find_ids(text).ggus == ()


# --- releases ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "release"),
    [
        ("asetup AnalysisBase,21.2.87,here", "AnalysisBase,21.2.87"),
        ("with AthAnalysis 21.2.100 on lxplus", "AthAnalysis,21.2.100"),
        ("Athena,22.0.40", "Athena,22.0.40"),
        ("asetup 20.7.9.9,AtlasDerivation", "AtlasDerivation,20.7.9.9"),
        ("--athenaTag=AtlasDerivation,20.1.8.3", "AtlasDerivation,20.1.8.3"),
        ("Release is AtlasDerivation,20.7.8.7.", "AtlasDerivation,20.7.8.7"),
        ("release 21.0.77", "21.0.77"),
        ("Athena crash in release 15.6.9.8", "15.6.9.8"),
    ],
)
def test_a_release_is_found_as_asetup_would_take_it(text: str, release: str) -> None:
    assert find_ids(text).releases == (release,)


def test_a_bare_release_is_dropped_when_its_project_is_named() -> None:
    text = "release 21.2.87 crashes; I use AnalysisBase,21.2.87 and release 21.2.90"
    assert find_ids(text).releases == ("AnalysisBase,21.2.87", "21.2.90")


# --- the result --------------------------------------------------------------------------------


def test_ids_are_deduplicated_in_order_of_first_appearance_across_forms() -> None:
    text = (
        "https://bigpanda.cern.ch/task/15934871/ then task 15934870 and again task 15934871, "
        "jeditaskid=15934870"
    )
    assert find_ids(text).tasks == (15934871, 15934870)


def test_an_empty_result_is_false_and_any_id_makes_it_true() -> None:
    assert not GridIds()
    assert GridIds(ggus=(123456,))


def test_merged_keeps_each_kind_in_order_without_repeats() -> None:
    one = GridIds(tasks=(2, 1), jira=("AMI-1",))
    two = GridIds(tasks=(3, 2), sites=("PIC_DATADISK",))
    assert one.merged(two) == GridIds(tasks=(2, 1, 3), sites=("PIC_DATADISK",), jira=("AMI-1",))


def test_a_whole_support_mail_yields_every_kind() -> None:
    text = (
        "Dear DAST,\n\nI submitted task 12730820 with prun yesterday and most of the jobs\n"
        "failed at ANALY_BNL_LONG with\n\n  1098: No space left on local disk\n\n"
        "The monitor page is https://bigpanda.cern.ch/task/12730820/\n"
        "Example: https://bigpanda.cern.ch/job?pandaid=3712345678\n"
        "Input mc16_13TeV:mc16_13TeV.410470.PhPy8EG.deriv.DAOD_FTAG1.e6337_p3529 on "
        "BNL-OSG2_DATADISK, release AthAnalysis,21.2.12. Known issue ATLASPANDA-426, "
        "GGUS 134000.\n\nBest regards,\nRafael\n+41 22 767 1234\n"
    )
    assert find_ids(text) == GridIds(
        tasks=(12730820,),
        jobs=(3712345678,),
        datasets=("mc16_13TeV:mc16_13TeV.410470.PhPy8EG.deriv.DAOD_FTAG1.e6337_p3529",),
        queues=("ANALY_BNL_LONG",),
        sites=("BNL-OSG2_DATADISK",),
        jira=("ATLASPANDA-426",),
        ggus=(134000,),
        releases=("AthAnalysis,21.2.12",),
    )


# --- parsing one typed or pasted value ---------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "15934870",
        " 15934870 ",
        "https://bigpanda.cern.ch/task/15934870/",
        "https://bigpanda.cern.ch/tasks/?jeditaskid=15934870",
        "https://bigpanda.cern.ch/jobs/?jeditaskid=15934870&jobstatus=failed",
    ],
)
def test_a_task_id_or_its_url_parses_to_the_id(value: str) -> None:
    assert parse_task_or_url(value) == 15934870


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "12345",
        "15934870x",
        "١٥٩٣٤٨٧٠",  # Arabic-Indic digits pass str.isdigit() but are not a task id
        "https://bigpanda.cern.ch/job?pandaid=4567891234",
        "task 15934870 and task 15934871",
    ],
)
def test_anything_else_does_not_parse_as_a_task(value: str) -> None:
    assert parse_task_or_url(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "4567891234",
        "\t4567891234\n",
        "https://bigpanda.cern.ch/job?pandaid=4567891234",
        "https://bigpanda.cern.ch/job/4567891234/",
        "http://panda.cern.ch/server/pandamon/query?job=4567891234",
    ],
)
def test_a_job_id_or_its_url_parses_to_the_id(value: str) -> None:
    assert parse_job_or_url(value) == 4567891234


@pytest.mark.parametrize(
    "value", ["", "job", "123456", "https://bigpanda.cern.ch/task/15934870/", "4567891234 x"]
)
def test_anything_else_does_not_parse_as_a_job(value: str) -> None:
    assert parse_job_or_url(value) is None


# --- generated mail ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated() -> list[tuple[str, dict[str, str], GridIds]]:
    """Every human message body of a small generated archive, with the facts the generator drew
    for its thread and what find_ids finds in it.

    mailgen keeps a thread's facts private; we record what its `_slots` returns, one call per
    thread in plan order."""
    facts: list[dict[str, str]] = []
    real = mailgen_threads._slots

    def recording(*args: Any, **kwargs: Any) -> dict[str, str]:
        facts.append(real(*args, **kwargs))
        return facts[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mailgen_threads, "_slots", recording)
        threads = plan_threads(seed=7, count=1500, start=dt.date(2013, 1, 1))
    assert len(facts) == len(threads)
    return [
        (message.text, thread_facts, find_ids(message.text))
        for thread, thread_facts in zip(threads, facts, strict=True)
        for message in thread.messages
        if message.kind == "mail"
    ]


def _standalone(value: str, text: str) -> bool:
    """`value` as a token of its own, not inside a file or dataset name (DAOD.15934870._0001)."""
    return re.search(rf"(?<![\w.]){re.escape(value)}(?!\w)", text) is not None


Facts = dict[str, str]
# kind -> (the generator wrote the fact into the body, find_ids found it)
_FACT_CHECKS: dict[str, tuple[Callable[[Facts, str], bool], Callable[[Facts, GridIds], bool]]] = {
    "task": (
        lambda f, body: f["task_word"] == "task" and _standalone(f["task_id"], body),
        lambda f, ids: int(f["task_id"]) in ids.tasks,
    ),
    "job": (
        lambda f, body: _standalone(f["job_id"], body),
        lambda f, ids: int(f["job_id"]) in ids.jobs,
    ),
    "input dataset": (
        lambda f, body: f["in_ds"] in body,
        lambda f, ids: f["in_ds"] in ids.datasets,
    ),
    "queue": (
        lambda f, body: _standalone(f["queue"], body),
        lambda f, ids: f["queue"] in ids.queues,
    ),
    "storage endpoint": (
        lambda f, body: _standalone(f["rse"], body),
        lambda f, ids: f["rse"] in ids.sites,
    ),
    "ggus": (
        lambda f, body: _standalone(f["ggus"], body),
        lambda f, ids: int(f["ggus"]) in ids.ggus,
    ),
    "jira": (
        lambda f, body: f["jira_panda"] in body,
        lambda f, ids: f["jira_panda"] in ids.jira,
    ),
}


@pytest.mark.parametrize("kind", list(_FACT_CHECKS))
def test_every_id_the_generator_wrote_into_a_body_is_found(
    generated: list[tuple[str, Facts, GridIds]], kind: str
) -> None:
    written, found = _FACT_CHECKS[kind]
    mentioned = [(body, facts, ids) for body, facts, ids in generated if written(facts, body)]
    missed = [body[:300] for body, facts, ids in mentioned if not found(facts, ids)]
    assert len(mentioned) >= 10  # the sample does mention this kind of id
    assert missed == []


def test_generated_mail_yields_no_task_the_thread_did_not_mention(
    generated: list[tuple[str, Facts, GridIds]],
) -> None:
    strangers = [
        (facts["task_id"], task)
        for _, facts, ids in generated
        for task in ids.tasks
        if str(task) != facts["task_id"]
    ]
    assert strangers == []


# --- hostile input -----------------------------------------------------------------------------

MEGABYTE = 1_000_000


# Names every kind, so that every pattern runs over the filler in front of it.
_TAIL = (
    "\nJEDI task 15934870, PandaID=4567891234, user.jdoe.123.out/ at ANALY_BNL_SHORT and "
    "BNL-OSG2_DATADISK, ATLASPANDA-426, GGUS 123456, asetup AnalysisBase,21.2.87\n"
)
_TAIL_IDS = find_ids(_TAIL)


def test_the_hostile_tail_names_every_kind() -> None:
    assert all(getattr(_TAIL_IDS, f.name) for f in dataclasses.fields(GridIds))


@pytest.mark.parametrize(
    "filler",
    [
        "task ",  # a context word, then separators and digits that never end
        "> ",
        " , ",  # a list that never gets its next number
        "user.",  # a dataset name that never ends
        "A-",  # a storage endpoint that never gets its space token
        "1.1.",  # a release that never ends
        "pandamon/query?a&",
        "ggus.eu/?a",
        "--site=A,",
    ],
)
def test_a_megabyte_of_near_misses_still_finds_the_ids_after_it(filler: str) -> None:
    # A pattern that backtracks catastrophically would hang here rather than fail; keeping
    # quantifiers unnested (checked below) is what makes the scan linear.
    ids = find_ids(filler * (MEGABYTE // len(filler)) + _TAIL)
    for field in dataclasses.fields(GridIds):
        found, expected = getattr(ids, field.name), getattr(_TAIL_IDS, field.name)
        assert found[-len(expected) :] == expected, field.name


def _unbounded_repeats(items: object, inside: bool = False) -> Iterator[bool]:
    """Yield True for each unbounded repeat that sits inside another unbounded repeat."""
    for op, arg in items:  # type: ignore[attr-defined]
        if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
            _, high, sub = arg
            unbounded = high == sre_constants.MAXREPEAT
            if unbounded:
                yield inside
            yield from _unbounded_repeats(sub, inside or unbounded)
        elif op is sre_constants.SUBPATTERN:
            yield from _unbounded_repeats(arg[-1], inside)
        elif op is sre_constants.BRANCH:
            for branch in arg[1]:
                yield from _unbounded_repeats(branch, inside)
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            yield from _unbounded_repeats(arg[1], inside)


def _patterns() -> list[re.Pattern[str]]:
    found = [v for v in vars(gridtext).values() if isinstance(v, re.Pattern)]
    jira = gridtext._jira_pattern(gridtext.DEFAULT_JIRA_PROJECTS)
    return [*found, *([jira] if jira else [])]


def test_no_pattern_nests_an_unbounded_quantifier_in_another() -> None:
    assert any(_unbounded_repeats(sre_parse.parse(r"(?:\w+\.)+x")))  # the check sees nesting
    patterns = _patterns()
    assert len(patterns) >= 8
    nested = [
        p.pattern for p in patterns if any(_unbounded_repeats(sre_parse.parse(p.pattern, p.flags)))
    ]
    assert nested == []


def test_asking_only_for_queues_and_sites_finds_the_same_ones_and_nothing_else():
    text = (
        "Task 12345678 fails on ANALY_BNL_SHORT, job 4567890123 too; the site BNL-OSG2 "
        "lost BNL-OSG2_DATADISK. See ATLASPANDA-426 and GGUS 123456."
    )
    full = find_ids(text)
    some = find_ids(text, only=("queues", "sites"))
    assert full.queues
    assert full.sites
    assert (some.queues, some.sites) == (full.queues, full.sites)
    assert (some.tasks, some.jobs, some.jira, some.ggus) == ((), (), (), ())
