"""The problems people bring to the list, by category: a subject, the question, what the shifter
answers. Keeping the three together is what makes a generated thread read like one conversation.

Templates are str.format strings over the slots of facts.thread_facts and threads._slots.
"""

from __future__ import annotations

from typing import NamedTuple


class Topic(NamedTuple):
    subjects: tuple[str, ...]
    questions: tuple[str, ...]
    answers: tuple[str, ...]


_PANDA = (
    Topic(
        (
            "Jobs failing with pilot error {pilot_code} at {queue}",
            "{task_word} {task_id}: most jobs failed",
        ),
        (
            "I submitted {task_word} {task_id} with {submit_tool} yesterday and most of the jobs\n"
            "failed at {queue} with\n\n  {pilot_code}: {pilot_diag}\n\n"
            "The monitor page is {task_url}\n"
            "I did not change anything in my setup since last week, when the same job ran fine.",
        ),
        (
            "I had a look at {task_url}\n"
            "The failures all come from {queue}, which had a storage problem yesterday\n"
            "({pilot_diag}). The site is fine again, so please retry the failed jobs with\n\n"
            "  pbook -c 'retry({task_id})'\n",
            "From the log it looks like a problem of the worker nodes at {site}, not of your\n"
            "job. I have reported it to the site; meanwhile resubmit with --excludedSite={site}.",
        ),
    ),
    Topic(
        ("{task_word} {task_id} exhausted", "Task exhausted after {days} attempts"),
        (
            'My {task_word} {task_id} went to "exhausted" after several attempts. The input is\n'
            "{in_ds}\nand I used --nGBPerJob=MAX. From the monitoring it looks like the jobs at\n"
            "{site} ran out of walltime. Is there anything I can do other than resubmitting\n"
            "with --nFilesPerJob=1?\n\n{task_url}",
        ),
        (
            "Your {task_word} was exhausted because the jobs could not finish within the\n"
            "walltime limit at {site}. This is a known problem for sites without direct I/O,\n"
            "see {jira_panda}. Please resubmit with --nFilesPerJob=2 or --nGBPerJob=5 so that\n"
            "each job reads less input.",
        ),
    ),
    Topic(
        ("lost heartbeat for jobs in {task_word} {task_id}",),
        (
            'Several jobs in {task_word} {task_id} are reported as failed with "lost heartbeat",\n'
            "for example\n{job_url}\nThey had been running at {queue} for about {hours} hours.\n"
            "Should I simply retry them, or is there a problem with the site?",
        ),
        (
            "From the log it looks like the pilot lost contact with the worker node: 'lost\n"
            "heartbeat' usually means that the node was rebooted or the batch system killed\n"
            "the job. JEDI retries such jobs automatically, and in {monitor} I see that they\n"
            "are running again at {other_site}.",
        ),
    ),
    Topic(
        (
            "brokerage failed for my {submit_tool} {task_word}",
            "Problem with {submit_tool} submission",
        ),
        (
            "My {submit_tool} submission fails already at the brokerage:\n\n"
            "  INFO : submit {task_word}\n"
            "  ERROR : brokerage failed: no candidate sites passed the check for {in_ds_name}\n\n"
            "The input is available at {rse} according to {ddm}. The command was\n\n"
            "  {submit_cmd}\n",
        ),
        (
            "The brokerage fails because your input is only on tape. Please ask for a disk\n"
            "replica with\n\n  {rule_cmd}\n\nand resubmit once the rule is OK.",
            "{rse} is a LOCALGROUPDISK and jobs are not brokered to data there. Please replicate\n"
            "the input to a DATADISK or let the jobs read it remotely with --allowTaskDuplication.",
        ),
    ),
    Topic(
        ("jobs stuck in activated state for {days} days", "{task_word} {task_id} not starting"),
        (
            "The jobs of my {task_word} {task_id} have been in the activated state for {days}\n"
            "days now and none of them has started. Is {queue} having problems? I need the\n"
            "output for a group meeting on Friday.",
        ),
        (
            "{queue} was set offline for a downtime; your jobs will start when it is back. If\n"
            "you cannot wait, kill the {task_word} and resubmit with --excludedSite={site}.",
        ),
    ),
    Topic(
        ("{submit_tool}: jobs finished but output dataset empty",),
        (
            "All {njobs} jobs of {task_word} {task_id} finished, but the output dataset\n"
            '{out_ds}\nis empty when I try {dl_cmd}. The job log says "{trf_diag}"\n'
            "(transExitCode {trf_code}).\n\nLink: {task_url}",
        ),
        (
            "Your jobs finished but the output was not registered because of a stage-out\n"
            "error at {site}. Retrying the {task_word} will only rerun the jobs without output:\n\n"
            "  pbook -c 'retry({task_id})'\n",
        ),
    ),
)

