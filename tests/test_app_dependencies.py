"""The apps depend on each other one way only (STYLE.md): tickets <- shifts <- escalation
<- grid and reports, which nothing but dast imports (and dast imports no report module)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("tickets", "shifts", "escalation", "grid", "reports", "accounts", "retention", "dast")
# What each app may import from the others. `dast` wires everything and may use all.
ALLOWED = {
    "tickets": set(),
    "shifts": {"tickets"},
    "escalation": {"tickets", "shifts"},
    "grid": {"tickets", "shifts", "escalation"},
    "reports": {"tickets", "shifts", "escalation"},
    # Single sign-on and the audit trail: teams and roles, the client address; the models
    # it audits it names by label (AUDIT_CONFIG_MODELS), importing none of their apps.
    "accounts": {"tickets"},
    # Retention works on the tickets and writes each run to the audit trail.
    "retention": {"tickets", "accounts"},
    # dast wires the apps by name (settings, URL includes) and imports no report module.
    "dast": {"tickets", "shifts", "escalation", "grid", "accounts"},
}


def imported_apps(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & set(APPS)
    return found


def test_the_checker_sees_a_forbidden_import():
    assert imported_apps("from shifts.selectors import on_duty\nimport escalation.models") == {
        "shifts",
        "escalation",
    }


@pytest.mark.parametrize("app", APPS)
def test_an_app_imports_only_the_apps_below_it(app):
    offending = []
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for other in imported_apps(path.read_text()) - {app} - ALLOWED[app]:
            offending.append(f"{path.relative_to(ROOT)} imports {other}")
    assert offending == []
