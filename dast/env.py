"""Tiny helpers that read settings from the environment and fail loudly.

Used only by ``dast/settings.py``: every other module reads ``django.conf.settings``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingError(ValueError):
    """An environment variable is missing or cannot be understood."""


def _raw(environ: Mapping[str, str], name: str, default: str | None) -> str:
    value = environ.get(name)
    if value is None:
        if default is None:
            raise SettingError(f"{name} must be set in the environment")
        return default
    return value


def env_str(
    name: str, default: str | None = None, *, environ: Mapping[str, str] = os.environ
) -> str:
    return _raw(environ, name, default)


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] = os.environ) -> bool:
    value = _raw(environ, name, "1" if default else "0").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingError(f"{name}={value!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def env_int(
    name: str,
    default: int | None = None,
    *,
    minimum: int | None = None,
    environ: Mapping[str, str] = os.environ,
) -> int:
    value = _raw(environ, name, None if default is None else str(default)).strip()
    try:
        number = int(value)
    except ValueError:
        raise SettingError(f"{name}={value!r} is not an integer") from None
    if minimum is not None and number < minimum:
        raise SettingError(f"{name}={number} must be at least {minimum}")
    return number


def env_list(
    name: str, default: str | None = None, *, environ: Mapping[str, str] = os.environ
) -> list[str]:
    """A comma-separated list; blanks around items are ignored, empty items refused."""
    value = _raw(environ, name, default).strip()
    if not value:
        return []
    items = [item.strip() for item in value.split(",")]
    if any(not item for item in items):
        raise SettingError(f"{name}={value!r} has an empty item")
    return items
