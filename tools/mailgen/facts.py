"""The technical particulars of one thread: ids, datasets, sites, releases, errors.

Values follow the era of the thread: DQ2 and the old PanDA monitor before late 2014, Rucio,
JEDI and BigPanDA after; ids and AMI tag numbers grow with time as the real counters did.
"""

from __future__ import annotations

import time
from random import Random

from .rand import pick as _pick

_T0 = 1_199_145_600  # 2008-01-01
_T1 = 1_527_811_200  # 2018-06-01
JEDI_SINCE = 1_406_851_200  # 2014-08-01: analysis tasks get JEDI ids and BigPanDA pages
RUCIO_SINCE = 1_417_392_000  # 2014-12-01: DQ2 is switched off, dataset names get a scope

# (site, cloud, analysis queue, storage endpoint)
SITES = (
    ("CERN-PROD", "CERN", "ANALY_CERN_SHORT", "CERN-PROD_DATADISK"),
    ("CERN-PROD", "CERN", "ANALY_CERN_SLC6", "CERN-PROD_SCRATCHDISK"),
    ("BNL-ATLAS", "US", "ANALY_BNL_LONG", "BNL-OSG2_DATADISK"),
    ("BNL-ATLAS", "US", "ANALY_BNL_SHORT", "BNL-OSG2_SCRATCHDISK"),
    ("TRIUMF-LCG2", "CA", "ANALY_TRIUMF", "TRIUMF-LCG2_DATADISK"),
    ("IN2P3-CC", "FR", "ANALY_IN2P3-CC", "IN2P3-CC_DATADISK"),
    ("FZK-LCG2", "DE", "ANALY_FZK", "FZK-LCG2_DATADISK"),
    ("INFN-T1", "IT", "ANALY_INFN-T1", "INFN-T1_DATADISK"),
    ("NIKHEF-ELPROD", "NL", "ANALY_NIKHEF-ELPROD", "NIKHEF-ELPROD_DATADISK"),
    ("NDGF-T1", "ND", "ANALY_NDGF-T1", "NDGF-T1_DATADISK"),
    ("PIC", "ES", "ANALY_PIC", "PIC_DATADISK"),
    ("RAL-LCG2", "UK", "ANALY_RAL_SL6", "RAL-LCG2_DATADISK"),
    ("TAIWAN-LCG2", "TW", "ANALY_TAIWAN", "TAIWAN-LCG2_DATADISK"),
    ("DESY-HH", "DE", "ANALY_DESY-HH", "DESY-HH_LOCALGROUPDISK"),
    ("MWT2", "US", "ANALY_MWT2_SL6", "MWT2_UC_LOCALGROUPDISK"),
    ("AGLT2", "US", "ANALY_AGLT2_SL6", "AGLT2_LOCALGROUPDISK"),
    ("UKI-NORTHGRID-MAN-HEP", "UK", "ANALY_MANC_SL7", "UKI-NORTHGRID-MAN-HEP_LOCALGROUPDISK"),
    ("INFN-MILANO-ATLASC", "IT", "ANALY_MILANO", "INFN-MILANO-ATLASC_LOCALGROUPDISK"),
    ("LRZ-LMU", "DE", "ANALY_LRZ", "LRZ-LMU_LOCALGROUPDISK"),
    ("GRIF-LAL", "FR", "ANALY_GRIF-LAL", "GRIF-LAL_LOCALGROUPDISK"),
    ("praguelcg2", "CZ", "ANALY_praguelcg2", "praguelcg2_LOCALGROUPDISK"),
    ("TOKYO-LCG2", "JP", "ANALY_TOKYO", "TOKYO-LCG2_LOCALGROUPDISK"),
    ("IFIC-LCG2", "ES", "ANALY_IFIC", "IFIC-LCG2_LOCALGROUPDISK"),
)

