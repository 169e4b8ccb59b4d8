"""A run specification, typed once: :class:`RunSpec` and the one typing of its values.

:class:`RunSpec` is the value every entry point (the CLI, sweep files, Python
callers, the reproductions and the test helpers) builds and hands to the
pipeline (:func:`harness.run.cell.resolve`, :func:`harness.run.runner.run`).

Typed once, whatever the source.  Values reach critbench from three places:
``KEY=VALUE`` strings on the command line (split by :func:`split_assignments`,
not typed), TOML values in sweep files, and Python values.  Constructing a
:class:`RunSpec` replaces ``case_params`` and ``solver_options`` by the
complete, typed values of :func:`type_values` (the registries' defaults
overridden by the given values, each typed like its default, against the type
information the registries expose: :meth:`cases.CaseSpec.defaults`,
:func:`harness.solvers.option_defaults`), and ``tol`` by a ``float``.  So a cell
built by the CLI, by a sweep file or in Python is the same value, with the same
case key, solver key and run ids (:mod:`harness.run.keys`; docs/design.md,
"One run id, one result"; issue 20: a sweep's ``forcing = 0`` and ``--option
forcing=0.0`` used to get different solver keys).  The registries themselves
never coerce.  A plug-in solver's options are not typed here (the judge never
imports a plug-in): its worker types them, with the same :func:`type_values`
(:meth:`harness.run.cell.SolverRef.describe`).  The module is JAX-free; the
registry look-up imports the registries only when called.  Unknown names,
unknown keys and wrongly typed values raise at construction, with one line
(``CaseError`` / ``SolverError`` / :class:`ParamError`, all ``ValueError``).

Typing rule (the default's type decides; a value may be a string or a Python value):

=================  ==================================  ==================================
default            a string                            a Python value
=================  ==================================  ==================================
``bool``           ``1/true/yes/on``, ``0/false/no/off``  ``bool`` only
``int``            :func:`int`                         ``int`` (not ``bool``)
``float``          :func:`float`                       ``int`` or ``float`` (not ``bool``) -> ``float``
``tuple``          comma-separated items               ``list`` or ``tuple`` -> ``tuple``
``str``            kept                                ``str`` only
``None``           kept                                kept (no type information)
=================  ==================================  ==================================

Items of a tuple are typed like the default's first item (``float`` for an
empty default).  NumPy scalars count as the Python scalar they hold.  So
``forcing = 0`` (TOML int), ``forcing=0.0`` (CLI) and ``forcing=0`` (Python)
all give ``0.0``; ``k = 4.0`` for an ``int`` default is an error rather than a
silent truncation, and ``True`` is never accepted as a number.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "ParamError", "RunSpec", "coerce_value", "parse_assignments", "parse_value", "split_assignments",
    "type_values", "typed_case_params", "typed_solver_options",
]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ParamError(ValueError):
    """A malformed ``KEY=VALUE``, an unknown key or a value of the wrong type (one line)."""


def parse_value(text: str, default: Any, *, key: str, owner: str) -> Any:
    """``text`` typed like ``default`` (module docstring); :class:`ParamError` if it does not parse."""
    if isinstance(default, str) or default is None:
        return text
    try:
        if isinstance(default, bool):
            low = text.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError(text)
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
        if isinstance(default, tuple):
            proto = default[0] if default else 0.0
            return tuple(parse_value(v.strip(), proto, key=key, owner=owner) for v in text.split(",") if v.strip())
    except ValueError:
        raise ParamError(f"{owner}: {key}={text!r} is not a valid {type(default).__name__}") from None
    return text


def _scalar(value: Any) -> Any:
    """A NumPy scalar as the Python scalar it holds (no NumPy import needed)."""
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy" and getattr(value, "shape", None) == ():
        return item()
    return value


def coerce_value(value: Any, default: Any, *, key: str, owner: str) -> Any:
    """``value`` (a string or a Python value) typed like ``default`` (module docstring).

    Raises:
        ParamError: the value does not fit the default's type (one line naming key and owner).
    """
    if isinstance(value, str):
        return parse_value(value, default, key=key, owner=owner)
    if default is None:
        return value
    value = _scalar(value)

    def bad() -> ParamError:
        want = type(default).__name__ + (" (a list)" if isinstance(default, tuple) else "")
        return ParamError(f"{owner}: {key}={value!r} is not a valid {want}")

    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise bad()
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value)
        raise bad()
    if isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise bad()
    if isinstance(default, tuple):
        if not isinstance(value, (list, tuple)):
            raise bad()
        proto = default[0] if default else 0.0
        try:
            return tuple(coerce_value(v, proto, key=key, owner=owner) for v in value)
        except ParamError:
            raise bad() from None
    if isinstance(default, str):
        if isinstance(value, str):
            return value
        raise bad()
    return value  # a default of another type carries no rule: kept as given


def type_values(
    given: Mapping[str, Any], defaults: Mapping[str, Any], *, owner: str, what: str = "parameter"
) -> dict[str, Any]:
    """The complete typed values: ``defaults`` overridden by ``given`` typed like them.

    The one typing step of every source (CLI strings, TOML values, Python values).
    Idempotent: typing typed values returns them unchanged.

    Args:
        given: the values given (strings or Python values), keyed by name.
        defaults: every accepted key with its default (the type source).
        owner: named in errors, e.g. ``"case 'dlae'"``.
        what: ``"parameter"`` or ``"option"`` (for messages).

    Raises:
        ParamError: unknown key (listing the valid ones) or a value of the wrong type.
    """
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ParamError(f"{owner}: unknown {what}(s) {', '.join(map(str, unknown))}; "
                         f"valid {what}s: {', '.join(sorted(defaults)) or '(none)'}")
    out = dict(defaults)
    out.update({k: coerce_value(v, defaults[k], key=k, owner=owner) for k, v in given.items()})
    return out


def split_assignments(items: Iterable[str], *, what: str = "parameter") -> dict[str, str]:
    """``["k=4", "p=2"]`` -> ``{"k": "4", "p": "2"}`` (later keys win)."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise ParamError(f"bad {what} {item!r}; expected KEY=VALUE")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def parse_assignments(
    items: Iterable[str], defaults: Mapping[str, Any], *, owner: str, what: str = "parameter"
) -> dict[str, Any]:
    """The complete typed values from command-line ``KEY=VALUE`` items (:func:`type_values`).

    Raises:
        ParamError: malformed item, unknown key (listing the valid ones) or bad value.
    """
    return type_values(split_assignments(items, what=what), defaults, owner=owner, what=what)


