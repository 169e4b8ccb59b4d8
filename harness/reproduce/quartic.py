r"""Thesis Figure 3.5 (Sec. 3.4): Newton-MR on the quartic of Eq. 3.35.

``f(x, y) = x^4/4 - 3x^2 + 9x + 0.9y^4 + 5y^2 + 40``: one critical point
``(-3, 0)`` (the minimum), strict gradient-flat points ``(±√2, 0)``; at
``(√2, 0)`` a local minimum of ``||∇f||^2`` with value ``(9 - 4√2)^2 ≈ 11.18``.
The line ``x = -√2`` separates the basins of second-order methods, so every start
with ``x0 < -√2`` should reach ``(-3, 0)``.

Runs start from a regular grid (the thesis's starts are not given) and go
through the harness (stored, scored).  Basins: each start coloured by where its
run ended (distance < 1e-3 of ``(-3, 0)``, < 0.05 of ``(√2, 0)``).  Trajectories:
the pipeline stores a run's final iterate and its cutoff snapshots, not every
iterate, so a few starts are run twice: through the harness (stored, scored,
``STEPS`` iterations) and with Newton-MR's own ``init``/``step`` in a ``lax.scan``
that records every iterate for the drawing; the page checks that the drawn
trajectories end where the harness's stored runs of the same starts end.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure as MplFigure

from harness._format import DASH, number

from . import _page as P
from ._registry import Context, Experiment
from ._runs import arrays_of, command, row, run_points

NAME = "fig-3.5"
CRIT = np.array([-3.0, 0.0])
FLAT = np.array([math.sqrt(2.0), 0.0])
PLATEAU = (9 - 4 * math.sqrt(2.0)) ** 2


#: grid points per axis, Newton-MR iterations, trajectory steps per mode
GRID = {"quick": 11, "full": 31}
ITERS = {"quick": 100, "full": 500}
#: The thesis's solver: plain MR-QLP steps (rtol 5e-4, no inexactness forcing; critbench's default is 0.5).
THESIS_OPTIONS = {"forcing": 0.0}
STEPS = {"quick": 30, "full": 60}


def grid(ctx: Context) -> np.ndarray:
    n = GRID[ctx.mode]
    xs, ys = np.linspace(-4.5, 4.5, n), np.linspace(-3.0, 3.0, n)
    return np.array([(x, y) for y in ys for x in xs])


def _end(theta: np.ndarray) -> str:
    if np.linalg.norm(theta - CRIT) < 1e-3:
        return "critical (-3, 0)"
    if np.linalg.norm(theta - FLAT) < 0.05:
        return "gradient-flat (√2, 0)"
    return "other"


def _trajectories(starts: np.ndarray, steps: int) -> np.ndarray:
    """Iterates ``(steps + 1, m, 2)`` of Newton-MR, for drawing only (its own ``init``/``step`` in a
    jitted, vmapped ``lax.scan``; a run freezes once ``||grad||^2 <= 1e-10``, as the harness's loop
    stops).  :func:`run` checks the end points against the harness's stored runs of the same starts."""
    import jax
    import jax.numpy as jnp

    from cases import get_case
    from harness.solvers import get_solver

    case = get_case("quartic")
    solver = get_solver("newton-mr", **THESIS_OPTIONS)
    fn, data = case.loss_fn, case.data
    vg = jax.value_and_grad(fn)

    def one(t0: jax.Array) -> jax.Array:
        f0, g0 = vg(t0, data)
        carry0 = (t0, f0, g0, solver.init(fn, t0, f0, g0, data))

        def body(c: tuple, _: None) -> tuple:
            th, f, g, s = c
            done = jnp.vdot(g, g) <= 1e-10
            th2, s2, _ = solver.step(fn, th, f, g, s, data)
            f2, g2 = vg(th2, data)
            nxt = jax.tree_util.tree_map(lambda a, b: jnp.where(done, b, a), (th2, f2, g2, s2), c)
            return nxt, nxt[0]

        _, path = jax.lax.scan(body, carry0, None, length=steps)
        return jnp.concatenate([t0[None], path])

    paths = np.asarray(jax.jit(jax.vmap(one))(jnp.asarray(starts)))
    return np.transpose(paths, (1, 0, 2))


