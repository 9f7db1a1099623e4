# ruff: noqa: RUF001 - non-Latin letters and typographic quotes are the point here
"""What requesters write besides their topic's question: greetings, pasted evidence,
follow-ups, thanks. A message is stitched from several lists so that bodies rarely repeat.
"""

from __future__ import annotations

# A few people write their subject in their own language.
LOCAL_SUBJECTS: dict[str, tuple[str, ...]] = {
    "fr": ("Problème avec {dl_cmd}", "Échec des jobs sur {site}", "Question à propos de prun"),
    "de": ("Frage zu {submit_tool}", "Fehler bei {site}", "Jobs hängen seit {days} Tagen"),
    "it": ("Problema con {dl_cmd}", "Errore nei job su {site}"),
    "es": ("Problema con la descarga de {in_ds_name}", "Error en {site}"),
    "cz": ("Problém s {dl_cmd}", "Chyba na {site}"),
    "pl": ("Problem z pobieraniem danych", "Błąd zadań na {site}"),
    "ru": ("Проблема с {dl_cmd}", "Ошибка задач на {site}"),
    "jp": ("{dl_cmd} のエラーについて", "{site} でジョブが失敗します"),
    "cn": ("关于 {dl_cmd} 的问题", "{site} 上的作业失败"),
    "tr": ("{site} üzerinde işler başarısız", "Veri indirme sorunu"),
    "gr": ("Πρόβλημα με το {dl_cmd}",),
    "nordic": ("Problem med {dl_cmd}", "Jobb misslyckas på {site}"),
}

GREETINGS_TO_LIST = (
    "Dear DAST,",
    "Hello,",
    "Hi all,",
    "Dear experts,",
    "Dear support team,",
    "Hi DAST,",
    "Dear shifters,",
    "Hello experts,",
    "Dear DAST shifters,",
    "Hi,",
)

DL_ERRORS = (
    "ERROR Failed to download file {lfn}\nERROR Cannot download files: no replica available",
    "ServiceUnavailable: The requested service is not available at the moment.\n"
    "Details: An unknown exception occurred.",
    "ERROR Checksum validation failed for {lfn}",
    "lcg-cp: SRM_FAILURE: Connection timed out after 180 seconds",
    "gfal-copy error: 70 (Communication error on send) - globus_xio: Unable to connect",
)

PROXY_ERRORS = (
    "Error: Could not establish authenticated connection with the server.\n"
    "GSS Major Status: Authentication Failed",
    "voms2.cern.ch:15001: The validity of this VOMS AC in your proxy is shortened to 345600\n"
    "seconds!\nError: verification failed.",
    "Error: atlas: User unknown to this VO.",
)

STACK = (
    " *** Break *** segmentation violation\n"
    "===========================================================\n"
    "There was a crash.\nThis is the entire stack trace of all threads:\n"
    "===========================================================\n"
    "#0  0x00007f3a1c2d9a7a in waitpid () from /lib64/libc.so.6\n"
    "#1  0x00007f3a1c26c7f2 in do_system () from /lib64/libc.so.6\n"
    "#2  0x00007f3a14e1b2a6 in TUnixSystem::StackTrace() () from libCore.so\n"
    "#3  0x00007f3a14e1e73c in TUnixSystem::DispatchSignals(ESignals) () from libCore.so\n"
    "#4  <signal handler called>\n"
    "#{frame} 0x00007f39fd2b4c1e in {alg}::execute() () at {alg}.cxx:{line}\n"
    "#10 0x00007f3a0f6a2e45 in Algorithm::sysExecute() () from libGaudiKernel.so\n"
    "==========================================================="
)

ATHENA_ERRORS = (
    "{alg}            ERROR Could not retrieve xAOD::ElectronContainer/Electrons\n"
    "{alg}            ERROR execute() returned StatusCode FAILURE\n"
    "AthAlgSeq            ERROR Maximum number of errors ( 'ErrorMax':1) reached.\n"
    "AthMasterSeq         ERROR execute of [AthAlgSeq] did NOT succeed\n"
    "ServiceManager       ERROR Unable to finalize service: AthenaPoolCnvSvc"
)

DETAILS = (
    "Here is the output you asked for:\n\n{proxy_info}",
    "The command was\n\n  {submit_cmd}\n\nand the {task_word} is {task_url}",
    "I reproduced it locally on {lfn}; the log ends with\n\n{athena_errors}",
    "panda-client is {pclient}, and I set up with 'lsetup panda' on lxplus.",
    "The failing jobs are {job_url} and {job_id2}.",
)

PROXY_INFO = (
    "subject   : /DC=ch/DC=cern/OU=Organic Units/OU=Users/CN={nickname}/CN=123456/CN=Proxy\n"
    "issuer    : /DC=ch/DC=cern/OU=Organic Units/OU=Users/CN={nickname}/CN=123456\n"
    "type      : RFC3820 compliant impersonation proxy\n"
    "strength  : 2048\ntimeleft  : 95:59:51\n"
    "=== VO atlas extension information ===\nVO        : atlas\n"
    "attribute : /atlas/Role=NULL/Capability=NULL\ntimeleft  : 95:59:51"
)

STILL = (
    "Thanks, but I retried and the new jobs fail in the same way:\n{job_url}",
    "Unfortunately the problem is still there. {dl_cmd} gives the same error.",
    "I did what you suggested but it did not help, the {task_word} {task_id} is failing again.",
    "Sorry, still no luck. From the log the error is now\n\n  {trf_code}: {trf_diag}",
    "I tried again this morning at {other_site} and got the same error.",
)

THANKS = (
    "Thanks a lot, it works now!",
    "Thank you, the jobs are running now.",
    "Great, the download completed. Thanks for the quick help.",
    "Thanks, that solved it. You can close this.",
    "OK, I will try that and let you know.",
    "Many thanks, everything is fine now.",
    "Thanks for the explanation, that makes sense.",
)

PINGS = (
    "Hi again,\n\nany news on this? The problem is still there.",
    "Sorry to insist, but could someone have a look? My jobs are still failing.",
    "Any update on this? I have a deadline next week.",
)

CLOSINGS = (
    "Thanks in advance,",
    "Best regards,",
    "Cheers,",
    "Thanks,",
    "Many thanks,",
    "Best,",
    "Regards,",
)

ATTACHED = (
    "I attached the log file.",
    "Please find the log attached.",
    "The full log is attached.",
    "I attach a screenshot.",
)