# year -> (data project, mc project, run range, stream, formats, Athena releases)
_ERAS = {
    2008: ("data08_cosmag", "mc08_10TeV", (91000, 92200), "physics_IDCosmic",
           ("AOD", "ESD", "DPD_CALOCOMM"), ("14.2.23.2", "14.2.25.8", "14.5.2.4")),
    2009: ("data09_900GeV", "mc09_7TeV", (140541, 142383), "physics_MinBias",
           ("AOD", "ESD", "DESD_MBIAS"), ("15.3.1.6", "15.5.1", "15.6.1.4")),
    2010: ("data10_7TeV", "mc10_7TeV", (152166, 167844), "physics_Egamma",
           ("AOD", "NTUP_EGAMMA", "ESD"), ("15.6.9.8", "16.0.2.3", "16.0.3.6")),
    2011: ("data11_7TeV", "mc11_7TeV", (177986, 191933), "physics_Muons",
           ("AOD", "NTUP_SMWZ", "NTUP_TOP"), ("16.6.7.3", "17.0.4", "17.0.5.6")),
    2012: ("data12_8TeV", "mc12_8TeV", (200804, 216432), "physics_JetTauEtmiss",
           ("NTUP_SMWZ", "NTUP_COMMON", "AOD"), ("17.2.4.5", "17.2.7.5", "17.3.1.1")),
    2013: ("data12_8TeV", "mc12_8TeV", (200804, 216432), "physics_Muons",
           ("NTUP_COMMON", "NTUP_SUSY", "AOD"), ("17.2.11.2", "17.8.0.9", "18.1.0")),
    2014: ("data12_8TeV", "mc14_13TeV", (200804, 216432), "physics_Egamma",
           ("AOD", "NTUP_COMMON", "xAOD"), ("17.2.13.9", "19.0.3.3", "19.1.1.5")),
    2015: ("data15_13TeV", "mc15_13TeV", (266904, 284484), "physics_Main",
           ("DAOD_EXOT2", "DAOD_SUSY1", "DAOD_STDM4"),
           ("AtlasDerivation,20.1.8.3", "AnalysisBase,2.3.45", "AtlasProduction,20.1.5.10")),
    2016: ("data16_13TeV", "mc15_13TeV", (296939, 311481), "physics_Main",
           ("DAOD_HIGG4D1", "DAOD_TOPQ1", "DAOD_JETM1"),
           ("AthAnalysisBase,2.4.22", "AnalysisBase,2.4.31", "AtlasDerivation,20.7.8.7")),
    2017: ("data17_13TeV", "mc16_13TeV", (325713, 341649), "physics_Main",
           ("DAOD_EXOT2", "DAOD_FTAG1", "DAOD_STDM4"),
           ("AthAnalysis,21.2.12", "AnalysisBase,21.2.15", "AthDerivation,21.2.10.0")),
    2018: ("data17_13TeV", "mc16_13TeV", (325713, 341649), "physics_Main",
           ("DAOD_MUON1", "DAOD_EGAM1", "DAOD_SUSY5"),
           ("AthAnalysis,21.2.56", "AnalysisBase,21.2.19", "AthAnalysis,21.2.47")),
}  # fmt: skip

_MC_OLD = (
    (105200, "T1_McAtNlo_Jimmy"),
    (106046, "PythiaZee_no_filter"),
    (106047, "PythiaZmumu_no_filter"),
    (117050, "PowhegPythia_P2011C_ttbar"),
    (147806, "PowhegPythia8_AU2CT10_Zee"),
    (161805, "PowhegPythia8_AU2CT10_ggH125_ZZ4lep"),
)
_MC_NEW = (
    (361106, "PowhegPythia8EvtGen_AZNLOCTEQ6L1_Zee"),
    (361107, "PowhegPythia8EvtGen_AZNLOCTEQ6L1_Zmumu"),
    (410000, "PowhegPythiaEvtGen_P2012_ttbar_hdamp172p5_nonallhad"),
    (410470, "PhPy8EG_A14_ttbar_hdamp258p75_nonallhad"),
    (345060, "PowhegPythia8EvtGen_NNLOPS_nnlo_30_ggH125_ZZ4l"),
    (361020, "Pythia8EvtGen_A14NNPDF23LO_jetjet_JZ0W"),
    (364250, "Sherpa_222_NNPDF30NNLO_llll"),
)

PILOT_ERRORS = (
    ("1099", "Failed to stage-in file"),
    ("1137", "Failed to stage-out file"),
    ("1150", "Looping job killed by pilot"),
    ("1201", "Job killed by signal: SIGTERM"),
    ("1212", "Athena ran out of memory"),
    ("1152", "Payload stdout file too big"),
    ("1098", "No space left on local disk"),
    ("1008", "General pilot error, consult batch log"),
)
TRF_ERRORS = (
    ("65", "Non-zero return code from athena (65)"),
    ("68", "Non-zero return code from AthenaMP (8)"),
    ("139", "Transform received signal SIGSEGV"),
    ("11", "TRF_EXEC_FAIL: athena.py exited with code 1"),
    ("251", "Not enough events to satisfy request"),
)
_ALGS_OLD = ("AnalysisSkeleton", "ZeeD3PDMaker", "TopD3PDAlg", "MuonCalibAlg", "HiggsD3PDAlg")
_ALGS_NEW = ("MyxAODAnalysis", "ZeeSelectionAlg", "TTbarNtupleMaker", "HiggsZZ4lAlg", "JetStudyAlg")
_TOOLS = ("MuonSelectionTool", "JetCalibrationTool", "EgammaCalibrationAndSmearingTool",
          "METMaker", "TrigDecisionTool", "SUSYObjDef_xAOD", "BTaggingEfficiencyTool")  # fmt: skip
