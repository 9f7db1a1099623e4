"""All the desk's mail, in and out, in one room.

Pure (no database): ``imap`` (the IMAP session), ``parse`` and ``stream`` (a mail, whole or
from a file), ``mime``, ``charsets``, ``headers``, ``quotes``, ``noise``, ``html`` (the
sanitiser), ``fingerprint``, ``thread`` (which ticket a mail belongs to) and ``sources``.

Writing: ``fetch`` (the mailbox's high-water mark, streaming of big mail) hands stored raw
mail to ``intake``, which files it through ``batch`` (parse, thread, open or add, in
batches) with ``mailstore`` (raw mail and attachments) and ``duplicates``; ``archive``
imports a list archive by the same rules. ``outbox``: every mail the desk sends, a row first.
"""