def run(ctx: Context) -> P.Page:
    from cases import get_case

    page = P.Page(NAME, "Figure 3.5: Newton-MR on the quartic (Eq. 3.35)", "Frye, thesis Sec. 3.4, Figure 3.5",
                  command(NAME, ctx))
    starts = grid(ctx)
    max_iter = ITERS[ctx.mode]
    recs = run_points(ctx, "quartic", {}, "newton-mr", THESIS_OPTIONS, starts, max_iter=max_iter)
    arrs = arrays_of(ctx, recs)
    finals = np.array([row(arrs, r, "theta") for r in recs])
    ends = [_end(t) for t in finals]
    left = starts[:, 0] < -math.sqrt(2.0)
    n_left = int(left.sum())
    left_ok = sum(1 for e, lf in zip(ends, left) if lf and e.startswith("critical"))
    caught = [i for i, e in enumerate(ends) if e.startswith("gradient-flat")]
    plateau = [float(recs[i]["final_grad_norm_sq"]) for i in caught]
    flat_rec = sum(1 for i in caught if recs[i].get("matched_flat_point"))
    right_to_crit = sum(1 for e, lf in zip(ends, left) if not lf and e.startswith("critical"))
    counts = {e: ends.count(e) for e in dict.fromkeys(ends)}

    # trajectories of a few starts
    pick = np.array([[-4.0, 2.0], [-2.0, -2.5], [-1.0, 1.5], [0.5, -2.0], [2.0, 2.5], [4.0, -1.0], [3.0, 0.5]])
    steps = STEPS[ctx.mode]
    path = _trajectories(pick, steps)
    stored = run_points(ctx, "quartic", {}, "newton-mr", THESIS_OPTIONS, pick, max_iter=steps)
    stored_arrs = arrays_of(ctx, stored)
    stored_ends = np.array([row(stored_arrs, r, "theta") for r in stored])
    agree = float(np.max(np.abs(path[-1] - stored_ends)))

    case = get_case("quartic")
    fig = MplFigure(figsize=(11, 4.2))
    ax1, ax2, ax3 = fig.subplots(1, 3)
    xx, yy = np.meshgrid(np.linspace(-5, 5, 200), np.linspace(-3.5, 3.5, 140))
    zz = xx**4 / 4 - 3 * xx**2 + 9 * xx + 0.9 * yy**4 + 5 * yy**2 + 40
    colors = {"critical (-3, 0)": "#1f77b4", "gradient-flat (√2, 0)": "#d4a017", "other": "#7f7f7f"}
    for ax in (ax1, ax2):
        ax.contourf(xx, yy, np.log(zz - zz.min() + 1), levels=20, cmap="Greys_r")
        ax.axvline(-math.sqrt(2), color="red", ls="--", lw=0.8)
        ax.scatter(*CRIT, color="#1f77b4", s=60, marker="*", zorder=5)
        ax.scatter([-math.sqrt(2), math.sqrt(2)], [0, 0], color="#d4a017", s=50, marker="D", zorder=5)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    for e, c in colors.items():
        sel = np.array([x == e for x in ends])
        if sel.any():
            ax1.scatter(starts[sel, 0], starts[sel, 1], s=14, color=c, label=f"{e}: {int(sel.sum())}")
    ax1.legend(fontsize=6, loc="lower left")
    ax1.set_title("basins: start coloured by end point", fontsize=9)
    for j in range(pick.shape[0]):
        e = _end(path[-1, j])
        ax2.plot(path[:, j, 0], path[:, j, 1], "-o", ms=2, lw=0.8, color=colors[e])
    ax2.set_xlim(-5, 5)
    ax2.set_ylim(-3.5, 3.5)
    ax2.set_title("Newton-MR trajectories", fontsize=9)
    for r in recs:
        tr = row(arrs, r, "grad_norm_sq")
        ok = np.isfinite(tr) & (tr > 0)
        ax3.plot(np.nonzero(ok)[0], tr[ok], lw=0.6, alpha=0.5, color=colors[_end(row(arrs, r, "theta"))])
    ax3.axhline(PLATEAU, color="#d4a017", ls=":", lw=1)
    ax3.set_yscale("log")
    ax3.set_xlabel("iteration")
    ax3.set_ylabel("||∇f||²")
    ax3.set_title(f"plateau at (9-4√2)² ≈ {PLATEAU:.2f}", fontsize=9)
    fig.tight_layout()
    del case

    page.numbers = {"starts": len(starts), "ends": counts, "left_starts": n_left, "left_to_critical": left_ok,
                    "caught_at_flat": len(caught), "plateau_median": float(np.median(plateau)) if plateau else None,
                    "right_starts_to_critical": right_to_crit, "trajectory_step_vs_call_max_diff": agree}
    page.add(
        P.Note(f"{len(starts)} starts on a grid x ∈ [-4.5, 4.5], y ∈ [-3, 3]; Newton-MR as in the thesis (plain MR-QLP, "
               f"rtol 5e-4, forcing 0), "
               f"{max_iter} iterations. End points from the stored final iterates."),
        P.Figure(fig, "Left: start points coloured by end point (red dashed: x = -√2). Middle: trajectories "
                      "(iterates of Newton-MR's own step). Right: ||∇f||² per iteration, gold: runs caught at (√2, 0)."),
        P.Comparison("Claims of the thesis: ours | published", [
            ("starts with x0 < -√2 reaching (-3, 0)", P.pct(left_ok, n_left), "all",
             "none" if left_ok == n_left else f"{n_left - left_ok} miss", "", P.verdict(left_ok == n_left)),
            ("runs caught at (√2, 0)", P.pct(len(caught), len(starts)), "some (gold runs)", "", "",
             P.verdict(len(caught) > 0)),
            ("…of which the scorer names the flat point", P.pct(flat_rec, len(caught)), "–", "", "", "–"),
            ("||∇f||² plateau of caught runs (median)",
             number(float(np.median(plateau)) if plateau else None, 4, missing=DASH), "near 10 (exact: 11.18)",
             "" if not plateau else f"{float(np.median(plateau)) - PLATEAU:+.2g} from 11.18", "",
             P.verdict(bool(plateau) and 5.0 <= float(np.median(plateau)) <= 20.0)),
            ("starts with x0 > -√2 reaching (-3, 0) anyway", P.pct(right_to_crit, len(starts) - n_left),
             "some (line search takes large steps)", "", "", P.verdict(right_to_crit > 0)),
        ]),
        P.Note(f"Trajectory check: the drawn trajectories end at most {agree:.2g} from the final iterates the "
               f"harness stored for the same {len(pick)} starts ({steps} iterations)."),
    )
    return page


EXPERIMENT = Experiment(NAME, "Figure 3.5 (Newton-MR on the quartic)", "thesis Sec. 3.4", run)