_PRUN_OPTS = ("nGBPerJob", "nFilesPerJob", "excludedSite", "mergeOutput", "extFile",
              "useContElementBoundary", "forceStaged", "maxCpuCount",
              "allowTaskDuplication")  # fmt: skip


def _frac(ts: int) -> float:
    return (ts - _T0) / (_T1 - _T0)


def _grow(rng: Random, frac: float, low: float, high: float, jitter: float) -> int:
    """A counter that rose from `low` in 2008 (frac 0) to `high` in 2018 (frac 1), give or
    take `jitter`."""
    return max(1, int(low + frac * (high - low) + (rng.random() - 0.5) * jitter))


def _version(rng: Random, year: int, table: tuple[tuple[int, str], ...], top: int) -> str:
    prefix = table[0][1]
    for since, value in table:
        if year >= since:
            prefix = value
    return f"{prefix}.{int(rng.random() * top)}"


_PANDA_CLIENT = ((2008, "0.1"), (2009, "0.2"), (2011, "0.4"), (2014, "0.5"), (2017, "0.6"))
_RUCIO_CLIENT = ((2014, "1.0"), (2016, "1.6"), (2017, "1.12"), (2018, "1.15"))


def thread_facts(rng: Random, ts: int, nickname: str) -> dict[str, str]:
    """Every slot the text templates may name, drawn once per thread so messages agree."""
    year = min(max(time.gmtime(ts).tm_year, 2008), 2018)
    frac = _frac(ts)
    data_proj, mc_proj, runs, stream, formats, releases = _ERAS[year]
    rucio, jedi = ts >= RUCIO_SINCE, ts >= JEDI_SINCE
    site, cloud, queue, rse = _pick(rng, SITES)
    fmt = _pick(rng, formats)
    tag_ranges = ((300, 6300), (400, 3200), (500, 10400), (100, 3700))
    e, s, r, p = (_grow(rng, frac, lo, hi, 80) for lo, hi in tag_ranges)
    f, m = _grow(rng, frac, 60, 940, 40), _grow(rng, frac, 100, 1900, 60)
    dsid, phys = _pick(rng, _MC_NEW if year >= 2015 else _MC_OLD)
    step = "deriv" if fmt.startswith("DAOD") else "merge"
    mc_tags = f"e{e}_s{s}_r{r}_p{p}" if year >= 2015 else f"e{e}_s{s}_s{s + 7}_r{r}_r{r + 3}"
    run = int(runs[0] + rng.random() * (runs[1] - runs[0]))
    data_name = f"{data_proj}.{run:08d}.{stream}.{step}.{fmt}.f{f}_m{m}_p{p}"
    mc_name = f"{mc_proj}.{dsid}.{phys}.{step}.{fmt}.{mc_tags}"
    official = data_name if rng.random() < 0.5 else mc_name
    official_scope = official.split(".", 1)[0]
    version = 1 + int(rng.random() * 4)
    user_scope = f"user.{nickname}"
    out_name = f"{user_scope}.{mc_proj}.{dsid}.{phys}.{fmt}.{mc_tags}_v{version}"
    if rng.random() < 0.4:
        out_name = f"{user_scope}.{data_proj}.{run:08d}.{stream}.{fmt}.f{f}_m{m}_v{version}"
    # Clamped so that ids keep their 8 and 10 digits whatever dates the caller asks for.
    task_id = min(max(_grow(rng, _frac(max(ts, JEDI_SINCE)), -1_150_000, 16_850_000, 400_000),
                      10_000_000), 99_999_999)  # fmt: skip
    job_id = min(max(_grow(rng, frac, 1_000_000_000, 4_050_000_000, 6_000_000), 1_000_000_000),
                 9_999_999_999)  # fmt: skip
    jobset = 100 + int(rng.random() * 9000)
    pilot_code, pilot_diag = _pick(rng, PILOT_ERRORS)
    trf_code, trf_diag = _pick(rng, TRF_ERRORS)
    release = _pick(rng, releases)
    submit_tool = "prun" if rng.random() < 0.65 else "pathena"
    lfn_prefix = fmt if "_" in fmt or fmt == "AOD" else "NTUP"
    facts = {
        "year": str(year),
        "site": site,
        "cloud": cloud,
        "queue": queue,
        "rse": rse,
        "rse_scratch": rse.rsplit("_", 1)[0] + "_SCRATCHDISK",
        "other_site": _pick(rng, SITES)[0],
        "fmt": fmt,
        "dsid": str(dsid),
        "run": f"{run:08d}",
        "ami_tag": _pick(rng, (f"p{p}", f"r{r}", f"e{e}", f"s{s}", f"f{f}_m{m}")),
        "period": "period" + "ABCDEFGHIJKL"[int(rng.random() * 12)],
        "data_proj": data_proj,
        "in_ds": f"{official_scope}:{official}" if rucio else official,
        "in_ds_name": official,
        "out_ds": f"{user_scope}:{out_name}" if rucio else out_name,
        "out_ds_name": out_name,
        "scope": user_scope,
        "lfn": f"{lfn_prefix}.{task_id if jedi else jobset:08d}._{int(rng.random() * 900) + 1:06d}"
        ".pool.root.1",
        "ddm": "Rucio" if rucio else "DQ2",
        "dl_cmd": "rucio download" if rucio else "dq2-get",
        "ls_cmd": "rucio list-file-replicas" if rucio else "dq2-ls -r",
        "task_word": "task" if jedi else "jobset",
        "task_id": str(task_id if jedi else jobset),
        "job_id": str(job_id),
        "job_id2": str(job_id + 1 + int(rng.random() * 5000)),
        "monitor": "BigPanDA" if jedi else "the PanDA monitor",
        "task_url": f"https://bigpanda.cern.ch/task/{task_id}/"
        if jedi
        else f"http://panda.cern.ch/server/pandamon/query?mode=showuser&name={nickname}",
        "job_url": f"https://bigpanda.cern.ch/job?pandaid={job_id}"
        if jedi
        else f"http://panda.cern.ch/server/pandamon/query?job={job_id}",
        "pilot_code": pilot_code,
        "pilot_diag": pilot_diag,
        "trf_code": trf_code,
        "trf_diag": trf_diag,
        "release": release,
        "submit_tool": submit_tool,
        "pclient": _version(rng, year, _PANDA_CLIENT, 30),
        "rclient": _version(rng, year, _RUCIO_CLIENT, 6),
        "alg": _pick(rng, _ALGS_NEW if year >= 2015 else _ALGS_OLD),
        "tool": _pick(rng, _TOOLS),
        "opt": _pick(rng, _PRUN_OPTS),
        "jira_panda": f"ATLASPANDA-{_grow(rng, frac, 40, 470, 20)}",
        "jira_jt": f"ATLASJT-{_grow(rng, frac, 30, 400, 20)}",
        "jira_ddm": f"ATLDDMOPS-{_grow(rng, frac, 900, 5300, 80)}",
        "ggus": str(_grow(rng, frac, 40_000, 134_500, 1_500)),
        "nfiles": str(2 + int(rng.random() * 400)),
        "njobs": str(3 + int(rng.random() * 900)),
        "days": str(2 + int(rng.random() * 9)),
        "hours": str(3 + int(rng.random() * 40)),
        "mem": str(2000 + int(rng.random() * 6000)),
        "quota": str(1 + int(rng.random() * 20)),
        "rule_id": f"{rng.getrandbits(128):032x}",
        "frame": str(4 + int(rng.random() * 10)),
        "line": str(40 + int(rng.random() * 900)),
    }
    facts["submit_cmd"] = _submit_command(facts)
    facts["rule_cmd"] = (
        f"rucio add-rule {facts['out_ds']} 1 {rse}"
        if rucio
        else f"a DaTRI request for {out_name} to {rse}"
    )
    return facts


def _submit_command(facts: dict[str, str]) -> str:
    if facts["submit_tool"] == "pathena":
        return (
            f"pathena MyAnalysis_jobOptions.py --inDS {facts['in_ds']} "
            f"--outDS {facts['out_ds_name']} --nFilesPerJob 5"
        )
    return (
        f'prun --exec "runAnalysis.sh %IN" --inDS {facts["in_ds"]} '
        f"--outDS {facts['out_ds_name']} --nGBPerJob=MAX --athenaTag={facts['release']}"
    )
