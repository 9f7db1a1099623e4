"""What makes two deliveries the same mail, whatever a mailing list did to one of them.

A list relays a post with its own headers, a '[list]' tag in the subject and a footer under
the body; the copy sent straight to the desk has none of those. The fingerprint is a digest
of what both copies share: the sender, the date, the subject without bracketed tags and the
body without the list's footer, whitespace folded. Pure: no Django.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC

from tickets.mail.parse import ParsedMail

_TAG = re.compile(r"\[[^\[\]]{1,60}\]")
# Lines where a list's footer (Mailman's underscores, Google Groups' "-- You received this
# message...", Sympa's unsubscribe line) or a signature may start.
_FOOTER_LINE = re.compile(
    r"^(?:_{10,}|-- ?|You received this message|To unsubscribe|To post to this group|"
    r"Visit this group at|View this discussion on the web|For more options)",
    re.MULTILINE | re.IGNORECASE,
)
_LIST_WORDS = re.compile(
    r"unsubscribe|mailing list|listinfo|subscribed to|google groups|list archive",
    re.IGNORECASE,
)
_TAIL = 3000  # a footer is a few lines; the rest of a long body is the sender's


def content_fingerprint(parsed: ParsedMail) -> str:
    """A hex digest of sender, date, subject and body; '' when the mail has no date and no
    body, too little to tell two mails apart."""
    sender = parsed.sender.email.lower() if parsed.sender else ""
    date = parsed.date.astimezone(UTC).isoformat() if parsed.date else ""
    body = " ".join(without_list_footer(parsed.text).split())
    if not date and not body:
        return ""
    subject = " ".join(_TAG.sub(" ", parsed.subject).split()).lower()
    digest = hashlib.sha256()
    for part in (sender, date, subject, body):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


def without_list_footer(text: str) -> str:
    """The text without a footer a list appended: from the last footer-like lines upwards,
    as long as each stretch speaks of the list (or is only a separator)."""
    start = max(0, len(text) - _TAIL)
    cut = len(text)
    for match in reversed(list(_FOOTER_LINE.finditer(text, start))):
        stretch = text[match.start() : cut]
        if _LIST_WORDS.search(stretch) or not stretch.strip(" \n_-"):
            cut = match.start()
        else:
            break
    return text[:cut]
