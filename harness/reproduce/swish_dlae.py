"""Thesis Fig. 3.4 (Sec. 3.3): Newton-MR fails to find critical points on a nonlinear network.

A Swish autoencoder with hidden layers 8 and 16 (``swish-autoencoder`` with
``data="gaussian"``: the DLAE's data of Sec. 3.2.3, ``N(0, diag(linspace(1, 16)))``
with zero sample means), Newton-MR as in the thesis (plain MR-QLP, forcing 0)
from trajectory-sampled starts, run for the whole budget (the 1e-10 stop
disabled, :data:`harness.solvers._loop.NO_EARLY_STOP`).  The thesis: "the squared
gradient norms do not drop nearly as low (greater than 1e-18, versus 1e-30 in the
linear case) ... All runs exhibit a plateau."  Measured here from each run's
``grad_norm_sq`` trace (computed by the harness's shared loop in the solver's
process) and, beside it, the harness's recomputed final ``||grad L||^2``.
A run *plateaus* when its last quarter of iterations lowers its smallest
``||grad L||^2`` so far by less than a factor 10.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure as MplFigure

from harness._format import DASH, number

from . import _page as P
from ._registry import Context, Experiment
from ._runs import arrays_of, command, row, run_cell

NAME = "fig-3.4"
THESIS_OPTIONS = {"forcing": 0.0}
#: mode -> (case params, runs, iterations); full: the thesis's 10,000 samples, 10 runs of 1000 iterations.
SETTINGS: dict[str, tuple[dict[str, Any], int, int]] = {
    "quick": ({"n": 300, "data": "gaussian", "init": "trajectory"}, 3, 150),
    "full": ({"n": 10000, "data": "gaussian", "init": "trajectory"}, 10, 1000),
}
FLOOR = 1e-18


def plateaus(trace: np.ndarray) -> bool:
    """Whether the last quarter of a run's ``||grad L||^2`` trace lowers its running minimum by < 10x."""
    t = trace[np.isfinite(trace)]
    if t.size < 8:
        return False
    cut = int(0.75 * t.size)
    return bool(t[cut:].min() > 0.1 * t[:cut].min())


def run(ctx: Context) -> P.Page:
    from harness.solvers._loop import NO_EARLY_STOP

    params, runs, iters = SETTINGS[ctx.mode]
    page = P.Page(NAME, "Figure 3.4: Newton-MR on a Swish autoencoder with the DLAE's data",
                  "Frye, thesis Sec. 3.3, Figure 3.4", command(NAME, ctx))
    recs = run_cell(ctx, "swish-autoencoder", params, "newton-mr", THESIS_OPTIONS, runs=runs, max_iter=iters,
                    tol=NO_EARLY_STOP)
    arrays = arrays_of(ctx, recs)
    traces = [np.asarray(row(arrays, r, "grad_norm_sq"), dtype=float) for r in recs]
    mins = [float(np.nanmin(t)) for t in traces]
    flat = [plateaus(t) for t in traces]
    finals = [float(r["final_grad_norm_sq"]) for r in recs if r.get("final_grad_norm_sq") is not None]
    fig = MplFigure(figsize=(5, 3.3))
    ax = fig.subplots()
    for t in traces:
        ax.semilogy(np.arange(t.size), t, alpha=0.6)
    ax.axhline(FLOOR, color="k", ls="--", lw=0.8)
    ax.set_xlabel("iteration")
    ax.set_ylabel("||∇L||²")
    fig.tight_layout()
    low = min(mins) if mins else math.nan
    page.numbers = {"case_params": params, "runs": runs, "max_iter": iters, "min_grad_norm_sq": mins,
                    "plateaus": sum(flat), "final_grad_norm_sq": finals}
    quick = " (quick mode: 300 samples, 3 runs x 150 iterations)" if ctx.quick else ""
    page.add(
        P.Note(f"swish-autoencoder {params}, Newton-MR (thesis: plain MR-QLP, forcing 0), {runs} runs x {iters} "
               "iterations with the 1e-10 stop disabled (each run uses its budget), starts sampled from a "
               "gradient-descent trajectory uniformly by loss with N(0, 1e-2) noise on half (thesis Sec. "
               "3.2.3.2)."),
        P.Figure(fig, "||∇L||² per iteration of every run (dashed: 1e-18)"),
        P.Comparison("Claims of the thesis: ours | published", [
            ("smallest ||∇L||² over all runs and iterations (run trace; not compared with the thesis's "
             "'greater than 1e-18': any solver that stalls meets that bound)", number(low, missing=DASH), "–", "",
             "the thesis's Fig. 3.4 net has no biases (Sec. 3.5.1: 'unlike previous networks, this network had "
             "biases'); ours is the swish-autoencoder case, with biases" + quick, "–"),
            ("runs that plateau (last quarter lowers the minimum by < 10x)", P.pct(sum(flat), len(flat)), "all runs",
             "", quick, P.verdict(bool(flat) and all(flat))),
            ("smallest final ||∇L||² (harness-recomputed)", number(min(finals) if finals else None, missing=DASH), "–", "", "", "–"),
        ]),
    )
    return page


EXPERIMENT = Experiment(NAME, "Figure 3.4 (Newton-MR on a Swish autoencoder, Gaussian data)", "thesis Sec. 3.3", run)
