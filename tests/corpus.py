"""Where the real-world mail corpus is: ``DAST_MAIL_CORPUS``, else ``shared/mail-corpus``
beside the checkout (as on the project's machines), else the machines' fixed /work/shared."""

from __future__ import annotations

import os
from pathlib import Path


def _corpus() -> Path:
    if os.environ.get("DAST_MAIL_CORPUS"):
        return Path(os.environ["DAST_MAIL_CORPUS"])
    beside = Path(__file__).resolve().parents[2] / "shared" / "mail-corpus"
    fixed = Path("/work/shared/mail-corpus")
    return beside if beside.is_dir() or not fixed.is_dir() else fixed


CORPUS = _corpus()