_DATA = (
    Topic(
        ("{dl_cmd} fails for {in_ds_name}", "Cannot download {in_ds_name}"),
        (
            "I am trying to download\n{in_ds}\nwith {dl_cmd}, but {nfiles} files fail with\n\n"
            "{dl_error}\n\nI have a valid proxy. Is the data only on tape?",
        ),
        (
            "The files are on tape at {site}. I have asked for them to be staged; in the\n"
            "meantime you can copy the dataset to disk with\n\n  {rule_cmd}\n",
            "The only disk replica is at {site}, which has a storage problem right now. Please\n"
            "try again tomorrow, or add --rse {rse} to pick another replica.",
        ),
    ),
    Topic(
        ("Replication rule stuck for my output", "Request to replicate {out_ds_name} to {rse}"),
        (
            "I created a replication rule for\n{out_ds}\nto {rse} {days} days ago and it is\n"
            "still STUCK. Could someone check why the transfers do not go through?\n\n  {rule_cmd}",
        ),
        (
            "Your rule is stuck because the source replica at {site} has a checksum mismatch.\n"
            "I declared the files bad; {ddm} will recover them from another copy if there is one.",
        ),
    ),
    Topic(
        ("Quota exceeded on {rse}",),
        (
            'I get "quota exceeded" when I try to replicate my output to {rse}. {ddm} says I\n'
            "use almost all of my {quota} TB. Could you increase my quota, or tell me whom to\n"
            "ask? The dataset is {out_ds}",
        ),
        (
            "The quota on {rse} is managed by the site, not by us. For outputs you only need\n"
            "for a short time please use {rse_scratch}; datasets there are kept for 15 days.",
        ),
    ),
    Topic(
        ("Files missing from {in_ds_name}", "Cannot access dataset {in_ds_name}"),
        (
            "The dataset\n{in_ds}\nlooks incomplete: {ls_cmd} lists {nfiles} files but some\n"
            "have no replica at all. Was something lost at {site}?",
        ),
        (
            "From what I can see the files were lost in a disk failure at {site}. They will\n"
            "have to be regenerated; I am asking the {ddm} team to check whether a copy exists.",
        ),
    ),
    Topic(
        ("Lifetime of my datasets on {rse_scratch}",),
        (
            "I received a notification that my datasets on {rse_scratch} will be deleted next\n"
            "week. How can I keep\n{out_ds}\nfor a few more months?",
        ),
        (
            "You can extend the lifetime of your rule with\n\n"
            "  rucio update-rule --lifetime 7776000 {rule_id}\n\n(that is 90 days), or copy the\n"
            "dataset to a LOCALGROUPDISK of your institute.",
        ),
    ),
    Topic(
        ("xrootd access to {rse} fails",),
        (
            "Reading files directly from {rse} with xrootd fails in my jobs:\n\n"
            "Error in <TNetXNGFile::Open>: [ERROR] Server responded with an error: [3011] No\n"
            "such file or directory\n\nbut {ls_cmd} shows the replica of {lfn} there.",
        ),
        (
            "The xrootd door of {site} was restarted this morning and lost its name-space\n"
            "cache. It works again now, please retry.",
        ),
    ),
)

