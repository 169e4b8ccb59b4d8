"""Detect a user's own ``cases``/``harness`` folder that shadows critbench's packages (stdlib only).

critbench ships two top-level packages, ``harness`` and ``cases``, side by side.  A
project with its own ``cases/`` package (or ``cases.py``) earlier on ``sys.path`` (the
working directory under ``python -m`` or ``pytest``) would be imported instead, and the
user would see ``ImportError: cannot import name 'Case' from 'cases'``.  This module
finds the shadowing folder *without importing it* (:func:`importlib.util.find_spec`)
and says so in one line; ``harness/__init__.py``, ``harness.cli.main`` and the pytest
plugin's fixtures use it.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: The directory that holds critbench's ``harness`` and ``cases`` packages.
HOME = Path(__file__).resolve().parent.parent


class ShadowedPackageError(ImportError):
    """critbench's ``cases``/``harness`` package is shadowed by another folder (one-line message)."""


def _location(package: str) -> Path | None:
    mod = sys.modules.get(package)
    origin = getattr(mod, "__file__", None) if mod is not None else None
    if mod is None:
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            return None
        if spec is None:
            return None
        origin = spec.origin
        if origin is None and spec.submodule_search_locations:  # a namespace package
            return Path(next(iter(spec.submodule_search_locations)))
    if origin is None:
        return None
    path = Path(origin)
    return path.parent if path.name == "__init__.py" else path


def shadowing_message(package: str = "cases") -> str | None:
    """``None`` if ``import package`` loads critbench's own; else the one-line explanation."""
    where = _location(package)
    if where is None:
        return None
    try:
        ours = where.resolve() == (HOME / package).resolve()
    except OSError:
        ours = False
    if ours:
        return None
    return (f"the folder {where} shadows critbench's {package!r} package (it is first on sys.path); "
            "rename it or run from another directory")


def check_not_shadowed(*packages: str) -> None:
    """Raise :class:`ShadowedPackageError` (one line) if any of ``packages`` (default ``cases``) is shadowed."""
    for package in packages or ("cases",):
        msg = shadowing_message(package)
        if msg is not None:
            raise ShadowedPackageError(msg)


def failing_exports(module_name: str, table: Any) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Stand-in for :func:`cases._registry.lazy_exports` when ``cases`` is shadowed: every
    re-exported name raises :class:`ShadowedPackageError` naming the shadowing folder."""

    def __getattr__(name: str) -> Any:
        if name in table:
            check_not_shadowed("cases")
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(table)

    return __getattr__, __dir__
