r"""Cooper (seed 002) Theorem 3.1: every point of the star locus is critical, not only its core; and the
nullity bound (Corollaries 5.16 / 5.18) at critical points of a very wide net that are not global minima.

The seed's formulas are stripped; the definitions are re-derived (:func:`cases.degenerate_mlp.star_locus_point`)
from what its proofs use.  The star-locus component ``V_i`` (``1 <= i <= H``, ``H`` hidden layers, ``σ(0) = 0``):
``W_i = 0, b_i = 0, b_j = 0 (i < j <= H), W_{H+1} = 0, b_{H+1} = ȳ``, every other coordinate free.  On
``V_i`` every ``∂f/∂p`` but ``∂f/∂b_{H+1}`` vanishes on the data, so ``∇L = 0`` (Theorem 3.1).  The core
(Theorem 3.2, one positive eigenvalue per output and all others zero) is the part with a second zero layer
``A_l = 0, l < i``.  Off the core, the Hessian has the closed-form spectrum of
:func:`cases.degenerate_mlp.star_hessian_prediction`: ``± (2|s|/N) σ_p(C) σ_q(M)`` plus ``2/d_out`` per output
(``C = Σ_x r(x) h_{i-1}(x)ᵀ``, ``M = W_H ⋯ W_{i+1}``): a saddle of index ``rank C · rank M``.

Measured by the harness's own scoring oracles (:func:`harness.scoring.oracles.point_oracles`: loss, gradient
and the dense Hessian by ``jvp`` of ``grad``), never by a solver:

(a) random points of every ``V_i`` of three nets (tanh and swish, 1-3 outputs, depth 3-4): the fraction with
    ``||∇L||² < 1e-10`` (published: all), the measured nonzero spectrum against the closed form, and the
    same for core points; as a control, the same points with ``b_{H+1}`` moved by 0.1 must not be critical.
(b) a very wide net (every hidden width ``6 > n = 4`` data points; ``degenerate-mlp``'s data): at star-locus
    points and at the end points of Newton-MR runs (thesis options) that the harness finds critical, the
    measured nullity (``|λ| <= 1e-5``) against the lower bound re-derived from the seed's Theorem 5.15 proof:
    in the slice of fixed lower layers ``L`` is a PSD quadratic in the last layer ``(W_{H+1}, b_{H+1})``
    (``d_out (n_H + 1)`` coordinates) of rank at most ``d_out · rank Φ̃``, ``Φ̃ = [h_H(x_j); 1]_j``, so the
    level set contains a linear space of dimension ``d_out (n_H + 1 - rank Φ̃) >= d_out (n_H + 1 - n)``
    (Cor. 5.16 / 5.18).  Note: that space is isotropic for the Hessian (``vᵀ H v = 0``), which forces
    ``H v = 0`` only where ``H`` is semidefinite; at a saddle (all star points off the core are) the
    nullity bound is an empirical question, and this is what row (b) measures.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure as MplFigure

from . import _page as P
from ._registry import Context, Experiment
from ._runs import arrays_of, command, row, run_cell

NAME = "cooper-star"
CRITICAL = 1e-10
#: (widths, activation) of the nets whose star loci are sampled in (a).
NETS = (((2, 4, 4, 4, 1), "tanh"), ((2, 4, 5, 3, 2), "swish"), ((3, 4, 4, 4, 4, 3), "tanh"))
#: The very wide net of (b): every hidden width (6) exceeds the number of data points (4).
WIDE = {"widths": (2, 6, 6, 6, 1), "n": 4, "n_zero": 3, "activation": "tanh"}
POINTS = {"quick": 4, "full": 40}  # points per component V_i
RUNS = {"quick": 6, "full": 40}  # Newton-MR runs on the wide net
#: Spectrum agreement: measured nonzero eigenvalues (|λ| > 1e-9) vs the closed form, relative to the largest.
SPECTRUM_RTOL = 1e-8


def spectrum_agrees(lam: np.ndarray, pred: np.ndarray) -> bool:
    """Whether the eigenvalues ``lam`` with ``|λ| > 1e-9`` equal the sorted closed-form ``pred`` (rtol 1e-8)."""
    nz = np.sort(lam[np.abs(lam) > 1e-9])
    scale = max(1.0, float(np.max(np.abs(pred), initial=0.0)))
    return nz.shape == pred.shape and bool(np.all(np.abs(nz - pred) <= SPECTRUM_RTOL * scale))


def nullity_bound(case: Any, theta: np.ndarray) -> tuple[int, int]:
    """``(d_out (n_H + 1 - rank Φ̃), d_out (n_H + 1 - n))``: the pointwise (Cor. 5.16) and uniform (Cor. 5.18)
    lower bounds on the Hessian's nullity at a critical point ``theta`` (``Φ̃ = [h_H(x_j); 1]``, NumPy)."""
    from cases.degenerate_mlp import unflatten_params

    widths = case.params["widths"]
    p = unflatten_params(theta, widths)
    act = np.tanh if case.params["activation"] == "tanh" else (lambda z: z / (1.0 + np.exp(-z)))
    h = np.asarray(case.data.x, dtype=float)
    for layer in range(1, len(widths) - 1):
        h = act(h @ p[f"W{layer}"].T + p[f"b{layer}"])
    phi = np.concatenate([h, np.ones((h.shape[0], 1))], axis=1)
    d_out, n_h, n = widths[-1], widths[-2], h.shape[0]
    return d_out * (n_h + 1 - int(np.linalg.matrix_rank(phi))), d_out * (n_h + 1 - n)


