"""The web process freezes what it loaded (dast/wsgi.py): the garbage collector's full
collections then walk only what requests made."""

from __future__ import annotations

import gc
import subprocess
import sys


def test_the_wsgi_entry_point_freezes_the_loaded_application():
    code = (
        "import gc; before = gc.get_freeze_count(); import dast.wsgi; "
        "print(before, gc.get_freeze_count())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    before, after = int(out[0]), int(out[1])
    assert before == 0
    assert after > 10_000  # settings, models, URL patterns and every view module
    assert gc.get_freeze_count() == 0  # this test process is left as it was
