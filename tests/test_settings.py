import subprocess

import pytest

from dast.env import SettingError, env_bool, env_int, env_list, env_str
from tests.procs import PYTHON, ROOT, child_env


def test_a_missing_required_setting_names_the_variable():
    with pytest.raises(SettingError, match="SECRET_KEY must be set"):
        env_str("SECRET_KEY", environ={})


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("Yes", True), ("off", False)])
def test_booleans_accept_the_usual_spellings(raw, expected):
    assert env_bool("DEBUG", False, environ={"DEBUG": raw}) is expected


def test_a_boolean_that_is_not_one_fails_loudly():
    with pytest.raises(SettingError, match="DEBUG='maybe' is not a boolean"):
        env_bool("DEBUG", False, environ={"DEBUG": "maybe"})


def test_an_integer_below_its_minimum_is_refused():
    with pytest.raises(SettingError, match="EMAIL_PORT=0 must be at least 1"):
        env_int("EMAIL_PORT", 25, minimum=1, environ={"EMAIL_PORT": "0"})
    with pytest.raises(SettingError, match="is not an integer"):
        env_int("EMAIL_PORT", 25, environ={"EMAIL_PORT": "twenty"})


def test_a_list_with_an_empty_item_is_refused():
    assert env_list("ALLOWED_HOSTS", environ={"ALLOWED_HOSTS": "a.org, b.org"}) == [
        "a.org",
        "b.org",
    ]
    with pytest.raises(SettingError, match="empty item"):
        env_list("ALLOWED_HOSTS", environ={"ALLOWED_HOSTS": "a.org,,b.org"})


def _manage(args, **env):
    return subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=child_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x7Vq2mJb9Lr4Tt8Wc1Zp6Hs3Nd5Kf0Ye2Ua7Gi9Oq4Rw1Xe8Cv3Bn6Ml2Pk5Jh7",
    "ALLOWED_HOSTS": "dast.example.org",
    "DATABASE_URL": "postgres://dast:pw@127.0.0.1:1/dast",
    "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
    "SECURE_SSL_REDIRECT": "1",
}


def test_production_settings_pass_the_deployment_checks_without_warnings():
    done = _manage(["check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "no issues" in done.stdout


def test_production_without_a_secret_key_does_not_start():
    env = child_env(**PRODUCTION)
    del env["SECRET_KEY"]
    done = subprocess.run(
        [PYTHON, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "SECRET_KEY must be set" in done.stderr


def test_an_unsupported_database_url_is_refused_at_start():
    done = _manage(["check"], **{**PRODUCTION, "DATABASE_URL": "mysql://u:p@127.0.0.1/dast"})
    assert done.returncode != 0
    assert "DATABASE_URL" in done.stderr
    assert "not supported" in done.stderr
