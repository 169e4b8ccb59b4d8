"""Solver protocol, result types and the one shared iteration loop.

Every built-in solver is a small frozen dataclass (its options are fields,
validated in ``__post_init__``) with two pure methods over an explicit state
pytree, in the style of optimistix:

* ``init(fn, theta, f, g, args) -> state``
* ``step(fn, theta, f, g, state, args) -> (theta_new, state_new, StepInfo)``

where ``fn(theta, args)`` is the loss, ``f = fn(theta, args)`` and
``g = grad fn(theta, args)`` at the current iterate (computed once per iterate
by the loop, so a step never recomputes them).  The loop
(:func:`iterate`) is a single ``lax.while_loop``, ``vmap``-ed over a batch of
initial points and ``jit``-compiled once per (solver options, loss, batch
shape, budget).  It stops a run when

* ``||grad L||^2 <= tol``                    -> ``CONVERGED``
* the step leaves ``theta`` exactly unchanged -> ``STALLED`` (Alg. 13, line 11)
* a loss, gradient or iterate is NaN/inf     -> ``DIVERGED`` (the run keeps its
  last finite iterate; other runs in the batch are unaffected)
* the iteration budget is spent              -> ``MAX_ITER``

``tol = 0`` (:data:`NO_EARLY_STOP`) disables the first test: a run then uses its
whole budget (only an exactly zero gradient ends it early, where every Newton-type
step is zero anyway), which is how the thesis's Fig. 3.2 runs "run to termination"
while the snapshots still record the first iterate below each cutoff (Fig. 3.3).
``tol`` is part of the run's solver key and record (``harness.run.keys.solver_key``).

Costs are counted, not timed: one gradient per iterate (by the loop) plus what
each step reports in ``StepInfo.grads`` and ``StepInfo.hvps``.  A
Hessian-vector product is ``jvp`` of ``grad`` (forward-over-reverse), see
:func:`hvp`.

Third-party solvers need not use this loop: anything with a ``name`` and a
``solve(problem, theta0, *, max_iter, tol) -> SolveResult`` method is a solver
(see :class:`Solver`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

# Run status codes and snapshot cutoffs (shared by every solver, stored in results)
# live in the one JAX-free module harness.results.outcomes.
from harness.results.outcomes import (  # noqa: E402
    CONVERGED,
    DIVERGED,
    MAX_ITER,
    RUNNING,
    SNAPSHOT_CUTOFFS,
    STALLED,
    STATUS_NAMES,
)

from harness.jitcache.exported import ExportedJit  # noqa: E402

#: Per-iteration trace fields, each an array of shape ``(batch, max_iter + 1)``.
#: Entry ``k`` describes iterate ``k`` (entry 0 the initial point); the step
#: fields (``step_size`` .. ``hfro``) at entry ``k`` describe the step that
#: produced iterate ``k`` (NaN / -1 at entry 0).  Entries after a run stopped
#: are NaN (floats) or -1 (ints).
TRACE_FIELDS = (
    "loss",
    "grad_norm_sq",
    "step_size",
    "r",
    "r_H",
    "hfro",
    "krylov_iters",
    "krylov_flag",
    "hvps",
    "grads",
)
_INT_FIELDS = {"krylov_iters", "krylov_flag", "hvps", "grads"}

#: ``tol`` that disables the stop at ``||grad L||^2 <= tol`` (module docstring): the run uses its budget.
NO_EARLY_STOP = 0.0



class StepInfo(NamedTuple):
    """What one step reports (all scalars; use NaN / -1 for "not applicable").

    Attributes:
        step_size: the accepted step length alpha (``theta_new = theta + alpha p``).
        r: relative residual ``||H p + g|| / (||H||_F ||p|| + ||g||)`` of the
            Newton system at ``theta`` (REFERENCE.md, flatness statistics).
        r_H: relative co-kernel residual ``||H (H p + g)|| / (||H||_F ||H p + g||)``.
        hfro: the ``||H||_F`` value (or estimate) used in ``r`` and ``r_H``.
        krylov_iters: inner (MINRES-QLP) iterations used.
        krylov_flag: inner solver exit flag (see ``minres_qlp``), -1 if none.
        hvps: Hessian-vector products used by this step.
        grads: gradient evaluations used by this step (line-search trials etc.).
    """

    step_size: jax.Array
    r: jax.Array
    r_H: jax.Array
    hfro: jax.Array
    krylov_iters: jax.Array
    krylov_flag: jax.Array
    hvps: jax.Array
    grads: jax.Array

    @staticmethod
    def make(
        step_size: Any = jnp.nan,
        r: Any = jnp.nan,
        r_H: Any = jnp.nan,
        hfro: Any = jnp.nan,
        krylov_iters: Any = -1,
        krylov_flag: Any = -1,
        hvps: Any = 0,
        grads: Any = 0,
    ) -> "StepInfo":
        f = lambda x: jnp.asarray(x, dtype=jnp.float64)  # noqa: E731
        i = lambda x: jnp.asarray(x, dtype=jnp.int64)  # noqa: E731
        return StepInfo(f(step_size), f(r), f(r_H), f(hfro), i(krylov_iters), i(krylov_flag), i(hvps), i(grads))


@dataclasses.dataclass(frozen=True)
class Problem:
    """What a solver sees: a loss ``loss_fn(theta, data)`` and its size.

    ``loss_fn`` must be a pure JAX function of a flat float64 vector; ``data``
    is a pytree of arrays.  No ground truth is visible to solvers.  The runner
    hands solvers a *copy* of the case data (``harness.run.shard.isolated_data``:
    read-only NumPy leaves, fresh JAX buffers) and scores against a case it
    rebuilt itself, so a solver that writes to ``data`` only fools itself.
    """

    loss_fn: Callable[[Any, Any], Any]
    data: Any
    dim: int

    # NumPy conveniences for solvers written without JAX knowledge.
    def numpy_oracles(self) -> "NumpyOracles":
        return NumpyOracles(self)


class NumpyOracles:
    """Counting NumPy callables ``loss(theta)``, ``grad(theta)``, ``hvp(theta, v)``.

    For wrapping solvers written in NumPy/SciPy: each call is jit-compiled
    JAX underneath, returns float64 NumPy arrays, and increments the counters
    ``n_loss``, ``n_grad`` and ``n_hvp`` (the harness's portable cost measure).
    """

    def __init__(self, problem: Problem) -> None:
        fn, data = problem.loss_fn, problem.data
        loss, grad, hvp_ = _numpy_oracle_fns(fn)  # compiled once per loss function, data traced
        self._loss = lambda t: loss(t, data)
        self._grad = lambda t: grad(t, data)
        self._hvp = lambda t, v: hvp_(t, v, data)
        self.n_loss = 0
        self.n_grad = 0
        self.n_hvp = 0

    def loss(self, theta: np.ndarray) -> float:
        self.n_loss += 1
        return float(self._loss(jnp.asarray(theta, dtype=jnp.float64)))

    def grad(self, theta: np.ndarray) -> np.ndarray:
        self.n_grad += 1
        return np.asarray(self._grad(jnp.asarray(theta, dtype=jnp.float64)))

    def hvp(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        self.n_hvp += 1
        return np.asarray(self._hvp(jnp.asarray(theta, dtype=jnp.float64), jnp.asarray(v, dtype=jnp.float64)))


@functools.lru_cache(maxsize=64)
def _numpy_oracle_fns(fn: Callable[[Any, Any], Any]) -> tuple[Callable, Callable, Callable]:
    """jit-compiled ``loss(t, data)``, ``grad(t, data)``, ``hvp(t, v, data)`` of one loss
    function (the data is an argument, so a fresh copy per shard does not recompile)."""
    return (jax.jit(fn), jax.jit(jax.grad(fn)), jax.jit(lambda t, v, d: hvp(fn, t, v, d)))


def hvp(fn: Callable[[Any, Any], Any], theta: jax.Array, v: jax.Array, args: Any) -> jax.Array:
    """Hessian-vector product ``Hess fn(theta) @ v`` as ``jvp`` of ``grad`` (one HVP)."""
    g = lambda t: jax.grad(fn)(t, args)  # noqa: E731
    return jax.jvp(g, (theta,), (v,))[1]


@dataclasses.dataclass(frozen=True)
class SolveResult:
    """Host-side (NumPy) result of one batch of runs.

    Attributes:
        theta: final iterates, ``(batch, dim)``.
        status: status code per run (``CONVERGED``, ``MAX_ITER``, ``STALLED``, ``DIVERGED``).
        n_iter: iterations taken per run.
        hvps: total Hessian-vector products per run.
        grads: total gradient evaluations per run.
        trace: per-iteration arrays keyed by :data:`TRACE_FIELDS`, ``(batch, T + 1)``.
        hfro_method: how ``||H||_F`` in ``r``/``r_H`` was obtained
            (``"lanczos"``, ``"hutchinson"``, ``"exact"`` or ``"none"``).
        snapshots: ``(batch, len(SNAPSHOT_CUTOFFS), dim)``: the first iterate
            with ``||grad L||^2 < eps`` for each cutoff (NaN if never reached).
        snapshot_iter: ``(batch, len(SNAPSHOT_CUTOFFS))``: its iteration, -1 if never.
        lane_utilization: useful lane-iterations / (lanes x iterations executed)
            of the solve (None if unknown, e.g. a plugin's result).
        lanes: vmapped lanes of the solve (None if unknown).
        max_r_theta: ``(batch, dim)``: each run's maximally gradient-flat iterate (thesis
            Fig. 3.6D), the iterate ``theta_k`` whose Newton step reported the largest finite
            ``r`` of the run (``r`` of Eq. 3.36, the step *from* ``theta_k``: trace entry
            ``k + 1``); NaN if no step reported a finite ``r`` (None: not kept, e.g. a plugin).
        max_r_iter: ``(batch,)``: that ``k`` (the first one on ties), -1 if none.
        max_r_value: ``(batch,)``: that largest ``r``, NaN if none.
    """

    theta: np.ndarray
    status: np.ndarray
    n_iter: np.ndarray
    hvps: np.ndarray
    grads: np.ndarray
    trace: dict[str, np.ndarray]
    hfro_method: str = "none"
    snapshots: np.ndarray | None = None
    snapshot_iter: np.ndarray | None = None
    lane_utilization: float | None = None
    lanes: int | None = None
    max_r_theta: np.ndarray | None = None
    max_r_iter: np.ndarray | None = None
    max_r_value: np.ndarray | None = None

    @property
    def batch(self) -> int:
        return int(self.theta.shape[0])


@runtime_checkable
class Solver(Protocol):
    """The plugin protocol: anything with these two members is a solver."""

    name: str

    def solve(self, problem: Problem, theta0: np.ndarray, *, max_iter: int, tol: float) -> SolveResult: ...


class SolverOptionError(ValueError):
    """An invalid solver option (the message names the option)."""


def check_positive(name: str, value: Any, *, integer: bool = False, allow_zero: bool = False) -> None:
    """Raise :class:`SolverOptionError` unless ``value`` is a positive (int) number."""
    ok_type = isinstance(value, (int, np.integer)) if integer else isinstance(value, (int, float, np.number))
    if isinstance(value, bool) or not ok_type:
        raise SolverOptionError(f"option {name!r} must be {'an integer' if integer else 'a number'}, got {value!r}")
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise SolverOptionError(f"option {name!r} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")


def check_open_unit(name: str, value: Any, *, closed_right: bool = False) -> None:
    """Raise unless ``0 < value < 1`` (or ``<= 1`` with ``closed_right``)."""
    check_positive(name, value)
    if value > 1 or (value == 1 and not closed_right):
        raise SolverOptionError(f"option {name!r} must be in (0, 1{']' if closed_right else ')'}, got {value!r}")


class IterativeSolver:
    """Base class for built-in JAX solvers (subclass as a frozen dataclass).

    Subclasses set ``name`` (class variable) and implement :meth:`init` and
    :meth:`step`; :meth:`solve` runs them in the shared loop.
    """

    name: ClassVar[str] = "iterative"
    hfro_method: ClassVar[str] = "none"
    #: Whether the solver forms the dense ``dim x dim`` Hessian (memory ``dim^2`` per lane): the
    #: scorecard and the leaderboard suites run such a solver only up to their dense limit.  A
    #: plug-in that does not declare it counts as not dense (:func:`harness.solvers.is_dense`).
    dense: ClassVar[bool] = False

    def hvps_per_iteration(self, dim: int) -> int:
        """An upper bound on the Hessian-vector products one outer iteration takes at dimension ``dim``
        (the sweep's dry-run budget: ``runs x max_iter x`` this).  Default ``dim``: a dense Hessian's
        worth; solvers that use fewer declare their own (:func:`harness.solvers.hvps_per_iteration`)."""
        return int(dim)

    def init(self, fn: Callable, theta: jax.Array, f: jax.Array, g: jax.Array, args: Any) -> Any:
        return ()

    def step(
        self, fn: Callable, theta: jax.Array, f: jax.Array, g: jax.Array, state: Any, args: Any
    ) -> tuple[jax.Array, Any, StepInfo]:
        raise NotImplementedError

    def terminate(
        self, fn: Callable, theta: jax.Array, f: jax.Array, g: jax.Array, state: Any, info: StepInfo, args: Any
    ) -> jax.Array:
        """Optional stop hook, called after each step at the new iterate.

        Return :data:`RUNNING` to continue or a status code (e.g. ``STALLED``)
        to stop the run with that status; the loop's own tests (non-finite,
        converged, unchanged iterate) take precedence, the budget comes after.
        """
        return jnp.int64(RUNNING)

    def options(self) -> dict[str, Any]:
        """The solver's options as a JSON-friendly dict (what its records and run ids hold).

        An option declared with ``metadata={"omit_at_default": True}`` (one added after runs of
        the solver were stored, whose default keeps the old behaviour) is left out while it has
        its default, so those runs keep their ids."""
        if dataclasses.is_dataclass(self):
            return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)
                    if not (f.metadata.get("omit_at_default") and getattr(self, f.name) == f.default)}
        return {}

    def solve(self, problem: Problem, theta0: np.ndarray, *, max_iter: int, tol: float) -> SolveResult:
        return iterate(self, problem, theta0, max_iter=max_iter, tol=tol)

    def solve_refill(
        self, problem: Problem, theta0: np.ndarray, *, max_iter: int, tol: float, lanes: int,
        runs: int | None = None,
    ) -> SolveResult:
        """Solve the first ``runs`` rows of ``theta0`` in ``lanes`` lanes that refill (:func:`iterate_refill`)."""
        return iterate_refill(self, problem, theta0, max_iter=max_iter, tol=tol, lanes=lanes, runs=runs)


def supports_refill(solver: Any) -> bool:
    """Whether ``solver`` solves by the shared loop and so can refill lanes (:func:`iterate_refill`):
    an :class:`IterativeSolver` that does not override ``solve``/``solve_refill`` inconsistently."""
    if not isinstance(solver, IterativeSolver):
        return False
    cls = type(solver)
    return cls.solve is IterativeSolver.solve or cls.solve_refill is not IterativeSolver.solve_refill


def _jsonable(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


class LoopCarry(NamedTuple):
    """The shared loop's state for one run (vmapped: every field gains a leading batch axis).

    Attributes:
        k: iterations taken.
        theta, f, g: the current iterate, its loss and gradient.
        state: the solver's own state pytree.
        status: :data:`RUNNING` or the stop reason.
        hvps, grads: cumulative costs (the initial gradient counts as one).
        trace: per-iteration arrays keyed by :data:`TRACE_FIELDS`, each ``(max_iter + 1,)``.
        snap, snap_it: snapshots at :data:`SNAPSHOT_CUTOFFS` and their iterations.
        max_r_theta, max_r_iter, max_r_value: the iterate whose step reported the largest
            finite ``r`` so far, its iteration and that ``r`` (NaN, -1, NaN until one does).
    """

    k: jax.Array
    theta: jax.Array
    f: jax.Array
    g: jax.Array
    state: Any
    status: jax.Array
    hvps: jax.Array
    grads: jax.Array
    trace: dict[str, jax.Array]
    snap: jax.Array
    snap_it: jax.Array
    max_r_theta: jax.Array
    max_r_iter: jax.Array
    max_r_value: jax.Array


def _init_carry(solver: IterativeSolver, fn: Callable, theta0: jax.Array, args: Any, max_iter: int,
                tol: jax.Array) -> LoopCarry:
    """Iterate 0 of one run: loss, gradient, status, trace entry 0, snapshots, solver state."""
    vg = jax.value_and_grad(fn)
    f0, g0 = vg(theta0, args)
    g2_0 = jnp.vdot(g0, g0)
    T = max_iter + 1
    trace = {k: (jnp.full((T,), -1, jnp.int64) if k in _INT_FIELDS else jnp.full((T,), jnp.nan)) for k in TRACE_FIELDS}
    trace["loss"] = trace["loss"].at[0].set(f0)
    trace["grad_norm_sq"] = trace["grad_norm_sq"].at[0].set(g2_0)
    trace["hvps"] = trace["hvps"].at[0].set(0)
    trace["grads"] = trace["grads"].at[0].set(1)
    finite0 = jnp.isfinite(f0) & jnp.isfinite(g2_0) & jnp.all(jnp.isfinite(theta0))
    status0 = jnp.where(
        ~finite0,
        DIVERGED,
        jnp.where(g2_0 <= tol, CONVERGED, jnp.where(max_iter <= 0, MAX_ITER, RUNNING)),
    ).astype(jnp.int64)
    state0 = solver.init(fn, theta0, f0, g0, args)
    cut = jnp.asarray(SNAPSHOT_CUTOFFS, dtype=jnp.float64)
    hit0 = finite0 & (g2_0 < cut)
    snap0 = jnp.where(hit0[:, None], theta0[None, :], jnp.nan)
    snap_it0 = jnp.where(hit0, 0, -1).astype(jnp.int64)
    return LoopCarry(jnp.int64(0), theta0, f0, g0, state0, status0, jnp.int64(0), jnp.int64(1), trace, snap0,
                     snap_it0, jnp.full_like(theta0, jnp.nan), jnp.int64(-1), jnp.float64(jnp.nan))


def _step_carry(solver: IterativeSolver, fn: Callable, c: LoopCarry, args: Any, max_iter: int,
                tol: jax.Array) -> LoopCarry:
    """One iteration of one run: the solver's step, the new gradient, stop tests, trace and snapshots.

    Stop tests in order: non-finite -> DIVERGED, ``||g||^2 <= tol`` -> CONVERGED,
    unchanged iterate -> STALLED, the solver's :meth:`IterativeSolver.terminate`
    hook, budget spent -> MAX_ITER.

    The maximally flat iterate (thesis Fig. 3.6D) is updated before the step is
    judged: ``theta_k = c.theta`` replaces it when the step from it reported a finite
    ``info.r`` strictly larger than the best so far (so the first one wins ties).
    """
    vg = jax.value_and_grad(fn)
    theta_new, state_new, info = solver.step(fn, c.theta, c.f, c.g, c.state, args)
    f_new, g_new = vg(theta_new, args)
    g2 = jnp.vdot(g_new, g_new)
    hv = c.hvps + info.hvps
    gr = c.grads + info.grads + 1
    k = c.k + 1
    finite = jnp.isfinite(f_new) & jnp.isfinite(g2) & jnp.all(jnp.isfinite(theta_new))
    stalled = jnp.all(theta_new == c.theta)
    hook = jnp.asarray(solver.terminate(fn, theta_new, f_new, g_new, state_new, info, args), dtype=jnp.int64)
    status = jnp.where(
        ~finite,
        DIVERGED,
        jnp.where(g2 <= tol, CONVERGED, jnp.where(stalled, STALLED, jnp.where(
            hook != RUNNING, hook, jnp.where(k >= max_iter, MAX_ITER, RUNNING)))),
    ).astype(jnp.int64)
    vals = {
        "loss": f_new,
        "grad_norm_sq": g2,
        "step_size": info.step_size,
        "r": info.r,
        "r_H": info.r_H,
        "hfro": info.hfro,
        "krylov_iters": info.krylov_iters,
        "krylov_flag": info.krylov_flag,
        "hvps": hv,
        "grads": gr,
    }
    tr = {key: c.trace[key].at[k].set(vals[key].astype(c.trace[key].dtype)) for key in TRACE_FIELDS}
    cut = jnp.asarray(SNAPSHOT_CUTOFFS, dtype=jnp.float64)
    hit = finite & (g2 < cut) & (c.snap_it < 0)
    snap = jnp.where(hit[:, None], theta_new[None, :], c.snap)
    snap_it = jnp.where(hit, k, c.snap_it)
    better = jnp.isfinite(info.r) & (jnp.isnan(c.max_r_value) | (info.r > c.max_r_value))
    max_r_theta = jnp.where(better, c.theta, c.max_r_theta)
    max_r_iter = jnp.where(better, c.k, c.max_r_iter)
    max_r_value = jnp.where(better, info.r, c.max_r_value)
    # A diverged run keeps its last finite iterate.
    keep = lambda new, old: jnp.where(finite, new, old)  # noqa: E731
    return LoopCarry(k, keep(theta_new, c.theta), keep(f_new, c.f), keep(g_new, c.g),
                     jax.tree_util.tree_map(keep, state_new, c.state), status, hv, gr, tr, snap, snap_it,
                     max_r_theta, max_r_iter, max_r_value)


#: Per-run outputs of a solve, lockstep or refilling: the carry fields that make a :class:`SolveResult`.
_OUT_FIELDS = ("theta", "status", "k", "hvps", "grads", "trace", "snap", "snap_it", "max_r_theta", "max_r_iter",
               "max_r_value")


def _run_one(solver: IterativeSolver, fn: Callable, theta0: jax.Array, args: Any, max_iter: int, tol: jax.Array):
    """One run as a ``lax.while_loop`` (vmapped by :func:`_run_batch`)."""
    c = jax.lax.while_loop(
        lambda c: c.status == RUNNING,
        lambda c: _step_carry(solver, fn, c, args, max_iter, tol),
        _init_carry(solver, fn, theta0, args, max_iter, tol),
    )
    return tuple(getattr(c, name) for name in _OUT_FIELDS)


def _run_batch_impl(solver, fn, theta0, args, max_iter, tol):
    run = lambda t0: _run_one(solver, fn, t0, args, max_iter, tol)  # noqa: E731
    return jax.vmap(run)(theta0)


_run_batch = ExportedJit(_run_batch_impl, static_argnums=(0, 1, 4))


# --------------------------------------------------------------------------- refilling batches


def _where_lanes(mask: jax.Array, new: Any, old: Any) -> Any:
    """Per-lane select over pytrees with a leading lane axis."""
    return jax.tree_util.tree_map(lambda n, o: jnp.where(mask.reshape((-1,) + (1,) * (n.ndim - 1)), n, o), new, old)


def _refill_init_impl(solver, fn, theta0, live, args, max_iter, tol):
    """Start every lane; lanes that are not ``live`` (nothing queued for them) start stopped."""
    c = jax.vmap(lambda t: _init_carry(solver, fn, t, args, max_iter, tol))(theta0)
    return c._replace(status=jnp.where(live, c.status, CONVERGED))


def _refill_advance_impl(solver, fn, carry, args, max_iter, tol, max_steps, stop_on_finish):
    """Step every running lane until one finishes (if ``stop_on_finish``), none runs, or ``max_steps``.

    Returns the new carry, the useful lane-iterations (running lanes stepped)
    and the iterations executed (each costs every lane).
    """
    step = jax.vmap(lambda c: _step_carry(solver, fn, c, args, max_iter, tol))

    def cond(s):
        c, j, _, stop = s
        return (~stop) & (j < max_steps) & jnp.any(c.status == RUNNING)

    def body(s):
        c, j, useful, _ = s
        running = c.status == RUNNING
        c2 = _where_lanes(running, step(c), c)
        finished = jnp.any(running & (c2.status != RUNNING))
        return c2, j + 1, useful + jnp.sum(running), stop_on_finish & finished

    c, j, useful, _ = jax.lax.while_loop(cond, body, (carry, jnp.int64(0), jnp.int64(0), jnp.bool_(False)))
    return c, useful, j


def _refill_harvest_impl(solver, fn, carry, out, lane_run, done, refill, theta0_new, args, max_iter, tol):
    """Copy finished lanes' runs into ``out`` (row ``lane_run``; row -1 is a sink), start new runs in ``refill`` lanes."""
    sink = out["status"].shape[0] - 1
    rows = jnp.where(done, lane_run, sink)
    fields = {name: getattr(carry, name) for name in _OUT_FIELDS}
    out = jax.tree_util.tree_map(lambda o, v: o.at[rows].set(v), out, fields)
    fresh = jax.vmap(lambda t: _init_carry(solver, fn, t, args, max_iter, tol))(theta0_new)
    return _where_lanes(refill, fresh, carry), out


_refill_init = ExportedJit(_refill_init_impl, static_argnums=(0, 1, 5))
_refill_advance = ExportedJit(_refill_advance_impl, static_argnums=(0, 1, 4))
_refill_harvest = ExportedJit(_refill_harvest_impl, static_argnums=(0, 1, 9), donate_argnums=(3,))


def iterate_refill(
    solver: IterativeSolver,
    problem: Problem,
    theta0: np.ndarray,
    *,
    max_iter: int,
    tol: float,
    lanes: int,
    runs: int | None = None,
    max_steps: int | None = None,
) -> SolveResult:
    """Solve the first ``runs`` rows of ``theta0`` with ``lanes`` vmapped lanes that refill.

    The lanes step in lockstep (one ``vmap``-ed step per iteration) until a
    run finishes; the host then copies the finished runs into the output
    buffers and starts the next queued initial points in their lanes (all in
    compiled code with fixed shapes: one compilation per (solver, loss,
    ``lanes``, ``theta0`` rows, ``max_iter``)).  Each run executes exactly the
    same per-run computation as in :func:`iterate`, so its results, traces,
    snapshots and counts equal solving it alone (up to XLA's rounding of
    batched kernels, see ``tests/solvers/test_refill.py``).

    Rows ``runs ..`` of ``theta0`` (padding to a fixed shape, repeating the
    last real point) are not solved; their result rows copy row ``runs - 1``.  ``lane_utilization`` is useful
    lane-iterations / (lanes x iterations executed).
    """
    theta0 = _check_theta0(problem, theta0, max_iter, tol)
    n_rows = theta0.shape[0]
    n = n_rows if runs is None else int(runs)
    if not 1 <= n <= n_rows:
        raise ValueError(f"runs must be in [1, {n_rows}], got {runs!r}")
    check_positive("lanes", lanes, integer=True)
    L = min(int(lanes), n_rows)  # by rows, not runs: a short last block keeps the shapes
    steps_cap = jnp.int64(max_steps if max_steps is not None else max_iter + 1)
    fn, args, tol_j, mi = problem.loss_fn, problem.data, jnp.float64(tol), int(max_iter)
    T, dim, S = mi + 1, problem.dim, len(SNAPSHOT_CUTOFFS)
    sink = n_rows  # output row for lanes with nothing to write
    out = {
        "theta": jnp.full((n_rows + 1, dim), jnp.nan), "status": jnp.full((n_rows + 1,), -1, jnp.int64),
        "k": jnp.zeros((n_rows + 1,), jnp.int64), "hvps": jnp.zeros((n_rows + 1,), jnp.int64),
        "grads": jnp.zeros((n_rows + 1,), jnp.int64),
        "trace": {k: (jnp.full((n_rows + 1, T), -1, jnp.int64) if k in _INT_FIELDS else jnp.full((n_rows + 1, T), jnp.nan))
                  for k in TRACE_FIELDS},
        "snap": jnp.full((n_rows + 1, S, dim), jnp.nan), "snap_it": jnp.full((n_rows + 1, S), -1, jnp.int64),
        "max_r_theta": jnp.full((n_rows + 1, dim), jnp.nan), "max_r_iter": jnp.full((n_rows + 1,), -1, jnp.int64),
        "max_r_value": jnp.full((n_rows + 1,), jnp.nan),
    }
    lane_run = np.where(np.arange(L) < n, np.arange(L), sink).astype(np.int64)
    nxt = min(L, n)
    carry = _refill_init(solver, fn, jnp.asarray(theta0[:L]), jnp.asarray(lane_run < sink), args, mi, tol_j)
    useful_total = executed = 0
    while True:
        carry, useful, steps = _refill_advance(solver, fn, carry, args, mi, tol_j, steps_cap, jnp.bool_(nxt < n))
        useful_total += int(useful)
        executed += int(steps)
        active = lane_run < sink
        done = active & (np.asarray(carry.status) != RUNNING)
        if done.any():
            refill = np.zeros(L, dtype=bool)
            new_rows = np.zeros((L, dim))
            new_run = lane_run.copy()
            for lane in np.flatnonzero(done):
                if nxt < n:
                    refill[lane], new_rows[lane], new_run[lane] = True, theta0[nxt], nxt
                    nxt += 1
                else:
                    new_run[lane] = sink
            carry, out = _refill_harvest(solver, fn, carry, out, jnp.asarray(lane_run), jnp.asarray(done),
                                         jnp.asarray(refill), jnp.asarray(new_rows), args, mi, tol_j)
            lane_run = new_run
        if not (lane_run < sink).any():
            break
    # pad rows (they repeat the last real point, see harness.run.shard.pad_rows) copy the last real run
    host = jax.tree_util.tree_map(lambda x: np.concatenate([np.asarray(x)[:n], np.repeat(np.asarray(x)[n - 1:n],
                                                                                             n_rows - n, axis=0)]), out)
    return SolveResult(
        theta=host["theta"], status=host["status"], n_iter=host["k"], hvps=host["hvps"], grads=host["grads"],
        trace=host["trace"], hfro_method=str(getattr(solver, "hfro_method", "none")), snapshots=host["snap"],
        snapshot_iter=host["snap_it"],
        lane_utilization=float(useful_total / (L * executed)) if executed else 1.0, lanes=L,
        max_r_theta=host["max_r_theta"], max_r_iter=host["max_r_iter"], max_r_value=host["max_r_value"],
    )


def _check_theta0(problem: Problem, theta0: np.ndarray, max_iter: int, tol: float) -> np.ndarray:
    theta0 = np.asarray(theta0, dtype=np.float64)
    if theta0.ndim == 1:
        theta0 = theta0[None, :]
    if theta0.ndim != 2 or theta0.shape[1] != problem.dim:
        raise ValueError(
            f"initial points must have shape (batch, {problem.dim}); got {tuple(theta0.shape)}"
        )
    check_positive("max_iter", max_iter, integer=True, allow_zero=True)
    check_positive("tol", tol, allow_zero=True)
    return theta0


def iterate(
    solver: IterativeSolver,
    problem: Problem,
    theta0: np.ndarray,
    *,
    max_iter: int,
    tol: float,
) -> SolveResult:
    """Run ``solver`` from each row of ``theta0`` (shape ``(batch, dim)``).

    One ``jit`` compilation per (solver options, loss function, batch shape,
    ``max_iter``); ``tol`` and the data are traced, so changing them does not
    recompile.
    """
    theta0 = _check_theta0(problem, theta0, max_iter, tol)
    theta, status, k, hv, gr, tr, snap, snap_it, mr_theta, mr_iter, mr_value = _run_batch(
        solver, problem.loss_fn, jnp.asarray(theta0), problem.data, int(max_iter), jnp.float64(tol)
    )
    return SolveResult(
        theta=np.asarray(theta),
        status=np.asarray(status),
        n_iter=np.asarray(k),
        hvps=np.asarray(hv),
        grads=np.asarray(gr),
        trace={key: np.asarray(v) for key, v in tr.items()},
        hfro_method=str(getattr(solver, "hfro_method", "none")),
        snapshots=np.asarray(snap),
        snapshot_iter=np.asarray(snap_it),
        lane_utilization=lockstep_utilization(np.asarray(k)),
        lanes=int(theta0.shape[0]),
        max_r_theta=np.asarray(mr_theta),
        max_r_iter=np.asarray(mr_iter),
        max_r_value=np.asarray(mr_value),
    )


def lockstep_utilization(n_iter: np.ndarray) -> float:
    """Useful lane-iterations / total of a lockstep batch: ``sum(n_iter) / (batch * max(n_iter))``."""
    n_iter = np.asarray(n_iter)
    top = int(n_iter.max()) if n_iter.size else 0
    return float(n_iter.sum() / (n_iter.size * top)) if top > 0 else 1.0
