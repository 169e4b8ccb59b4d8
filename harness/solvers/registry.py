"""Solver registry: built-in names, ``module:attr`` references and the
``critbench.solvers`` entry-point group (one :class:`cases._registry.Registry`).

A registered item is a *factory*: a callable ``factory(**options) -> Solver``
(a solver class is such a factory).  :func:`get_solver` validates the name and
the options and raises :class:`SolverError` with a one-line message; a plug-in
whose module imports a package that is not installed is reported as a missing
dependency, not as an unknown solver.  Importing this module does not import JAX.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import sys
from collections.abc import Callable
from typing import Any

from cases._registry import Registry, RegistryError, load_ref

ENTRY_POINT_GROUP = "critbench.solvers"


class SolverError(RegistryError):
    """Unknown solver name, a plug-in that fails to import, or invalid options (one-line message)."""


@dataclasses.dataclass(frozen=True)
class SolverSpec:
    """A registered solver: ``name``, ``factory(**options) -> Solver``, one-line ``description``,
    and whether it ships with critbench (``builtin``)."""

    name: str
    factory: Callable[..., Any]
    description: str = ""
    builtin: bool = True

    def option_defaults(self) -> dict[str, Any]:
        """Every option with its default (dataclass fields, else keyword defaults of the signature)."""
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

    @property
    def dense(self) -> bool:
        """The solver's own ``dense`` declaration (:attr:`harness.solvers.IterativeSolver.dense`); ``False``
        for a plug-in that does not declare it."""
        return bool(getattr(self.factory, "dense", False))


SOLVERS = Registry(
    "solver",
    ENTRY_POINT_GROUP,
    {
        "newton-mr": "harness.solvers.newton_mr:NewtonMR",
        "damped-newton": "harness.solvers.damped_newton:DampedNewton",
        "gnm": "harness.solvers.gnm:GNM",
        "btls-gnm": "harness.solvers.gnm:BTLSGNM",
        "exact-newton": "harness.solvers.exact_newton:ExactNewton",
        "pinv-newton": "harness.solvers.exact_newton:PseudoInverseNewton",
    },
    error=SolverError,
)


def register_solver(name: str, factory: Callable[..., Any] | str, description: str = "") -> None:
    """Register a solver factory (or a ``"module:attr"`` reference) under ``name`` in this process."""
    SOLVERS.register(name, factory)
    if description:
        _DESCRIPTIONS[name] = description


_DESCRIPTIONS: dict[str, str] = {}


def _describe(factory: Any) -> str:
    return (inspect.getdoc(factory) or "").split("\n")[0]


def solver_specs(*, builtin_only: bool = False) -> list[SolverSpec]:
    """Every registered solver, or only the built-ins (then no plug-in is imported); imports each."""
    names = [n for n in SOLVERS.names() if SOLVERS.is_builtin(n) or not builtin_only]
    return [SolverSpec(n, f, _DESCRIPTIONS.get(n) or _describe(f), SOLVERS.is_builtin(n))
            for n, f in ((n, SOLVERS.get(n)) for n in names)]


def solver_names() -> list[str]:
    """Registered solver names, sorted (imports nothing)."""
    return SOLVERS.names()


def resolve_factory(name: str) -> Callable[..., Any]:
    """A registered name, or ``module:attr`` naming a factory or solver instance.

    Raises:
        SolverError: unknown name; a module that does not exist, lacks the attribute,
            has a syntax error (file and line) or needs a package that is not installed.
    """
    if name in SOLVERS:
        return SOLVERS.get(name)
    if ":" in name:
        # Like other `module:attr` loaders (uvicorn, gunicorn), look in the
        # working directory too: the console script's sys.path lacks it.
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.append(os.getcwd())
        return load_ref(name, what=f"solver {name!r}", error=SolverError)
    raise SOLVERS.unknown(name, " (or module:attr)")


def _is_instance(obj: Any) -> bool:
    from ._protocol import Solver  # JAX: only once a solver is built

    return isinstance(obj, Solver) and not isinstance(obj, type)


def option_defaults(name: str) -> dict[str, Any]:
    """Every option of solver ``name`` (registered or ``module:attr``) with its default:
    the type source of the CLI's parser (:mod:`harness.run.spec`); ``{}`` for an instance."""
    obj = resolve_factory(name)
    if _is_instance(obj):
        return {}
    return SolverSpec(name, obj).option_defaults()


def is_dense(name: str) -> bool:
    """Whether solver ``name`` declares that it forms the dense Hessian (:attr:`SolverSpec.dense`)."""
    return SolverSpec(name, resolve_factory(name)).dense


def hvps_per_iteration(solver: Any, dim: int) -> int:
    """The HVP bound per outer iteration that ``solver`` (a built solver) declares
    (:meth:`harness.solvers.IterativeSolver.hvps_per_iteration`); ``dim`` for a solver that declares none."""
    declared = getattr(solver, "hvps_per_iteration", None)
    return int(declared(dim)) if callable(declared) else int(dim)


def get_solver(name: str, **options: Any) -> Any:
    """Build the solver ``name`` with typed ``options`` (no string coercion: command-line
    strings are parsed once, by :func:`harness.run.spec.parse_assignments`, with
    :func:`option_defaults` as the type source).

    Raises:
        SolverError: unknown name, unknown option, or a value the solver rejects.
    """
    from ._protocol import Solver, SolverOptionError

    obj = resolve_factory(name)
    if _is_instance(obj):
        if options:
            raise SolverError(f"solver {name!r} is an instance; it takes no options")
        return obj
    defaults = SolverSpec(name, obj).option_defaults()
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
