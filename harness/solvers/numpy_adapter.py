"""Adapter for critical-point finders written in NumPy/SciPy (no JAX knowledge needed).

A plug-in author writes one function that runs from a single initial point::

    def solve_one(oracles, theta0, max_iter, tol, **options):
        ...                      # call oracles.loss(θ), oracles.grad(θ), oracles.hvp(θ, v)
        return theta_final       # or (theta_final, trace)

and wraps it, either as an instance (``NumpySolver(solve_one, name="mine")``)
or as a solver factory with the decorator :func:`numpy_solver`, whose extra
keyword-only arguments become the solver's options (so ``critbench run
--solver mypkg:mine --opt step=0.1`` works through the registry).

``oracles`` is ``problem.numpy_oracles()``: float64 NumPy callables that count
their calls; the counts become the run's ``hvps`` and ``grads`` (the harness's
portable cost measure).  The adapter, not the plug-in, decides the outcome:

* ``||grad L(theta_final)||^2 <= tol``                 -> ``CONVERGED``
* otherwise                                            -> ``MAX_ITER``
* ``FloatingPointError`` raised, or a NaN/inf final
  point, loss or gradient                              -> ``DIVERGED`` (never raises)
* any other exception, or a malformed ``theta_final``
  (wrong size, not float64) or trace                   -> the other runs of the batch
  still run; then :class:`NumpySolverError` names the solver and the first bad
  row, and carries ``row_rejections`` (``{row: ("error" | "invalid", reason)}``)
  and ``partial`` (the batch's :class:`SolveResult`, bad rows at their initial
  point), from which the runner scores the good runs and records the bad ones
  with the global run index (:func:`harness.run.worker.solver_failure`).

``solve_one`` gets its own copy of the initial point and of the options on
every run, so mutating them changes nothing the harness records.

The optional ``trace`` dict may hold, per iterate ``k = 0..n`` (entry 0 the
initial point, ``n <= max_iter``), any of the :data:`TRACE_FIELDS`
(``loss``, ``grad_norm_sq``, ``step_size``, ``r``, ... ; ``hvps``/``grads``
cumulative) and ``thetas`` (the iterates, ``(n + 1, dim)``), or just the
integer ``n_iter``.  Missing entries are filled: ``loss`` and
``grad_norm_sq`` at the initial and final iterate, cumulative ``hvps`` and
``grads`` at the final iterate; the rest is padded with NaN (floats) or -1
(ints) as :data:`TRACE_FIELDS` requires.  Without a trace, ``n_iter`` is the
number of gradient evaluations (a proxy, capped at ``max_iter``).  The
cutoff snapshots (``SNAPSHOT_CUTOFFS``) are exact when ``thetas`` is given;
otherwise the final iterate stands in for the first one below each cutoff it
meets.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from harness._format import exception_line

from ._oracles import NumpyOracles
from ._protocol import (
    CONVERGED,
    DIVERGED,
    INT_TRACE_FIELDS,
    MAX_ITER,
    SNAPSHOT_CUTOFFS,
    TRACE_FIELDS,
    Problem,
    SolveResult,
)
_EXTRA_TRACE_KEYS = frozenset({"thetas", "n_iter"})

SolveOne = Callable[..., Any]


class NumpySolverError(RuntimeError):
    """A NumPy plug-in solver failed (the message names the solver and the batch row).

    Attributes:
        row_rejections: ``{row: (outcome, reason)}`` with outcome ``"error"``
            (``solve_one`` raised) or ``"invalid"`` (malformed output).
        partial: the batch's result with the bad rows at their initial point
            (None when raised outside :meth:`NumpySolver.solve`).
    """

    def __init__(self, message: str, row_rejections: Mapping[int, tuple[str, str]] | None = None,
                 partial: SolveResult | None = None) -> None:
        super().__init__(message)
        self.row_rejections = dict(row_rejections or {})
        self.partial = partial


@dataclasses.dataclass(frozen=True)
class NumpySolver:
    """A :class:`~harness.solvers.Solver` running ``solve_one`` once per initial point.

    Attributes:
        solve_one: ``solve_one(oracles, theta0, max_iter, tol, **options)``
            returning ``theta_final`` or ``(theta_final, trace)``.
        name: the solver's name in results and reports.
        option_items: keyword options passed to ``solve_one``, as sorted
            ``(key, value)`` pairs (a tuple, so the solver stays hashable).
    """

    solve_one: SolveOne
    name: str = "numpy"
    option_items: tuple[tuple[str, Any], ...] = ()
    hfro_method: str = "none"

    def __post_init__(self) -> None:
        if not callable(self.solve_one):
            raise TypeError(f"solve_one must be callable, got {self.solve_one!r}")
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("name must be a non-empty string")
        try:  # complete the options with solve_one's defaults, so equal solvers have equal options
            defaults = {p.name: p.default for p in _option_parameters(self.solve_one)}
        except (TypeError, ValueError):
            defaults = {}
        object.__setattr__(self, "option_items", tuple(sorted({**defaults, **dict(self.option_items)}.items())))

    def options(self) -> dict[str, Any]:
        """The options passed to ``solve_one`` (JSON-friendly for the store)."""
        return dict(self.option_items)

    def solve(self, problem: Problem, theta0: np.ndarray, *, max_iter: int, tol: float) -> SolveResult:
        """Run ``solve_one`` from each row of ``theta0`` (``(batch, dim)`` or ``(dim,)``)."""
        theta0 = np.asarray(theta0, dtype=np.float64)
        if theta0.ndim == 1:
            theta0 = theta0[None, :]
        if theta0.ndim != 2 or theta0.shape[1] != problem.dim:
            raise ValueError(f"initial points must have shape (batch, {problem.dim}); got {tuple(theta0.shape)}")
        if int(max_iter) < 0 or not np.isfinite(tol) or tol < 0:
            raise ValueError(f"max_iter must be >= 0 and tol finite >= 0; got {max_iter!r}, {tol!r}")
        oracles = _oracles_for(problem)  # compiled once per problem, counters reset per run
        runs = [self._run_one(oracles, theta0[i], int(max_iter), float(tol), i) for i in range(theta0.shape[0])]
        result = _stack(runs, self.hfro_method)
        bad = {i: r["rejected"] for i, r in enumerate(runs) if r["rejected"] is not None}
        if bad:
            row = min(bad)
            raise NumpySolverError(f"solver {self.name!r} failed on batch row {row}: {bad[row][1]}", bad, result)
        return result

    # -- one initial point -------------------------------------------------
    def _run_one(self, oracles: NumpyOracles, x0: np.ndarray, max_iter: int, tol: float, index: int) -> dict:
        oracles.n_loss = oracles.n_grad = oracles.n_hvp = 0
        diverged = False
        trace: Mapping[str, Any] = {}
        theta = x0
        try:
            with np.errstate(all="ignore"):
                out = self.solve_one(oracles, x0.copy(), max_iter, tol, **copy.deepcopy(self.options()))
            theta, trace = _split_output(out)
        except FloatingPointError:
            diverged = True
        except Exception as exc:  # user code: one clear line, this run only
            return self._rejected(oracles, x0, max_iter, ("error", exception_line(exc)))
        hvps, grads = oracles.n_hvp, oracles.n_grad
        if not diverged:
            try:
                theta = _check_theta(theta, x0.shape, self.name)
                _check_trace(trace, max_iter, self.name)
            except NumpySolverError as exc:
                return self._rejected(oracles, x0, max_iter, ("invalid", str(exc)))
        thetas = None if diverged else trace.get("thetas")
        if thetas is not None:
            thetas = np.asarray(thetas, dtype=np.float64).reshape(-1, x0.size)
        # Harness evaluations of the start and final points are not charged to the solver.
        f0, g2_0 = _evaluate(oracles, x0)
        f_end, g2_end = (np.nan, np.nan) if diverged else _evaluate(oracles, theta)
        oracles.n_loss = oracles.n_grad = oracles.n_hvp = 0
        if not (np.all(np.isfinite(theta)) and np.isfinite(f_end) and np.isfinite(g2_end)):
            diverged = True
        n_iter = _n_iter(trace, grads, max_iter)
        if diverged:
            theta = _last_finite(thetas, x0)
            status = DIVERGED
        else:
            status = CONVERGED if g2_end <= tol else MAX_ITER
        tr = _build_trace(trace, n_iter, max_iter, f0, g2_0, f_end, g2_end, hvps, grads)
        snaps, snap_it = _snapshots(thetas, tr["grad_norm_sq"], theta, g2_end, n_iter, x0.size, diverged)
        return {"theta": theta, "status": status, "n_iter": n_iter, "hvps": hvps, "grads": grads,
                "trace": tr, "snapshots": snaps, "snapshot_iter": snap_it, "rejected": None}

    def _rejected(self, oracles: NumpyOracles, x0: np.ndarray, max_iter: int, why: tuple[str, str]) -> dict:
        """A placeholder row (at ``x0``) for a run that raised or returned garbage."""
        hvps, grads = oracles.n_hvp, oracles.n_grad
        oracles.n_loss = oracles.n_grad = oracles.n_hvp = 0
        tr = _build_trace({}, 0, max_iter, np.nan, np.nan, np.nan, np.nan, hvps, grads)
        C = len(SNAPSHOT_CUTOFFS)
        return {"theta": x0.copy(), "status": MAX_ITER, "n_iter": 0, "hvps": hvps, "grads": grads, "trace": tr,
                "snapshots": np.full((C, x0.size), np.nan), "snapshot_iter": np.full(C, -1, np.int64),
                "rejected": why}


_LAST_ORACLES: dict[str, tuple[Problem, NumpyOracles]] = {}


def _oracles_for(problem: Problem) -> NumpyOracles:
    """``problem.numpy_oracles()``, reused for repeated solves of the same problem
    (so a warm-up solve compiles and a timed solve does not)."""
    hit = _LAST_ORACLES.get("last")
    if hit is not None and hit[0] is problem:
        return hit[1]
    oracles = problem.numpy_oracles()
    _LAST_ORACLES["last"] = (problem, oracles)
    return oracles


def _split_output(out: Any) -> tuple[Any, Mapping[str, Any]]:
    if isinstance(out, tuple):
        if len(out) != 2 or not isinstance(out[1], Mapping):
            raise TypeError("solve_one must return theta_final or (theta_final, trace_dict)")
        return out[0], out[1]
    return out, {}


def _check_theta(theta: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    """``theta`` as a float64 vector of ``shape``; float32, integer, complex or
    object values and wrong sizes are rejected (float64 everywhere; a Python
    list of floats is fine)."""
    try:
        arr = np.asarray(theta)
    except (TypeError, ValueError) as exc:
        raise NumpySolverError(f"solver {name!r} returned theta that is not an array ({exc})") from None
    if arr.dtype != np.float64:
        raise NumpySolverError(f"solver {name!r} returned theta of dtype {arr.dtype}; expected float64")
    if arr.size != int(np.prod(shape)) or arr.ndim != 1:
        raise NumpySolverError(f"solver {name!r} returned theta of shape {arr.shape}; expected {shape}")
    return arr.reshape(shape)


def _check_trace(trace: Mapping[str, Any], max_iter: int, name: str) -> None:
    unknown = sorted(set(trace) - set(TRACE_FIELDS) - _EXTRA_TRACE_KEYS)
    if unknown:
        raise NumpySolverError(f"solver {name!r}: unknown trace key(s) {', '.join(unknown)}; valid: "
                               f"{', '.join(TRACE_FIELDS)}, thetas, n_iter")
    for key, val in trace.items():
        if key == "n_iter":
            continue
        n = len(val)
        if n > max_iter + 1:
            raise NumpySolverError(f"solver {name!r}: trace {key!r} has {n} entries; at most max_iter + 1 = "
                                   f"{max_iter + 1} allowed")


def _evaluate(oracles: NumpyOracles, theta: np.ndarray) -> tuple[float, float]:
    if not np.all(np.isfinite(theta)):
        return np.nan, np.nan
    with np.errstate(all="ignore"):
        f = oracles.loss(theta)
        g = oracles.grad(theta)
        return float(f), float(np.dot(g, g))


def _n_iter(trace: Mapping[str, Any], grads: int, max_iter: int) -> int:
    if "n_iter" in trace:
        return int(min(max(int(trace["n_iter"]), 0), max_iter))
    lengths = [len(v) for k, v in trace.items() if k != "n_iter"]
    if lengths:
        return max(lengths) - 1 if max(lengths) > 0 else 0
    return int(min(grads, max_iter))


def _last_finite(thetas: np.ndarray | None, x0: np.ndarray) -> np.ndarray:
    """The last finite iterate of the history, else the initial point."""
    if thetas is not None:
        ok = np.all(np.isfinite(thetas), axis=1)
        if ok.any():
            return thetas[np.nonzero(ok)[0][-1]].copy()
    return x0.copy()


def _build_trace(trace: Mapping[str, Any], n_iter: int, max_iter: int, f0: float, g2_0: float,
                 f_end: float, g2_end: float, hvps: int, grads: int) -> dict[str, np.ndarray]:
    T = max_iter + 1
    out: dict[str, np.ndarray] = {}
    for key in TRACE_FIELDS:
        is_int = key in INT_TRACE_FIELDS
        row = np.full(T, -1, np.int64) if is_int else np.full(T, np.nan)
        if key in trace:
            vals = np.asarray(trace[key], dtype=np.float64)
            if is_int:
                vals = np.where(np.isfinite(vals), vals, -1).astype(np.int64)
            row[: vals.size] = vals
        out[key] = row
    defaults = {"loss": (f0, f_end), "grad_norm_sq": (g2_0, g2_end), "hvps": (0, hvps), "grads": (0, grads)}
    for key, (start, end) in defaults.items():
        row, missing = out[key], (lambda v: v < 0) if key in INT_TRACE_FIELDS else np.isnan
        if key not in trace or missing(row[0]):
            row[0] = start
        if key not in trace or missing(row[n_iter]):
            row[n_iter] = end
    return out


def _snapshots(thetas: np.ndarray | None, g2_row: np.ndarray, theta: np.ndarray, g2_end: float,
               n_iter: int, dim: int, diverged: bool) -> tuple[np.ndarray, np.ndarray]:
    C = len(SNAPSHOT_CUTOFFS)
    snaps, snap_it = np.full((C, dim), np.nan), np.full(C, -1, np.int64)
    if diverged:
        return snaps, snap_it
    for c, eps in enumerate(SNAPSHOT_CUTOFFS):
        if thetas is not None:
            below = np.nonzero(g2_row[: len(thetas)] < eps)[0]
            if below.size:
                snaps[c], snap_it[c] = thetas[below[0]], below[0]
                continue
        if g2_end < eps:
            snaps[c], snap_it[c] = theta, n_iter
    return snaps, snap_it


def _stack(runs: list[dict], hfro_method: str) -> SolveResult:
    return SolveResult(
        theta=np.stack([r["theta"] for r in runs]),
        status=np.array([r["status"] for r in runs], dtype=np.int64),
        n_iter=np.array([r["n_iter"] for r in runs], dtype=np.int64),
        hvps=np.array([r["hvps"] for r in runs], dtype=np.int64),
        grads=np.array([r["grads"] for r in runs], dtype=np.int64),
        trace={k: np.stack([r["trace"][k] for r in runs]) for k in TRACE_FIELDS},
        hfro_method=hfro_method,
        snapshots=np.stack([r["snapshots"] for r in runs]),
        snapshot_iter=np.stack([r["snapshot_iter"] for r in runs]),
    )


def _option_parameters(fn: SolveOne) -> list[inspect.Parameter]:
    """The options of ``solve_one``: its parameters after the first four, all with defaults."""
    params = list(inspect.signature(fn).parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) < 4:
        raise TypeError(f"{fn.__name__}: solve_one must take (oracles, theta0, max_iter, tol, **options)")
    opts = [p for p in params[4:] if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    for p in opts:
        if p.default is inspect.Parameter.empty:
            raise TypeError(f"{fn.__name__}: option {p.name!r} needs a default value")
    return [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in opts]


def numpy_solver(fn: SolveOne | None = None, *, name: str | None = None) -> Any:
    """Decorator: turn ``solve_one`` into a solver factory ``factory(**options) -> NumpySolver``.

    The factory's signature lists ``solve_one``'s options (keyword arguments
    with defaults after ``oracles, theta0, max_iter, tol``), so the registry
    validates and type-coerces ``--opt key=value`` strings.  ``name`` defaults
    to the function name with ``_`` replaced by ``-``.  The undecorated
    function stays reachable as ``factory.solve_one``.
    """

    def wrap(f: SolveOne) -> Callable[..., NumpySolver]:
        params = _option_parameters(f)
        valid = {p.name for p in params}
        solver_name = name or f.__name__.replace("_", "-")

        def factory(**options: Any) -> NumpySolver:
            unknown = sorted(set(options) - valid)
            if unknown:
                raise TypeError(f"solver {solver_name!r}: unknown option(s) {', '.join(unknown)}; "
                                f"valid options: {', '.join(sorted(valid)) or '(none)'}")
            return NumpySolver(f, name=solver_name, option_items=tuple(options.items()))

        functools.update_wrapper(factory, f)
        factory.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        factory.solve_one = f  # type: ignore[attr-defined]
        factory.solver_name = solver_name  # type: ignore[attr-defined]
        return factory

    return wrap(fn) if fn is not None else wrap
