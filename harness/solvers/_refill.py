"""Lanes that refill: the shared loop's per-run computation, scheduled so a finished run's lane
takes the next queued initial point (:func:`iterate_refill`).

The lanes step in lockstep (one ``vmap``-ed :func:`harness.solvers._loop.step_carry` per
iteration) until a run finishes; the host then copies the finished runs into fixed-shape
output buffers and starts the next queued runs in their lanes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from harness.jitcache.exported import ExportedJit
from ._loop import OUT_FIELDS, check_theta0, init_carry, step_carry
from ._protocol import (
    CONVERGED,
    INT_TRACE_FIELDS,
    RUNNING,
    SNAPSHOT_CUTOFFS,
    TRACE_FIELDS,
    Problem,
    SolveResult,
    check_positive,
)

if TYPE_CHECKING:
    from ._iterative import IterativeSolver

__all__ = ["iterate_refill"]


def _where_lanes(mask: jax.Array, new: Any, old: Any) -> Any:
    """Per-lane select over pytrees with a leading lane axis."""
    return jax.tree_util.tree_map(lambda n, o: jnp.where(mask.reshape((-1,) + (1,) * (n.ndim - 1)), n, o), new, old)


def _refill_init_impl(solver, fn, theta0, live, args, max_iter, tol):
    """Start every lane; lanes that are not ``live`` (nothing queued for them) start stopped."""
    c = jax.vmap(lambda t: init_carry(solver, fn, t, args, max_iter, tol))(theta0)
    return c._replace(status=jnp.where(live, c.status, CONVERGED))


def _refill_advance_impl(solver, fn, carry, args, max_iter, tol, max_steps, stop_on_finish):
    """Step every running lane until one finishes (if ``stop_on_finish``), none runs, or ``max_steps``.

    Returns the new carry, the useful lane-iterations (running lanes stepped)
    and the iterations executed (each costs every lane).
    """
    step = jax.vmap(lambda c: step_carry(solver, fn, c, args, max_iter, tol))

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
    fields = {name: getattr(carry, name) for name in OUT_FIELDS}
    out = jax.tree_util.tree_map(lambda o, v: o.at[rows].set(v), out, fields)
    fresh = jax.vmap(lambda t: init_carry(solver, fn, t, args, max_iter, tol))(theta0_new)
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
    theta0 = check_theta0(problem, theta0, max_iter, tol)
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
        "trace": {k: (jnp.full((n_rows + 1, T), -1, jnp.int64) if k in INT_TRACE_FIELDS
                      else jnp.full((n_rows + 1, T), jnp.nan))
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
    # pad rows (they repeat the last real point, see harness.run.plan.pad_rows) copy the last real run
    host = jax.tree_util.tree_map(lambda x: np.concatenate([np.asarray(x)[:n], np.repeat(np.asarray(x)[n - 1:n],
                                                                                             n_rows - n, axis=0)]), out)
    return SolveResult(
        theta=host["theta"], status=host["status"], n_iter=host["k"], hvps=host["hvps"], grads=host["grads"],
        trace=host["trace"], hfro_method=str(getattr(solver, "hfro_method", "none")), snapshots=host["snap"],
        snapshot_iter=host["snap_it"],
        lane_utilization=float(useful_total / (L * executed)) if executed else 1.0, lanes=L,
        max_r_theta=host["max_r_theta"], max_r_iter=host["max_r_iter"], max_r_value=host["max_r_value"],
    )

