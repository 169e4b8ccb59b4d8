"""critbench's one registry mechanism (stdlib only): lazy ``module:attr`` references.

critbench has four kinds of named, pluggable things, each held by one :class:`Registry`:

==============  ===============================  ===============================
kind            registry                         entry-point group
==============  ===============================  ===============================
solver          :mod:`harness.solvers.registry`  ``critbench.solvers``
case            :mod:`cases.registry`            ``critbench.cases``
certificate     :mod:`cases.registry`            ``critbench.certificates``
experiment      :mod:`harness.reproduce._registry` ``critbench.experiments``
==============  ===============================  ===============================

A registry maps a name to a *reference* ``"package.module:attr"``: built-ins are declared
as such strings (or, for cases and their certificates, read from the case modules' files by
:mod:`cases._discover`), so listing names imports nothing, and an object is imported the first
time it is used (then cached).  Third-party packages add names through their
entry-point group (``[project.entry-points."critbench.cases"]`` in ``pyproject.toml``);
a built-in name always wins.  Every failure is one line naming what was asked for:
an unknown name lists the valid ones, a plug-in whose import needs a package that is not
installed says so, and a plug-in with a syntax error names the file and line.

The module also holds :func:`lazy_exports`, the one PEP 562 helper with which
``harness``, ``cases`` and ``harness.solvers`` re-export names without importing JAX at
import time.

This module lives in ``cases/`` only because ``cases`` may not import ``harness`` (folders
import only downward, and ``cases/`` is the bottom floor) while ``harness`` may import
``cases``; it imports nothing of either.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["RegistryError", "Registry", "load_ref", "lazy_exports"]


class RegistryError(ValueError):
    """A name or ``module:attr`` reference that cannot be resolved (one-line message)."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def load_ref(ref: str, *, what: str, error: type[Exception] = RegistryError) -> Any:
    """Import ``"module:attr"`` (``attr`` may be dotted; ``"module"`` alone gives the module).

    Args:
        ref: the reference.
        what: how the failure message names the thing, e.g. ``"solver 'mypkg:Finder'"``.
        error: the exception class raised (with a one-line message, never chained).

    Raises:
        error: the module does not exist; it imports a package that is not installed
            ("a missing dependency of the plug-in"); it has a syntax error (file and line);
            it raised while importing; or it lacks ``attr``.
    """
    mod, _, attr = ref.partition(":")
    if not mod or (":" in ref and not attr):
        raise error(f"{what}: expected 'module:attr', got {ref!r}") from None
    try:
        obj: Any = importlib.import_module(mod)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (mod == missing or mod.startswith(missing + ".")):
            raise error(f"{what}: no module named {missing!r}") from None
        raise error(f"{what}: importing {mod} failed: No module named {missing!r} "
                    f"(a missing dependency of the plug-in)") from None
    except SyntaxError as exc:
        raise error(f"{what}: syntax error in {exc.filename}, line {exc.lineno}: {exc.msg}") from None
    except Exception as exc:  # a plug-in that raises at import: one line, no traceback
        raise error(f"{what}: importing {mod} failed: {type(exc).__name__}: {_first_line(exc)}") from None
    for part in attr.split(".") if attr else ():
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise error(f"{what}: module {mod!r} has no attribute {attr!r}") from None
    return obj


