"""The production image holds the product and nothing of the development tools (tools/)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.procs import child_env

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())
# What pip installs: the product's packages (each app of the desk), never the tools.
PACKAGES = {
    name.rstrip("*") for name in CONFIG["tool"]["setuptools"]["packages"]["find"]["include"]
}


def test_the_dockerfile_copies_every_product_package_and_no_tools():
    copied = set()
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if match := re.match(r"COPY\s+(.+)\s+\S+$", line.strip()):
            copied |= {Path(source).parts[0] for source in match.group(1).split()}
    assert copied == PACKAGES | {"templates", "static", "pyproject.toml", "README.md", "manage.py"}
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {"tools", "tests", "benchmarks"} <= set(ignored)


def test_pip_installs_the_apps_and_not_the_tools():
    from django.conf import settings

    apps = {name.split(".")[0] for name in settings.INSTALLED_APPS}
    assert "tools" not in PACKAGES
    # Each installed package is an app of the desk, but `common`: helpers that import no app.
    assert apps >= PACKAGES - {"common"}
    assert {p.name for p in ROOT.iterdir() if (p / "apps.py").exists()} <= PACKAGES


def test_every_product_module_imports_without_the_tools():
    """What the image runs: every module of the product apps, with `tools` not importable."""
    script = """
import importlib, pkgutil, sys
sys.modules["tools"] = None  # as in the image: `import tools` raises ImportError
import django
django.setup()
count = 0
for app in ("dast", "tickets", "shifts", "escalation"):
    package = importlib.import_module(app)
    for module in pkgutil.walk_packages(package.__path__, app + "."):
        importlib.import_module(module.name)
        count += 1
print(count)
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=child_env(SECRET_KEY="image-test", DEBUG="0", ALLOWED_HOSTS="localhost"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 50
