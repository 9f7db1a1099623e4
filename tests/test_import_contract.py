"""The import contract (pyproject.toml, [tool.importlinter]; the README draws it) holds:
the apps depend one way, nothing but dast imports grid or reports, the product imports no
development tool, and no app has an import cycle inside it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_lint_imports_finds_every_contract_kept():
    done = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_contract_covers_every_python_package_of_the_repository():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    packages = {
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in {"tests", "benchmarks"}
    }
    assert set(config["root_packages"]) == packages
    layered = set()
    contracts = {c["id"]: c for c in config["contracts"]}
    for layer in contracts["layers"]["layers"]:
        layered |= {name.strip() for name in layer.split("|")}
    assert layered == packages - {"tools"}
    assert set(contracts["acyclic"]["ancestors"]) == packages - {"tools"}
