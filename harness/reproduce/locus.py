r"""Cooper (seed 002): the critical locus of deep networks.

(a) Core locus of the degenerate networks (``σ(0) = 0``, at least three trailing
zero weight matrices, ``b_L = mean(y)``; ``cases/degenerate_mlp.py``): on the
whole locus the Hessian is ``(2/d_out) Σ_k v_k v_kᵀ``, so every eigenvalue but
one per output is zero and that one is ``(2/d_out)(1 + ||σ(b_{L-1})||²)``.
Points are drawn across the locus (the free weights and hidden biases random)
and their dense Hessians' eigenvalues counted.

(b) Over-parameterized scalar regression without regularization
(``cases/overparam_regression.py``, ``d`` parameters > ``n`` data points): the
global minima form a locus of dimension ``d - n``, so a global minimum's Hessian
has nullity ``d - n``.  Newton-MR runs through the harness; for every run that
reaches loss ≈ 0 (< 1e-12; the runs stop at ``||grad L||^2 < 1e-24`` instead of 1e-10) the scorer's nullity (``|λ| <= 1e-5``, dense) is shown
next to ``d - n``.

(c) How the loci and the zero eigenspaces grow with the width (Props. 5.13, 6.1, 6.2):
:mod:`harness.reproduce._cooper_growth`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure as MplFigure

from . import _page as P
from ._registry import Context, Experiment
from ._cooper_growth import SPAN_POINTS, growth_numbers, growth_rows
from ._runs import command, run_cell

NAME = "cooper-locus"
ZERO_LOSS = 1e-12
#: Stopping tolerance on ||grad L||^2: tighter than the default 1e-10 so global minima are reached to loss ~ 0.
TOL = 1e-24
#: (widths, n_zero, activation) of the degenerate networks drawn across the locus.
DEGENERATE = (((2, 4, 4, 4, 1), 3, "tanh"), ((2, 4, 4, 4, 2), 3, "swish"), ((3, 4, 4, 4, 4, 3), 4, "tanh"))
LOCUS_POINTS = {"quick": 5, "full": 25}
REGRESSION = {"quick": ({"widths": (3, 6, 1), "n": 8}, 12), "full": ({"widths": (4, 8, 8, 1), "n": 16}, 40)}


def _locus_points(case: Any, n_zero: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """``m`` random points of the locus: the certified point with its free coordinates redrawn."""
    from cases.degenerate_mlp import param_slices

    widths = case.params["widths"]
    layers = param_slices(widths)
    base = case.ground_truth.classes[0].point
    pts = np.repeat(base[None, :], m, axis=0)
    L = len(layers)
    for i, (ws, (r, c), bs) in enumerate(layers):
        if i < L - n_zero:
            pts[:, ws] = rng.normal(0, 1 / np.sqrt(c), size=(m, r * c))
        if i < L - 1:
            pts[:, bs] = rng.normal(0, 1, size=(m, r))
    return pts


def run(ctx: Context) -> P.Page:
    from cases import get_case
    from cases._numeric import inertia
    from harness.scoring.oracles import point_oracles
    from cases.degenerate_mlp import _act, param_slices

    page = P.Page(NAME, "Critical locus (Cooper): degenerate core locus and the nullity of global minima",
                  "Cooper, seed 002 (critical locus of deep networks)", command(NAME, ctx))
    rng = np.random.default_rng(0)
    m = LOCUS_POINTS[ctx.mode]
    rows_a, ok_a, tot_a = [], 0, 0
    for widths, n_zero, act in DEGENERATE:
        case = get_case("degenerate-mlp", widths=widths, n_zero=n_zero, activation=act)
        d_out = widths[-1]
        pts = _locus_points(case, n_zero, m, rng)
        for theta, o in zip(pts, point_oracles(case, pts)):
            g = o["grad"]
            lam = np.linalg.eigvalsh(o["hessian"])
            neg, zero, pos = inertia(lam)
            s = np.asarray(_act(theta[param_slices(widths)[-2][2]], act))
            pred = 2.0 / d_out * (1.0 + float(s @ s))
            top = lam[-d_out:]
            good = neg == 0 and pos == d_out and zero == case.dim - d_out and np.allclose(top, pred, rtol=1e-8)
            ok_a += good
            tot_a += 1
            rows_a.append((str(widths), n_zero, act, case.dim, f"{float(g @ g):.1e}", neg, zero, pos,
                           f"{top.min():.6g}", f"{pred:.6g}", "yes" if good else "NO"))
    spec, runs = REGRESSION[ctx.mode]
    reg = get_case("overparam-regression", **spec)
    d, n = reg.dim, reg.params["n"]
    recs = run_cell(ctx, "overparam-regression", spec, "newton-mr", {}, runs=runs, max_iter=500, tol=TOL)
    zero_loss = [r for r in recs if r.get("final_loss") is not None and float(r["final_loss"]) < ZERO_LOSS]
    rows_b = [(r["run_index"], f"{float(r['final_loss']):.1e}", f"{float(r['final_grad_norm_sq']):.1e}",
               r.get("index_count"), r.get("nullity"), d - n, "yes" if r.get("nullity") == d - n else "NO")
              for r in zero_loss]
    match = sum(1 for r in zero_loss if r.get("nullity") == d - n)
    fig = MplFigure(figsize=(5.5, 3.4))
    ax = fig.add_subplot()
    ax.hist([r.get("nullity") for r in zero_loss if r.get("nullity") is not None], bins=np.arange(d - n - 5, d - n + 6)
            - 0.5, color="#1f77b4")
    ax.axvline(d - n, color="k", ls="--", label=f"d - n = {d - n}")
    ax.set_xlabel("measured nullity at a found global minimum")
    ax.set_ylabel("runs")
    ax.legend(fontsize=7)
    growth = growth_numbers(ctx.mode)
    page.numbers = {"growth": growth, "locus_points_ok": ok_a, "locus_points": tot_a, "regression": {**spec, "d": d},
                    "runs": len(recs), "zero_loss_runs": len(zero_loss), "nullity_equals_d_minus_n": match}
    page.add(
        P.Comparison("Claims of Cooper: ours | published", [
            ("core locus: all Hessian eigenvalues zero but one positive per output, equal to "
             "(2/d_out)(1 + ||σ(b_{L-1})||²)", f"{ok_a}/{tot_a} random locus points", "every point of the locus",
             "none" if ok_a == tot_a else f"{tot_a - ok_a} points differ", "", P.verdict(ok_a == tot_a)),
            (f"nullity of global minima = d - n = {d - n} (d = {d}, n = {n})",
             f"{match}/{len(zero_loss)} zero-loss runs", "every global minimum (generic data)",
             "none" if match == len(zero_loss) else f"{len(zero_loss) - match} differ",
             "a smallest nonzero eigenvalue below the 1e-5 threshold counts as zero",
             P.verdict(match == len(zero_loss) and len(zero_loss) > 0)),
            ("Newton-MR runs reaching loss < 1e-12", P.pct(len(zero_loss), len(recs)), "–", "", "", "–"),
        ]),
        P.Note("Width growth (Props. 5.13, 6.1, 6.2; `harness/reproduce/_cooper_growth.py`): degenerate-mlp nets "
               f"(2, m, m, m, 1), tanh, on n = {growth['n']} data points, m = "
               f"{', '.join(growth['widths'])}; dense Hessians (numpy.linalg), zero means |λ| <= {growth['zero_tol']:g}; "
               "locus dimensions from the rank of the output Jacobian (global minima) and the affine span of "
               f"{SPAN_POINTS} random critical points per component (star and core loci). The seed's formulas are "
               "stripped: the published cells quote its words."),
        P.Comparison("Width growth (Cooper Props. 5.13, 6.1, 6.2): ours | published", growth_rows(growth)),
        P.Table("(a) Points drawn across the core locus (dense Hessian, threshold 1e-5)",
                ("widths", "zero matrices", "σ", "d", "||∇L||²", "negative", "zero", "positive",
                 "smallest positive λ", "formula", "agree"), rows_a),
        P.Table(f"(b) Global minima found by Newton-MR on overparam-regression {spec}",
                ("run", "loss", "||∇L||²", "index", "nullity (measured)", "d - n", "agree"), rows_b),
        P.Figure(fig if zero_loss else None, "Measured nullity of the global minima found (dashed: d - n)"),
    )
    return page


EXPERIMENT = Experiment(NAME, "Critical locus (Cooper)", "Cooper seed 002", run)
