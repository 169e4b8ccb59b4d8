"""Solver registry: built-in names, ``module:attr`` references and the
``critbench.solvers`` entry-point group.

A registered item is a *factory*: a callable ``factory(**options) -> Solver``
(a solver class is such a factory).  :func:`get_solver` validates the name and
the options and raises :class:`SolverError` with a one-line message.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from ._base import Solver, SolverOptionError

ENTRY_POINT_GROUP = "critbench.solvers"


class SolverError(ValueError):
    """Unknown solver name or invalid options (one-line message)."""


@dataclasses.dataclass(frozen=True)
class SolverSpec:
    name: str
    factory: Callable[..., Any]
    description: str
    builtin: bool = True

    def option_defaults(self) -> dict[str, Any]:
        if dataclasses.is_dataclass(self.factory):
            out = {}
            for f in dataclasses.fields(self.factory):
                if f.default is not dataclasses.MISSING:
                    out[f.name] = f.default
                elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                    out[f.name] = f.default_factory()  # type: ignore[misc]
            return out
        try:
            sig = inspect.signature(self.factory)
        except (TypeError, ValueError):
            return {}
        return {k: p.default for k, p in sig.parameters.items() if p.default is not inspect.Parameter.empty}


_REGISTRY: dict[str, SolverSpec] = {}


def register_solver(name: str, factory: Callable[..., Any], description: str = "", *, builtin: bool = False) -> None:
    """Register a solver factory under ``name``."""
    _REGISTRY[name] = SolverSpec(name, factory, description or (inspect.getdoc(factory) or "").split("\n")[0], builtin)


def _load_entry_points() -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _REGISTRY:
            continue
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must not break the tool
            raise SolverError(f"solver plugin {ep.name!r} ({ep.value}) failed to load: {exc}") from None
        register_solver(ep.name, obj, builtin=False)


_BUILTIN = {
    "newton-mr": ("harness.solvers.newton_mr", "NewtonMR"),
    "damped-newton": ("harness.solvers.damped_newton", "DampedNewton"),
    "gnm": ("harness.solvers.gnm", "GNM"),
    "btls-gnm": ("harness.solvers.gnm", "BTLSGNM"),
    "exact-newton": ("harness.solvers.exact_newton", "ExactNewton"),
    "pinv-newton": ("harness.solvers.exact_newton", "PseudoInverseNewton"),
}
_loaded = False


def _load_builtin() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name, (mod, attr) in _BUILTIN.items():
        try:
            cls = getattr(importlib.import_module(mod), attr)
        except (ModuleNotFoundError, AttributeError):  # not written yet
            continue
        register_solver(name, cls, builtin=True)
    _load_entry_points()


def solver_specs() -> list[SolverSpec]:
    _load_builtin()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def solver_names() -> list[str]:
    return [s.name for s in solver_specs()]


def resolve_factory(name: str) -> Callable[..., Any]:
    """A registered name, or ``module:attr`` naming a factory or solver instance."""
    _load_builtin()
    if name in _REGISTRY:
        return _REGISTRY[name].factory
    if ":" in name:
        mod, _, attr = name.partition(":")
        # Like other `module:attr` loaders (uvicorn, gunicorn), look in the
        # working directory too: the console script's sys.path lacks it.
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.append(os.getcwd())
        try:
            obj: Any = importlib.import_module(mod)
        except ImportError as exc:
            raise SolverError(f"cannot import solver module {mod!r}: {exc}") from None
        for part in attr.split("."):
            try:
                obj = getattr(obj, part)
            except AttributeError:
                raise SolverError(f"module {mod!r} has no attribute {attr!r}") from None
        return obj
    raise SolverError(f"unknown solver {name!r}; valid solvers: {', '.join(solver_names())} (or module:attr)")


def option_defaults(name: str) -> dict[str, Any]:
    """Every option of solver ``name`` (registered or ``module:attr``) with its default:
    the type source of the CLI's parser (:mod:`harness.run.params`); ``{}`` for an instance."""
    obj = resolve_factory(name)
    if isinstance(obj, Solver) and not isinstance(obj, type):
        return {}
    return SolverSpec(name, obj, "").option_defaults()


def get_solver(name: str, **options: Any) -> Solver:
    """Build the solver ``name`` with typed ``options`` (no string coercion: command-line
    strings are parsed once, by :func:`harness.run.params.parse_assignments`, with
    :func:`option_defaults` as the type source).

    Raises:
        SolverError: unknown name, unknown option, or a value the solver rejects.
    """
    obj = resolve_factory(name)
    if isinstance(obj, Solver) and not isinstance(obj, type):
        if options:
            raise SolverError(f"solver {name!r} is an instance; it takes no options")
        return obj
    spec = SolverSpec(name, obj, "")
    defaults = spec.option_defaults()
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise SolverError(
            f"solver {name!r}: unknown option(s) {', '.join(unknown)}; valid options: {', '.join(sorted(defaults)) or '(none)'}"
        )
    try:
        solver = obj(**options)
    except (SolverOptionError, ValueError, TypeError) as exc:
        raise SolverError(f"solver {name!r}: {exc}") from None
    if not isinstance(solver, Solver):
        raise SolverError(f"{name!r} did not produce a solver (needs a 'name' and a 'solve' method)")
    return solver


def describe(spec: SolverSpec) -> Mapping[str, Any]:
    return {"name": spec.name, "description": spec.description, "builtin": spec.builtin, "options": spec.option_defaults()}
