"""What the team writes back beyond a topic's answer: questions, escalations, experts' answers
by group, closings, signatures; and what machines write."""

from __future__ import annotations

ASK_DETAILS = (
    "Could you please send the full command you used and the output of\n\n  voms-proxy-info -all\n",
    "Which release and panda-client version are you using? Please also send the link to\n"
    "the {task_word} in {monitor}.",
    "Can you reproduce the problem locally on one of the input files, for example\n{lfn} ?",
    "Could you attach the log of one failed job? You find it in {monitor} under\n"
    "'Logs' on the job page.",
    "Is this still happening? I do not see any failed jobs in {monitor} for your user.",
)

ESCALATIONS = (
    "Could you please have a look at the problem reported below? I checked the {task_word}\n"
    "in {monitor} and the site status, and could not find an obvious cause.",
    "I am adding you in CC for the problem below. It looks like an issue on your side;\n"
    "the user cannot do anything about it.",
    "This looks like a problem for you: see the user's mail below and {task_url}",
)

SITE_ESCALATIONS = (
    "Jobs of several users fail at {site} with '{pilot_diag}'. I opened GGUS ticket {ggus}\n"
    "but there was no answer yet; could you please have a look?",
    "Could you please check {queue}? Analysis jobs fail there since this morning, see\n{job_url}",
)

EXPERT_ANSWERS: dict[str, tuple[str, ...]] = {
    "panda": (
        "I checked the {task_word} in JEDI. The jobs were assigned to {queue} while it was\n"
        "being drained, which should not happen. I reassigned them, they should start within\n"
        "the hour. We follow this up in {jira_panda}.",
        "This is a known issue with the scout jobs overestimating the walltime. I increased\n"
        "the limit for your {task_word} and retried it.",
    ),
    "rucio": (
        "The transfers from {site} failed because of an expired certificate on the FTS\n"
        "server. This is fixed and the rule {rule_id} is now REPLICATING.",
        "The files were indeed lost at {site}; I declared them bad and they are being\n"
        "recovered from {other_site}. Tracked in {jira_ddm}.",
    ),
    "bigpanda": (
        "Thanks, this is a bug in the task page, it reads a stale copy of the job table.\n"
        "A fix will be deployed this week.",
        "The log files of jobs older than 30 days are removed from the cache; you can still\n"
        "get them from the log dataset with {dl_cmd}.",
    ),
    "ami": (
        "The tag was defined but not yet published; it is visible now. Sorry for that.",
        "The event count in AMI is updated only after the dataset is closed; it is correct\nnow.",
    ),
    "athena": (
        "This is a known bug in {release}, fixed in the next release. As a workaround set\n"
        "the property OutputLevel=INFO for {tool}.",
        "Your job options load the old configuration of {tool}; please use the one from\n"
        "the release instead of your local copy.",
    ),
    "pat": (
        "{tool} needs the calibration files from CVMFS, which were missing at {site}. The\n"
        "site fixed its CVMFS mount, please retry.",
        "The recommended way is the one in the tutorial; the option you used is deprecated\n"
        "since {release}. See {jira_jt}.",
    ),
    "cloud": (
        "We had a problem with one of our storage pools; it was restarted and jobs should\n"
        "succeed again. GGUS {ggus} is solved.",
        "The queue was offline because of a power cut in the computer centre. It is back\n"
        "online now.",
    ),
}

CLOSES = (
    "Great, thanks for confirming. I consider the issue solved.",
    "Good to hear. Closing this thread.",
    "Since we have not heard back for a week, I assume the problem is solved. Please\n"
    "reply to this mail if not.",
    "Thanks for the feedback, glad it works now.",
)

SHIFTER_SIGNATURES = (
    "Cheers,\n{first}\n(DAST shifter)",
    "Best regards,\n{name}\nDistributed Analysis Support Team",
    "Cheers,\n{first} for DAST",
    "Best,\n{first}\n--\nDAST shifter on duty",
)

EXPERT_SIGNATURES = (
    "Cheers,\n{first}",
    "Best,\n{first}\n-- \n{name}, {group}",
    "Regards,\n{name}",
)

AUTOREPLY_SUBJECTS = {
    "de": "Abwesenheitsnotiz: {subject}",
    "fr": "Absence: {subject}",
    "it": "Risposta automatica: {subject}",
    "es": "Respuesta automática: {subject}",
    "nordic": "Frånvaromeddelande: {subject}",
}

AUTOREPLY_BODIES = {
    "de": "Ich bin bis einschließlich {until} nicht im Büro und habe nur eingeschränkt\n"
    "Zugriff auf meine E-Mails. In dringenden Fällen wenden Sie sich bitte an\n"
    "sekretariat@{domain}.\n\nI am out of the office until {until} with limited access to email.",
    "fr": "Je suis absent jusqu'au {until} inclus, avec un accès limité à ma messagerie.\n"
    "Je répondrai à votre message à mon retour.\n\n"
    "I am away until {until} with limited access to my email.",
    "en": "I am out of the office until {until} with limited access to email.\n"
    "For urgent matters please contact my colleagues at {domain}.\n\nThanks,\n{name}",
}

BOUNCE_REASONS = (
    ("5.1.1", "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in local "
     "recipient table"),
    ("5.2.2", "552 5.2.2 <{rcpt}>: Mailbox full: quota exceeded"),
    ("5.7.1", "550 5.7.1 <{rcpt}>: Relay access denied"),
    ("4.4.1", "421 4.4.1 Connection timed out; delivery time expired after 5 days"),
)  # fmt: skip

POSTFIX_BOUNCE = (
    "This is the mail system at host {mta}.\n\n"
    "I'm sorry to have to inform you that your message could not\n"
    "be delivered to one or more recipients. It's attached below.\n\n"
    "For further assistance, please send mail to postmaster.\n\n"
    "If you do so, please include this problem report. You can\n"
    "delete your own text from the attached returned message.\n\n"
    "                   The mail system\n\n<{rcpt}>: host {remote}[{ip}] said: {diagnostic}"
)

GMAIL_BOUNCE = (
    "** Address not found **\n\n"
    "Your message wasn't delivered to {rcpt} because the address couldn't be found,\n"
    "or is unable to receive mail.\n\n"
    "The response from the remote server was:\n{diagnostic}"
)