_ATHENA = (
    Topic(
        ("Athena crash in release {release}", "Segmentation fault in {alg}"),
        (
            "My jobs with {release} crash with a segmentation violation, here is the stack\n"
            "trace from the log:\n\n{stack}\n\nThe same code runs fine on lxplus.",
        ),
        (
            "The crash is in your own code: frame #{frame} is {alg}::execute(), line {line}.\n"
            "Most likely a null pointer when an object is missing from some events. Could you\n"
            "run locally over {lfn} with gdb ('athena --debug exec ...') to see which one?",
        ),
    ),
    Topic(
        (
            "StatusCode FAILURE in {alg} on the grid but not locally",
            "Job runs locally but fails on the grid ({release})",
        ),
        (
            "On the grid my job stops in {alg}:\n\n{athena_errors}\n\n"
            "Locally with the same release ({release}) and the same input file it works.",
        ),
        (
            "The grid jobs read a different input than you do locally: some files of\n"
            "{in_ds_name} have no Electrons container. Please check the container is there\n"
            "before retrieving it.",
        ),
    ),
    Topic(
        ("Conditions database access failing with {release}",),
        (
            "Since yesterday all my jobs fail while reading conditions:\n\n"
            "IOVDbSvc            ERROR Failed to connect to COOL database after 3 attempts\n"
            "IOVDbSvc            ERROR Unable to initialize service\n\n"
            "I use {release} at {queue}. Do I have to set something for Frontier?",
        ),
        (
            "The conditions access fails because the job overrides FRONTIER_SERVER. Please use\n"
            "the default setup of {release} and do not set it yourself.",
        ),
    ),
    Topic(
        ("{tool} initialisation fails in {release}",),
        (
            "{tool} fails to initialise in my job:\n\n"
            "{tool}  ERROR Could not find calibration file for {fmt}\n"
            "{alg}   ERROR initialize() failed: StatusCode FAILURE\n\nRelease is {release}.",
        ),
        (
            "Release {release} is not installed at {site}, so the job picked up an old\n"
            "calibration area. Please add --excludedSite={site} or use a more recent release.",
        ),
    ),
    Topic(
        ("Athena ran out of memory ({mem} MB)",),
        (
            "The pilot kills my jobs with {pilot_code} ({pilot_diag}). My job uses about {mem}\n"
            "MB when I run it locally. Is there a way to request more memory per job?",
        ),
        (
            "The job needs more than the 2 GB per core that {queue} gives. You can ask for\n"
            "more with --memory={mem}, but fewer sites will accept the jobs.",
        ),
    ),
)

_SITE = (
    Topic(
        ("All jobs failing at {site}", "{site}: jobs killed after {hours} hours"),
        (
            "All my jobs at {site} fail since this morning with\n\n  {pilot_code}: {pilot_diag}\n\n"
            "while the same {task_word} runs fine elsewhere.\n{task_url}",
        ),
        (
            "Thanks for the report. {site} has a problem with its storage; I opened GGUS\n"
            "ticket {ggus}:\nhttps://ggus.eu/?mode=ticket_info&ticket_id={ggus}\n"
            "Until it is fixed please submit with --excludedSite={site}.",
        ),
    ),
    Topic(
        ("{queue} seems to be down",),
        (
            "My jobs have been waiting for {queue} for {days} days, but the queue seems to be\n"
            "offline in {monitor}. Is there a downtime?",
        ),
        (
            "There is a scheduled downtime at {site} for a storage upgrade, see the AGIS and\n"
            "GOCDB pages. Your jobs will run once the queue is back.",
            "The queue {queue} was blacklisted by HammerCloud this morning, so new jobs do not\n"
            "go there. Your waiting jobs will be reassigned automatically.",
        ),
    ),
    Topic(
        ("Stage-in errors at {site}", "Files unavailable at {rse}"),
        ("Jobs at {site} fail to read their input:\n\n{dl_error}\n\nExample job: {job_url}",),
        (
            "{site} lost a disk server last night; GGUS {ggus} is open and the site is\n"
            "recovering the files. Please exclude it for a few days.",
        ),
    ),
    Topic(
        ("Jobs very slow at {queue}",),
        (
            "My jobs at {queue} are extremely slow, {hours} hours for a job that takes one\n"
            "hour at {other_site}. Is the site overloaded?",
        ),
        (
            "{site} is full of production jobs at the moment and its storage is saturated. I\n"
            "asked the site to lower the production share; you can also exclude the site.",
        ),
    ),
)