def _sample(case: Any, rng: np.random.Generator, m: int, core: bool) -> list[tuple[int, np.ndarray]]:
    from cases.degenerate_mlp import star_locus_point

    widths = case.params["widths"]
    y = np.asarray(case.data.y)
    comps = range(2, len(widths) - 1) if core else range(1, len(widths) - 1)
    return [(i, star_locus_point(widths, i, y, rng, zero_layers=(1,) if core else ())) for i in comps
            for _ in range(m)]


def run(ctx: Context) -> P.Page:
    from cases import get_case
    from cases._numeric import inertia
    from cases.degenerate_mlp import param_slices, star_hessian_prediction
    from harness.scoring.oracles import point_oracles

    page = P.Page(NAME, "Star locus (Cooper Theorem 3.1) and the nullity bound at critical points of a wide net",
                  "Cooper, seed 002, Theorems 3.1-3.2, Theorem 5.15 / Corollaries 5.16, 5.18", command(NAME, ctx))
    rng = np.random.default_rng(0)
    m = POINTS[ctx.mode]
    rows, n_star, n_crit, n_spec, n_saddle, n_core, n_core_ok, n_ctrl, n_ctrl_off = [], 0, 0, 0, 0, 0, 0, 0, 0
    g2_max = 0.0
    for widths, act in NETS:
        case = get_case("degenerate-mlp", widths=widths, n_zero=3, activation=act)
        x, y = np.asarray(case.data.x), np.asarray(case.data.y)
        d_out = widths[-1]
        for core in (False, True):
            pts = _sample(case, rng, m, core)
            thetas = np.array([t for _, t in pts])
            for (i, theta), o in zip(pts, point_oracles(case, thetas)):
                g2 = float(o["grad"] @ o["grad"])
                lam = np.linalg.eigvalsh(o["hessian"])
                neg, zero, pos = inertia(lam)
                pred = star_hessian_prediction(theta, i, x, y, widths, act)
                spec = spectrum_agrees(lam, pred)
                if core:
                    n_core += 1
                    n_core_ok += g2 < CRITICAL and neg == 0 and pos == d_out and spec
                else:
                    n_star += 1
                    n_crit += g2 < CRITICAL
                    n_spec += spec
                    n_saddle += neg > 0
                    g2_max = max(g2_max, g2)
                rows.append((str(widths), act, f"V_{i}" + (" ∩ A_1 = 0 (core)" if core else ""), f"{g2:.1e}",
                             neg, zero, pos, "yes" if spec else "NO"))
            # control: the same points with the output bias moved off ȳ
            off = thetas.copy()
            off[:, param_slices(widths)[-1][2]] += 0.1
            for o in point_oracles(case, off):
                n_ctrl += 1
                n_ctrl_off += float(o["grad"] @ o["grad"]) >= CRITICAL

    # (b) the very wide net: star points and Newton-MR end points
    wide = get_case("degenerate-mlp", **WIDE)
    wpts = _sample(wide, rng, m, False)
    wthetas = np.array([t for _, t in wpts])
    rows_b, b_ok, b_tot = [], 0, 0
    for (i, theta), o in zip(wpts, point_oracles(wide, wthetas)):
        lam = np.linalg.eigvalsh(o["hessian"])
        neg, zero, _ = inertia(lam)
        b16, b18 = nullity_bound(wide, theta)
        ok = float(o["grad"] @ o["grad"]) < CRITICAL and zero >= b16 >= b18
        b_ok += ok
        b_tot += 1
        rows_b.append((f"star V_{i}", f"{float(o['loss']):.4g}", neg, zero, b16, b18, "yes" if ok else "NO"))
    recs = run_cell(ctx, "degenerate-mlp", WIDE, "newton-mr", {"forcing": 0.0}, runs=RUNS[ctx.mode], max_iter=200)
    arrays = arrays_of(ctx, recs)
    crit = [r for r in recs if r.get("final_grad_norm_sq") is not None and float(r["final_grad_norm_sq"]) < CRITICAL
            and r.get("nullity") is not None]
    r_ok, r_nonglobal = 0, 0
    for r in crit:
        theta = np.asarray(row(arrays, r, "theta"), dtype=float)
        b16, b18 = nullity_bound(wide, theta)
        ok = int(r["nullity"]) >= b16 >= b18
        r_ok += ok
        r_nonglobal += float(r["final_loss"]) > 1e-8
        rows_b.append((f"Newton-MR run {r['run_index']}", f"{float(r['final_loss']):.4g}", r.get("index_count"),
                       r["nullity"], b16, b18, "yes" if ok else "NO"))

    fig = MplFigure(figsize=(5.5, 3.4))
    ax = fig.add_subplot()
    meas = [rb[3] for rb in rows_b]
    ax.scatter([rb[4] for rb in rows_b], meas, s=12)
    lim = max(meas + [1]) + 2
    ax.plot([0, lim], [0, lim], "k--", lw=0.8, label="nullity = bound")
    ax.set_xlabel("lower bound d_out (n_H + 1 - rank Φ̃)")
    ax.set_ylabel("measured nullity (|λ| ≤ 1e-5)")
    ax.legend(fontsize=7)
    wd = wide.dim
    page.numbers = {"star_points": n_star, "star_critical": n_crit, "max_grad_norm_sq": g2_max,
                    "spectrum_agrees": n_spec, "saddles": n_saddle, "core_points": n_core, "core_ok": n_core_ok,
                    "control_points": n_ctrl, "control_not_critical": n_ctrl_off, "wide": {**WIDE, "d": wd},
                    "wide_star_bound_ok": b_ok, "wide_star_points": b_tot, "wide_runs": len(recs),
                    "wide_runs_critical": len(crit), "wide_runs_bound_ok": r_ok, "wide_runs_not_global": r_nonglobal}
    page.add(
        P.Note(f"Points: {m} per component V_i (and per core component V_i ∩ {{A_1 = 0}}, i >= 2) of each net "
               f"{', '.join(f'{w} {a}' for w, a in NETS)} on degenerate-mlp's data (n = 16), seeded; gradient and "
               "dense Hessian from the harness's scoring oracles. The seed's formulas are stripped: the definition "
               "of V_i is re-derived (module docstring) and the Hessian's spectrum is predicted in closed form. "
               f"Wide net: degenerate-mlp {WIDE} (d = {wd}); Newton-MR with the thesis's plain MR-QLP "
               f"(forcing 0), {RUNS[ctx.mode]} runs from the case's starts, stop at ||∇L||² <= 1e-10."),
        P.Comparison("Claims of Cooper: ours | published", [
            ("every point of the star locus is critical (Theorem 3.1): ||∇L||² < 1e-10 at random star points",
             f"{P.pct(n_crit, n_star)}; largest ||∇L||² {g2_max:.1e}", "all points",
             "none" if n_crit == n_star else f"{n_star - n_crit} not critical", "", P.verdict(n_crit == n_star)),
            ("core points: one positive eigenvalue per output, all others zero (Theorem 3.2)",
             P.pct(n_core_ok, n_core), "all points of the core", "none" if n_core_ok == n_core else "differs", "",
             P.verdict(n_core_ok == n_core and n_core > 0)),
            (f"nullity >= d_out (n_H + 1 - rank Φ̃) >= d_out (n_H + 1 - n) at critical points of a very wide net "
             "(Cor. 5.16/5.18), at star points (saddles)", P.pct(b_ok, b_tot), "every critical point", "", "",
             P.verdict(b_ok == b_tot and b_tot > 0)),
            ("…at the critical end points of Newton-MR runs on the wide net",
             f"{P.pct(r_ok, len(crit))} ({r_nonglobal} not global minima, loss > 1e-8)", "every critical point",
             "", "", P.verdict(r_ok == len(crit) and len(crit) > 0)),
            ("star points off the core are saddles (index = rank C · rank M > 0; derived here)",
             P.pct(n_saddle, n_star), "–", "", "", "–"),
            ("measured nonzero Hessian spectrum = closed form ± (2|s|/N) σ(C) σ(M), 2/d_out (derived here)",
             P.pct(n_spec, n_star), "–", "", "", "–"),
            ("control: the same points with b_{H+1} moved by 0.1 are not critical", P.pct(n_ctrl_off, n_ctrl), "–",
             "", "", "–"),
        ]),
        P.Table("(a) Star-locus and core points (dense Hessian, threshold 1e-5)",
                ("widths", "σ", "component", "||∇L||²", "negative", "zero", "positive", "spectrum = closed form"),
                rows),
        P.Table(f"(b) Very wide net {WIDE['widths']}, n = {WIDE['n']}: nullity against the bound",
                ("point", "loss", "index", "nullity (measured)", "bound (rank Φ̃)", "bound (n)", "holds"), rows_b),
        P.Figure(fig, "Wide net: measured nullity against the pointwise lower bound (dashed: equality)"),
    )
    return page


EXPERIMENT = Experiment(NAME, "Star locus: Theorem 3.1 and the wide-net nullity bound (Cooper)",
                        "Cooper seed 002, Theorem 3.1, Cor. 5.16/5.18", run)