class Registry:
    """Names -> objects, loaded lazily from ``module:attr`` references.

    Args:
        kind: singular noun used in messages (``"solver"``).
        group: the entry-point group (``"critbench.solvers"``).
        builtins: ``name -> "module:attr"`` of the built-ins, or a function returning that
            table, called once, on first use (nothing is imported here).
        error: the kind's exception class (a one-line message).
        validate: optional ``validate(name, obj) -> obj`` applied once when an entry
            is loaded (e.g. "a case entry point must name a ``CaseSpec``").
    """

    def __init__(self, kind: str, group: str, builtins: Mapping[str, str] | Callable[[], Mapping[str, str]], *,
                 error: type[Exception] = RegistryError,
                 validate: Callable[[str, Any], Any] | None = None) -> None:
        self.kind = kind
        self.group = group
        self.error = error
        self._builtins_of = builtins if callable(builtins) else None
        self._builtin_table: dict[str, str] | None = None if callable(builtins) else dict(builtins)
        self._registered: dict[str, Any] = {}  # name -> object or "module:attr" (in-process registration)
        self._plugins: dict[str, str] | None = None  # entry points, scanned once
        self._loaded: dict[str, Any] = {}
        self._validate = validate

    # -- names -------------------------------------------------------------------
    @property
    def _builtins(self) -> dict[str, str]:
        if self._builtin_table is None:
            assert self._builtins_of is not None
            self._builtin_table = dict(self._builtins_of())
        return self._builtin_table

    def _entry_points(self) -> dict[str, str]:
        if self._plugins is None:
            found: dict[str, str] = {}
            for ep in importlib.metadata.entry_points(group=self.group):
                found.setdefault(ep.name, ep.value)
            self._plugins = found
        return self._plugins

    def names(self) -> list[str]:
        """Every name, sorted: built-ins, in-process registrations and entry points (imports nothing)."""
        return sorted({*self._builtins, *self._registered, *self._entry_points()})

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._builtins or name in self._registered
                                          or name in self._entry_points())

    def is_registered_here(self, name: str) -> bool:
        """Whether ``name`` was registered by this process (:meth:`register`), not shipped or installed."""
        return isinstance(name, str) and name in self._registered

    def is_builtin(self, name: str) -> bool:
        return name in self._builtins

    def reference(self, name: str) -> str | None:
        """The ``module:attr`` a name loads from (``None`` for an object registered in-process)."""
        for table in (self._builtins, self._registered, self._entry_points()):
            if name in table:
                ref = table[name]
                return ref if isinstance(ref, str) else None
        return None

    def unknown(self, name: str, hint: str = "") -> Exception:
        """The one-line error for an unknown ``name`` (lists the valid names)."""
        return self.error(f"unknown {self.kind} {name!r}; valid {self.kind}s: {', '.join(self.names()) or '(none)'}"
                          + hint)

    # -- objects -----------------------------------------------------------------
    def register(self, name: str, obj: Any) -> None:
        """Register ``obj`` (or a ``"module:attr"`` string) under ``name`` in this process;
        it replaces an earlier registration and shadows an entry point, never a built-in."""
        if name in self._builtins:
            raise self.error(f"{self.kind} {name!r} is built in; choose another name")
        self._registered[name] = obj
        self._loaded.pop(name, None)

    def get(self, name: str) -> Any:
        """The object registered as ``name`` (imported on first use).

        Raises:
            error: unknown name (one line listing the valid ones) or a failed import.
        """
        if name in self._loaded:
            return self._loaded[name]
        if name in self._builtins:
            ref: Any = self._builtins[name]
        elif name in self._registered:
            ref = self._registered[name]
        elif name in self._entry_points():
            ref = self._entry_points()[name]
        else:
            raise self.unknown(name) from None
        if isinstance(ref, str):
            origin = "" if name in self._builtins or name in self._registered else f" (entry point of {self.group})"
            obj = load_ref(ref, what=f"{self.kind} {name!r}{origin}", error=self.error)
        else:
            obj = ref
        if self._validate is not None:
            obj = self._validate(name, obj)
        self._loaded[name] = obj
        return obj

    def items(self) -> Iterable[tuple[str, Any]]:
        """``(name, object)`` for every name, sorted (imports each)."""
        return [(n, self.get(n)) for n in self.names()]

    def reset(self) -> None:
        """Forget loaded objects, in-process registrations and the entry-point scan (tests)."""
        self._registered.clear()
        self._plugins = None
        self._loaded.clear()


def lazy_exports(module_name: str, table: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """PEP 562 lazy re-exports: ``__getattr__, __dir__ = lazy_exports(__name__, {"Name": "pkg.mod"})``.

    ``pkg.Name`` imports ``pkg.mod`` on first access, so importing the package stays cheap
    (no JAX) until a name that needs JAX is used.  The value is looked up in ``pkg.mod`` on
    every access (a ``sys.modules`` hit, ~1 us), not cached in the package, so a module that
    is re-imported (``importlib.reload``, pytester's ``sys.modules`` snapshots) is seen as it is.
    """

    def __getattr__(name: str) -> Any:
        mod = table.get(name)
        if mod is None:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        return getattr(importlib.import_module(mod), name)

    def __dir__() -> list[str]:
        return sorted({*table, *vars(sys.modules[module_name])})

    return __getattr__, __dir__