_MONITORING = (
    Topic(
        ("{monitor} shows wrong status for {task_word} {task_id}",),
        (
            "{monitor} says that {task_word} {task_id} is still running, but pbook tells me it\n"
            "finished {days} days ago:\n{task_url}",
        ),
        (
            "{monitor} caches task pages for some minutes. I see the {task_word} as finished\n"
            "now:\n{task_url}",
        ),
    ),
    Topic(
        ("{monitor} page not loading",),
        (
            "{monitor} does not load for me, I get\n\n  504 Gateway Time-out\n\n"
            "when I open {task_url}",
        ),
        (
            "The {monitor} machines were overloaded this morning, it should work again. Please\n"
            "reload the page.",
        ),
    ),
    Topic(
        ("Job logs not available in {monitor}",),
        ("The log tarball link for job {job_id} in {monitor} gives a 404:\n{job_url}",),
        (
            "The log tarball is in a dataset on {rse_scratch}; you can get it with\n\n"
            "  {dl_cmd} user.{nickname}.{task_id}.log\n",
        ),
    ),
    Topic(
        ("No email notification for {task_word} {task_id}",),
        (
            "I no longer receive the email when my tasks finish, for example {task_word}\n"
            "{task_id}. Has something changed?",
        ),
        (
            "The notifications are sent by the PanDA server, not by {monitor}. Please check\n"
            "that your address in the CERN phonebook is still correct.",
        ),
    ),
)

_TOOLS = (
    Topic(
        (
            "{submit_tool} --{opt} not working with panda-client {pclient}",
            "Question about {submit_tool} option --{opt}",
        ),
        (
            "The option --{opt} of {submit_tool} seems to be ignored with panda-client\n"
            "{pclient}. The command was\n\n  {submit_cmd} --{opt}\n",
        ),
        (
            "--{opt} was changed in panda-client {pclient}. Please update with 'lsetup panda',\n"
            "which gives you the latest version, and check '{submit_tool} --help'.",
        ),
    ),
    Topic(
        ("{submit_tool} cannot find my input files",),
        (
            "{submit_tool} cannot find my input, it says\n\n"
            "  ERROR : no files in {in_ds_name}\n\nbut {ls_cmd} lists {nfiles} files.",
        ),
        (
            "{submit_tool} could not find the files because the dataset is a container; use\n"
            "the container name with a trailing slash, or add --useContElementBoundary. See\n"
            "also {jira_jt}.",
        ),
    ),
    Topic(
        ("voms-proxy-init fails", "Grid proxy problem"),
        (
            "voms-proxy-init fails for me:\n\n{proxy_error}\n\n"
            "My certificate is valid until next year.",
        ),
        (
            "Your VO membership needs to be renewed; please follow the link in the mail from\n"
            "voms2.cern.ch, or go to https://voms2.cern.ch:8443/voms/atlas/ and sign the AUP\n"
            "again.",
        ),
    ),
    Topic(
        ("lsetup panda problem",),
        (
            "After 'lsetup panda' I get\n\n  ImportError: No module named pandatools\n\n"
            "on lxplus. Is the client broken?",
        ),
        (
            "You have an old PYTHONPATH from your .bashrc that hides the client. Please log in\n"
            "again without it and run 'setupATLAS; lsetup panda'.",
        ),
    ),
    Topic(
        ("How to merge the output of my {submit_tool} jobs?",),
        (
            "Is there a way to merge the output of my {submit_tool} jobs into fewer files? My\n"
            "{task_word} {task_id} produced {nfiles} small files.",
        ),
        (
            "You can merge the output with --mergeOutput; the documentation is at\n"
            "https://twiki.cern.ch/twiki/bin/view/PanDA/PandaRun#Merge_output",
        ),
    ),
)

