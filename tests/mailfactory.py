"""Raw test mail, built with the stdlib so that tests read like the mail they describe."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr


def make_mail(
    *,
    sender: tuple[str, str] = ("Anna Kowalska", "anna.kowalska@cern.ch"),
    to: str = "dast-desk@cern.ch",
    cc: str = "",
    subject: str = "Task 15934872 exhausted",
    body: str = "All jobs of my task fail with 'lost heartbeat' at ANALY_BNL_SHORT.",
    message_id: str | None = None,
    in_reply_to: str = "",
    references: str = "",
    date: datetime | None = None,
    headers: dict[str, str] | None = None,
    attachments: tuple[tuple[str, str, bytes], ...] = (),
) -> bytes:
    mail = EmailMessage()
    mail["From"] = formataddr(sender)
    mail["To"] = to
    if cc:
        mail["Cc"] = cc
    mail["Subject"] = subject
    mail["Date"] = format_datetime(date or datetime.now(UTC))
    mail["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@mail.example.org>"
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    if references:
        mail["References"] = references
    for name, value in (headers or {}).items():
        mail[name] = value
    mail.set_content(body)
    for filename, content_type, content in attachments:
        maintype, subtype = content_type.split("/")
        mail.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(mail)


def make_bounce(*, original_message_id: str, recipient: str) -> bytes:
    boundary = "bounce-" + uuid.uuid4().hex
    return (
        "From: Mail Delivery System <MAILER-DAEMON@smtp.cern.ch>\r\n"
        "To: dast-desk@cern.ch\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@smtp.cern.ch>\r\n"
        "Date: Mon, 5 Mar 2018 10:00:00 +0100\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/plain\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered to "
        f"{recipient}.\r\n"
        f"--{boundary}\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; smtp.cern.ch\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        "Action: failed\r\n"
        "Status: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        "From: ATLAS DAST <dast-desk@cern.ch>\r\n"
        f"To: {recipient}\r\n"
        "Subject: [DAST-1] Re: something\r\n"
        f"Message-ID: {original_message_id}\r\n"
        "\r\n"
        f"--{boundary}--\r\n"
    ).encode()