def typed_case_params(case: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """Case ``case``'s complete typed parameters (:func:`type_values` against
    :meth:`cases.CaseSpec.defaults`).

    Raises:
        CaseError: unknown case.  ParamError: unknown parameter or wrong type.
    """
    from cases import case_spec  # the registry (and its case modules) only when asked

    return type_values(given, case_spec(case).defaults(), owner=f"case {case!r}")


def typed_solver_options(solver: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """Solver ``solver``'s complete typed options (:func:`type_values` against
    :func:`harness.solvers.option_defaults`).

    A solver that declares no options (an instance, or a factory without
    keyword defaults) gets ``given`` back unchanged: there is nothing to type
    against, and :func:`harness.solvers.get_solver` rejects what it cannot take.

    Raises:
        SolverError: unknown solver.  ParamError: unknown option or wrong type.
    """
    from harness.solvers.registry import SOLVERS, option_defaults  # imports JAX: only when asked

    if not (SOLVERS.is_builtin(solver) or SOLVERS.is_registered_here(solver)):
        # a plug-in (module:attr, entry point) is never imported here, in the judge's process:
        # its worker types the options (harness.run.cell.SolverRef.describe)
        return dict(given)
    defaults = option_defaults(solver)
    if not defaults:
        return dict(given)
    return type_values(given, defaults, owner=f"solver {solver!r}", what="option")


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One cell of a benchmark: ``runs`` runs of ``solver`` on ``case``.

    Attributes:
        case: registered case name.
        case_params: case parameters; stored complete and typed (module docstring).
        solver: registered solver name or ``module:attr``.
        solver_options: solver options; stored complete and typed (module docstring).
        runs: number of runs (initial points) ``>= 1``.
        seed: seed of the initial points ``>= 0``.
        max_iter: iteration budget per run.
        tol: the solver's stopping tolerance on ``||grad L||^2``.
        batch_size: runs per vmapped solve (default: :func:`harness.run.plan.default_batch_size`).
        threads: blocks solved concurrently (default: see :func:`default_threads`).
    """

    case: str
    case_params: Mapping[str, Any]
    solver: str
    solver_options: Mapping[str, Any]
    runs: int
    seed: int
    max_iter: int = 500
    tol: float = 1e-10
    batch_size: int | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        def bad(name: str, cond: bool, what: str) -> None:
            if not cond:
                raise ValueError(f"{name} must be {what}, got {getattr(self, name)!r}")

        isint = lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, bool)  # noqa: E731
        bad("runs", isint(self.runs) and self.runs >= 1, "an integer >= 1")
        bad("seed", isint(self.seed) and self.seed >= 0, "an integer >= 0")
        bad("max_iter", isint(self.max_iter) and self.max_iter >= 0, "an integer >= 0")
        bad("tol", isinstance(self.tol, (int, float)) and math.isfinite(self.tol) and self.tol >= 0, "a number >= 0")
        bad("batch_size", self.batch_size is None or (isint(self.batch_size) and self.batch_size >= 1),
            "None or an integer >= 1")
        bad("threads", self.threads is None or (isint(self.threads) and self.threads >= 1),
            "None or an integer >= 1")
        object.__setattr__(self, "case_params", typed_case_params(self.case, self.case_params or {}))
        object.__setattr__(self, "solver_options", typed_solver_options(self.solver, self.solver_options or {}))
        for name, kind in (("runs", int), ("seed", int), ("max_iter", int), ("tol", float)):
            object.__setattr__(self, name, kind(getattr(self, name)))  # NumPy scalars, tol=0 -> 0.0: one key