_AMI = (
    Topic(
        ("AMI tag {ami_tag} not found",),
        (
            "I cannot find the tag {ami_tag} in AMI, it is used in\n{in_ds_name}\n"
            "Is the tag missing from the database?",
        ),
        (
            "The tag {ami_tag} is in AMI, you can see it at\n"
            "https://ami.in2p3.fr/app?subapp=tagsShow&userdata={ami_tag}\n"
            "Perhaps your query used the full tag string instead of the single tag.",
        ),
    ),
    Topic(
        ("Cross section for DSID {dsid} in AMI",),
        ("Where do I find the cross section and filter efficiency of DSID {dsid} in AMI?",),
        (
            "The cross section is in the 'physics parameters' of the dataset page in AMI, or\n"
            "with\n\n  ami show dataset info {in_ds_name}\n",
        ),
    ),
    Topic(
        ("AMI shows wrong number of events for {in_ds_name}",),
        (
            "AMI shows a different number of events for\n{in_ds_name}\nthan I get when I run\n"
            "over all {nfiles} files. Which one is correct?",
        ),
        (
            "AMI counts the events of all files in the dataset, including those of failed and\n"
            "retried jobs that were later removed. The number from your own run is the right one.",
        ),
    ),
    Topic(
        ("Cannot find {period} containers in AMI",),
        (
            "I am looking for the {period} containers of {data_proj} with {fmt} but the AMI\n"
            "search returns nothing.",
        ),
        (
            "The {period} containers are called {data_proj}.{period}.physics_Main.PhysCont.{fmt}\n"
            "Search with this pattern in AMI and you should find them.",
        ),
    ),
)

_OTHER = (
    Topic(
        ("Grid certificate renewal",),
        (
            "My grid certificate expires next week. What do I have to do so that my jobs and\n"
            "my datasets keep working with the new one?",
        ),
        (
            "Please have a look at\nhttps://twiki.cern.ch/twiki/bin/view/AtlasComputing/"
            "WorkBookStartingGrid\nwhich explains certificates and VO membership step by step.",
        ),
    ),
    Topic(
        ("Question about DAST shifts",),
        (
            "I would like to help as a DAST shifter. What are the requirements and is there a\n"
            "training?",
        ),
        (
            "Thanks for your interest! Please contact the DAST coordinators; newcomers start as\n"
            "trainees next to an experienced shifter. See\n"
            "https://twiki.cern.ch/twiki/bin/view/AtlasComputing/AtlasDAST",
        ),
    ),
    Topic(
        ("Mailing list subscription",),
        ("How can I unsubscribe a former student from this list? He left the group.",),
        (
            "List membership is handled in e-groups; the owner of your group's e-group can\n"
            "remove members.",
        ),
    ),
    Topic(
        ("Which group disk can I use?",),
        (
            "Which LOCALGROUPDISK may I use for the ntuples of my analysis? Our group uses\n"
            "{rse} but I have no quota there.",
        ),
        (
            "Quotas on LOCALGROUPDISKs are given by the sites to their own users. Please ask\n"
            "the contact of your institute's cloud, or use {rse_scratch} for a few weeks.",
        ),
    ),
)

TOPICS: dict[str, tuple[Topic, ...]] = {
    "panda": _PANDA,
    "data_access": _DATA,
    "athena": _ATHENA,
    "site": _SITE,
    "monitoring": _MONITORING,
    "analysis_tools": _TOOLS,
    "ami": _AMI,
    "other": _OTHER,
}
