"""Helpers shared by the benchmark modules (not benchmarks themselves)."""

from __future__ import annotations

import importlib
from typing import Any

#: The thesis's deep linear autoencoder (Sec. 3.2, Table 3.1).
THESIS_DLAE = {"k": 16, "p": 4, "n": 10000}
#: A small nonlinear field case (no ground truth), as used by the default suite.
FIELD_CASE = ("swish-mlp", {"n": 64})


def need(module: str, attr: str | None = None) -> Any:
    """Import ``module`` (and return ``module.attr``), or skip the benchmark.

    asv treats ``NotImplementedError`` raised in ``setup`` as "skipped", which
    is what a commit that predates the module or attribute should show.
    """
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise NotImplementedError(f"{module} not importable at this commit: {exc}") from None
    if attr is None:
        return mod
    try:
        return getattr(mod, attr)
    except AttributeError:
        raise NotImplementedError(f"{module}.{attr} missing at this commit") from None


def case(name: str, **params: Any) -> Any:
    """``cases.get_case(name, **params)``, or skip if the case is unknown here."""
    get_case = need("cases", "get_case")
    try:
        return get_case(name, **params)
    except ValueError as exc:  # CaseError: unknown case / parameter at this commit
        raise NotImplementedError(str(exc)) from None


def solver(name: str, **options: Any) -> Any:
    """``harness.get_solver(name, **options)``, or skip if unknown here."""
    get_solver = need("harness", "get_solver")
    try:
        return get_solver(name, **options)
    except ValueError as exc:  # SolverError
        raise NotImplementedError(str(exc)) from None


def small_params(name: str) -> dict[str, Any]:
    """The ``small_params`` of a case family (the default scorecard's instance)."""
    case_spec = need("cases", "case_spec")
    try:
        return dict(case_spec(name).small_params)
    except ValueError as exc:
        raise NotImplementedError(str(exc)) from None


def problem(c: Any) -> Any:
    Problem = need("harness", "Problem")
    return Problem(c.loss_fn, c.data, c.dim)
