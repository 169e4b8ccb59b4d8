"""Test helpers for critical-point finders: assert that a solver finds certified ground truth.

The central helper is :func:`assert_finds_ground_truth`::

    from harness.testing import assert_finds_ground_truth

    def test_my_solver_on_the_quartic():
        assert_finds_ground_truth("mypkg.solvers:MySolver", "quartic", runs=8)

It draws ``runs`` initial points exactly as the runner does
(:func:`harness.run.initial_points.initial_points`, so ``critbench run --seed S`` starts
from the same points), solves them in one batch, scores every final point with
:func:`harness.scoring.judge.score_run` at the thesis thresholds (critical:
``||grad L||^2 < 1e-10``; index: eigenvalues ``< -1e-5``) and fails with one
readable :class:`AssertionError` listing every run that did not reach a
certified class: its outcome, solver status, ``||grad L||^2``, loss and index
errors, the matched class, and the seed and run index to reproduce it.

Nothing is written to disk.  Ground truth comes from the case (a certified
closed form), never from the solver under test.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["GroundTruthFailure", "assert_finds_ground_truth", "resolve_case", "resolve_solver", "run_records",
           "run_is_good"]

#: Default iteration budget (the thesis's Newton-MR budget).
DEFAULT_MAX_ITER = 500


class GroundTruthFailure(AssertionError):
    """Raised by :func:`assert_finds_ground_truth`; ``records`` holds the scored runs."""

    def __init__(self, message: str, records: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.records = records


def resolve_case(case: Any, case_params: Mapping[str, Any] | None = None) -> Any:
    """A :class:`cases.Case` from a case, a registered name or ``module:attr``.

    ``module:attr`` may name a ``Case`` instance or a factory returning one
    (called with ``case_params``).
    """
    from cases import Case, get_case

    params = dict(case_params or {})
    if isinstance(case, Case):
        if params:
            raise ValueError("case_params given with a Case instance; build the case with them instead")
        return case
    if not isinstance(case, str):
        raise TypeError(f"case must be a Case, a registered name or 'module:attr', got {type(case).__name__}")
    if ":" in case:
        import importlib

        mod, _, attr = case.partition(":")
        obj: Any = importlib.import_module(mod)
        for part in attr.split("."):
            obj = getattr(obj, part)
        obj = obj if isinstance(obj, Case) else obj(**params)
        if not isinstance(obj, Case):
            raise TypeError(f"{case!r} did not produce a cases.Case")
        return obj
    return get_case(case, **params)


def resolve_solver(solver: Any, solver_options: Mapping[str, Any] | None = None) -> Any:
    """A solver from an instance, a registered name or ``module:attr`` (see ``get_solver``)."""
    from harness.solvers import Solver, get_solver

    opts = dict(solver_options or {})
    if isinstance(solver, str):
        return get_solver(solver, **opts)
    if isinstance(solver, Solver) and not isinstance(solver, type):
        if opts:
            raise ValueError("solver_options given with a solver instance; construct it with them instead")
        return solver
    if callable(solver):  # a solver class / factory
        out = solver(**opts)
        if not isinstance(out, Solver):
            raise TypeError(f"{solver!r} did not produce a solver (needs 'name' and 'solve')")
        return out
    raise TypeError(f"solver must be a solver, a registered name or 'module:attr', got {type(solver).__name__}")


def run_records(
    solver: Any,
    case: Any,
    *,
    runs: int = 8,
    seed: int = 0,
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = 1e-10,
    case_params: Mapping[str, Any] | None = None,
    solver_options: Mapping[str, Any] | None = None,
    theta0: np.ndarray | None = None,
    critical_tol: float | None = None,
) -> list[dict[str, Any]]:
    """Solve ``runs`` runs in one batch and return their scored records (no store).

    Each record has the outcome fields of :func:`harness.scoring.judge.score_run` plus
    ``case``, ``case_params``, ``solver``, ``seed``, ``run_index``, ``status``,
    ``n_iter``, ``hvps``, ``grads`` and ``theta0`` (a list).  ``theta0`` (shape
    ``(runs, dim)``) overrides the runner's initial points.
    """
    from cases._core import CRITICAL_GRAD_SQ
    from harness.run.cell import CaseRef, Points, SolverRef, resolve
    from harness.run.runner import run

    c = resolve_case(case, case_params)
    if theta0 is None:
        if not (isinstance(runs, int) and runs >= 1):
            raise ValueError(f"runs must be an integer >= 1, got {runs!r}")
        from harness.run.initial_points import initial_points

        theta0 = initial_points(c, seed, range(runs))
    theta0 = np.atleast_2d(np.asarray(theta0, dtype=np.float64))
    # The solver runs in a worker process (harness.run.pool): a name or ``module:attr`` is
    # loaded there, never here; an object is pickled to it.  Points are scored here, against a
    # case the solver never held: rebuilt from the same name and parameters, or unpickled afresh.
    case_ref = (CaseRef(case, dict(case_params or {})) if isinstance(case, str) and ":" not in case
                else CaseRef(c.name, blob=_pickle(c)))
    if isinstance(solver, str):
        solver_ref = SolverRef(solver, dict(solver_options or {}))
    else:
        s = resolve_solver(solver, solver_options)
        solver_ref = SolverRef(_solver_label(solver, s), blob=_pickle(s))
    points = Points(case_ref, solver_ref, theta0, seed, max_iter=max_iter, tol=tol, record_theta0=True,
                    score_options={"critical_tol": CRITICAL_GRAD_SQ if critical_tol is None else critical_tol})
    # runs 0..n-1 of ``seed``: exactly the runner's run indices for drawn points.
    return run((resolve(points, backend=_backend()),), None, _backend())[0]


def _pickle(obj: Any) -> bytes:
    import cloudpickle

    return cloudpickle.dumps(obj)


def _backend() -> Any:
    from harness.run.pool import shared_pool

    return shared_pool(1)


def run_is_good(rec: Mapping[str, Any], *, require_correct_index: bool = True) -> bool:
    """Whether a record reached a certified class: critical, matched, loss (and index) right."""
    from harness.scoring.judge import loss_matches

    if rec.get("outcome") != "critical" or rec.get("matched_class") is None:
        return False
    if require_correct_index:
        return rec.get("correct") is True
    return loss_matches(rec.get("final_loss"), rec.get("class_loss"))


def assert_finds_ground_truth(
    solver: Any,
    case: Any,
    *,
    runs: int = 8,
    seed: int = 0,
    min_success: float = 0.75,
    require_correct_index: bool = True,
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = 1e-10,
    case_params: Mapping[str, Any] | None = None,
    solver_options: Mapping[str, Any] | None = None,
    theta0: np.ndarray | None = None,
    expect_class: str | Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Assert that ``solver`` reaches certified critical points of ``case`` often enough.

    A run *succeeds* when its final point is critical (``||grad L||^2 < 1e-10``,
    recomputed by the scorer), lies in a certified class (``ground_truth.match``),
    its loss equals the class loss (relative ``1e-6``) and, with
    ``require_correct_index``, its index count equals the class's; with
    ``expect_class`` also the matched class label must be one of those given.

    Args:
        solver: a solver instance, registered name, or ``module:attr``.
        case: a ``Case``, registered name, or ``module:attr``.
        runs, seed: initial points ``harness.run.initial_points.initial_points(case, seed, range(runs))``.
        min_success: required fraction of successful runs, in ``[0, 1]``.
        require_correct_index: also require the certified index count.
        max_iter, tol: the solver's budget and stopping tolerance.
        case_params, solver_options: passed to the registries for names.
        theta0: explicit initial points ``(runs, dim)`` (overrides ``runs``/``seed``).
        expect_class: label(s) of the class(es) the runs must reach.

    Returns:
        The scored records (one per run).

    Raises:
        GroundTruthFailure: (an ``AssertionError``) naming the failing runs.
        ValueError: the case has no certified ground truth, or bad arguments.
    """
    if not 0.0 <= float(min_success) <= 1.0:
        raise ValueError(f"min_success must be in [0, 1], got {min_success!r}")
    c = resolve_case(case, case_params)
    if c.ground_truth is None or not c.ground_truth.classes:
        raise ValueError(f"case {c.name!r} has no certified ground truth to test against")
    s = solver if isinstance(solver, str) else resolve_solver(solver, solver_options)
    recs = run_records(s, c, runs=runs, seed=seed, max_iter=max_iter, tol=tol, theta0=theta0,
                       solver_options=solver_options if isinstance(solver, str) else None)
    wanted = None if expect_class is None else ({expect_class} if isinstance(expect_class, str) else set(expect_class))
    good = [run_is_good(r, require_correct_index=require_correct_index)
            and (wanted is None or r.get("matched_class") in wanted) for r in recs]
    n, k = len(recs), sum(good)
    if k >= math.ceil(float(min_success) * n - 1e-9):
        return recs
    label = _solver_label(solver, s)
    lines = [
        f"{label} reached certified ground truth of case {c.name!r} {_params(c.params)} in {k}/{n} runs "
        f"({k / n:.0%}), required {float(min_success):.0%}"
        + (" (index checked)" if require_correct_index else " (index not checked)")
        + (f", classes {sorted(wanted)}" if wanted else "") + "; failing runs:"
    ]
    for r, ok in zip(recs, good):
        if not ok:
            lines.append("  " + describe_run(r))
    lines.append(
        f"reproduce: harness.run.initial_points.initial_points(case, seed={seed}, indices=[run]) or "
        f"`critbench run --case {c.name} --solver {label if isinstance(solver, str) else '<solver>'} "
        f"--seed {seed} --runs {n} --max-iter {max_iter} --out DIR`"
        if theta0 is None else "reproduce: the given theta0 rows (record['theta0'])"
    )
    raise GroundTruthFailure("\n".join(lines), recs)


def describe_run(r: Mapping[str, Any]) -> str:
    """One line: run index, seed, outcome, status, ``||grad||^2``, class and errors."""
    return (
        f"run {r.get('run_index')} (seed {r.get('seed')}): outcome={r.get('outcome')} status={r.get('status')} "
        f"iters={r.get('n_iter')} |grad|^2={_g(r.get('final_grad_norm_sq'))} loss={_g(r.get('final_loss'))} "
        f"{'class' if r.get('outcome') == 'critical' else 'nearest class'}={r.get('matched_class')} loss_err={_g(r.get('loss_error'))} "
        f"index={r.get('index_count')} (certified {r.get('class_index_count')}, err {r.get('index_error_count')})"
    )


def _g(x: Any) -> str:
    return "None" if x is None else f"{float(x):.3g}"


def _params(params: Mapping[str, Any]) -> str:
    return "(" + ", ".join(f"{k}={v}" for k, v in params.items()) + ")" if params else "(defaults)"


def _solver_label(given: Any, solver: Any) -> str:
    if isinstance(given, str):
        return given
    name = str(getattr(solver, "name", type(solver).__name__))
    return f"{name} ({type(solver).__qualname__})"
