"""Thesis Figures 3.2-3.3: loss against index of the points found on the DLAE, and
what truncating runs at ``||grad L||^2 < eps`` does to that picture.

The certified classes (all ``Σ_{r<=p} C(k, r)`` of them, 2517 for the thesis
instance) lie on a line in (index fraction, loss): the true relation is linear.
For each cutoff ``eps`` in ``{1e-10, 1e-6, 1e-4, ∞}`` the harness takes every
Newton-MR run's first iterate below ``eps`` (the stored snapshots; ``∞`` = the
final point), measures its loss and index by dense Hessian and matches it to a
class (:func:`harness.scoring.score.cutoff_analysis`).  Reported per cutoff: points,
fraction with the right index, mean |loss error|, and the least-squares line and
parabola through the measured points (a positive quadratic coefficient with a
better fit is the "looks convex" artefact the thesis describes).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure as MplFigure

from . import _page as P
from . import table31
from ._registry import Context, Experiment
from ._runs import arrays_of, command

NAME = "fig-3.2-3.3"
THESIS_CUTOFFS = (math.inf, 1e-4, 1e-6, 1e-8, 1e-10)


def _fits(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Least-squares line and parabola of ``y`` on ``x``: slope, quadratic coefficient, residual RMS of each."""
    if x.size < 4 or np.ptp(x) == 0:
        return {"slope": None, "quad": None, "rms_line": None, "rms_quad": None}
    c1 = np.polyfit(x, y, 1)
    c2 = np.polyfit(x, y, 2)
    return {"slope": float(c1[0]), "quad": float(c2[0]),
            "rms_line": float(np.sqrt(np.mean((np.polyval(c1, x) - y) ** 2))),
            "rms_quad": float(np.sqrt(np.mean((np.polyval(c2, x) - y) ** 2)))}


def _frac(entry: dict[str, Any]) -> str:
    f = entry.get("fraction_correct_index")
    return "–" if f is None else f"{100 * f:.0f}% of {entry['n_points']} points"


def _seen_looser(loose: dict[str, Any], tight: dict[str, Any]) -> str:
    """"seen" when a looser cutoff gets the index right less often than the tight one (thesis Fig. 3.3)."""
    a, b = loose.get("fraction_correct_index"), tight.get("fraction_correct_index")
    if a is None or b is None:
        return "–"
    return f"seen ({100 * (a - b):+.0f} points)" if a < b else f"not seen ({100 * (a - b):+.0f} points)"


def run(ctx: Context) -> P.Page:
    from cases import get_case
    from harness.scoring.cutoffs import dense_oracle
    from harness.scoring.score import cutoff_analysis

    page = P.Page(NAME, "Figures 3.2-3.3: loss-index of found points and the cutoff analysis",
                  "Frye, thesis Sec. 3.2.3, Figures 3.2 and 3.3", command(NAME, ctx))
    params = table31.case_params(ctx)
    case = get_case("dlae", **params)
    newton = table31.cells(ctx, "newton-mr")
    records = [r for _, recs in newton for r in recs]
    analysis = cutoff_analysis(case, records, arrays_of(ctx, records), oracle=dense_oracle(case))
    gt = case.ground_truth
    cls = np.array([(c.index_count / case.dim, c.loss) for c in gt.classes])
    true_fit = _fits(cls[:, 0], cls[:, 1])
    rows, numbers = [], {}
    fig = MplFigure(figsize=(3.3 * len(analysis), 3.3))
    axes = fig.subplots(1, len(analysis), sharey=True, squeeze=False)[0]
    for ax, a in zip(axes, analysis):
        pts = [(p["index_fraction"], p["loss"], p["index_error_count"]) for p in a["points"]
               if p["index_fraction"] is not None and p["loss"] is not None and math.isfinite(p["loss"])]
        x = np.array([p[0] for p in pts], dtype=float)
        y = np.array([p[1] for p in pts], dtype=float)
        f = _fits(x, y)
        eps = "∞" if math.isinf(a["cutoff"]) else f"{a['cutoff']:g}"
        rows.append((eps, a["n_points"], a["fraction_correct_index"], a["mean_abs_loss_error"], f["slope"],
                     f["quad"], f["rms_line"], f["rms_quad"]))
        numbers[eps] = {"n_points": a["n_points"], "fraction_correct_index": a["fraction_correct_index"],
                        "mean_abs_loss_error": a["mean_abs_loss_error"], **f}
        ax.scatter(cls[:, 0], cls[:, 1], s=6, color="#bbbbbb", label="certified classes")
        ok = np.array([p[2] == 0 for p in pts], dtype=bool)
        if pts:
            ax.scatter(x[ok], y[ok], s=14, color="#2ca02c", label="index right")
            ax.scatter(x[~ok], y[~ok], s=14, color="#d62728", label="index wrong / no class")
        ax.set_title(f"ε = {eps} ({a['n_points']} points)", fontsize=9)
        ax.set_xlabel("index fraction")
    axes[0].set_ylabel("loss")
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    page.numbers = {"case_params": params, "cutoffs": numbers, "classes": len(gt.classes), "true_line": true_fit}
    inf = numbers["∞"]
    tight = numbers["1e-10"]
    page.add(
        P.Note(f"Points: the final iterate and the first iterates below 1e-4, 1e-6, 1e-8, 1e-10 of the {len(records)} "
               f"Newton-MR runs of Table 3.1 ({', '.join(r[0] for r, _ in newton)}; same stored runs). Grey: all "
               f"{len(gt.classes)} certified classes (loss, index fraction), which lie on a line of slope "
               f"{P.fmt(true_fit['slope'])} (rms {P.fmt(true_fit['rms_line'])}: linear)."),
        P.Figure(fig, "Loss vs index fraction of the first iterate below each cutoff (thesis Fig. 3.3); "
                      "the ε = ∞ panel is the final points (thesis Fig. 3.2)."),
        P.Table("Cutoff analysis", ("cutoff ε", "points", "fraction correct index", "mean |loss error|",
                                    "line slope", "parabola x² coef.", "rms (line)", "rms (parabola)"), rows),
        P.Comparison("Claims of the thesis: ours | published", [
            ("relation of the certified classes", f"linear (rms of line {P.fmt(true_fit['rms_line'])})",
             "linear", "none", ""),
            ("index right at ε = 1e-10", _frac(tight), "nearly all", "", ""),
            ("index right at ε = 1e-6", _frac(numbers["1e-06"]), "many wrong (cutoff too loose)",
             _seen_looser(numbers["1e-06"], tight), ""),
            ("index right at ε = 1e-4", _frac(numbers["0.0001"]), "many wrong (cutoff too loose)",
             _seen_looser(numbers["0.0001"], tight), ""),
            ("index right at ε = 1e-8", _frac(numbers["1e-08"]), "not strict enough (index errors remain)",
             _seen_looser(numbers["1e-08"], tight),
             "seen = fewer points with the right index at 1e-8 than at 1e-10"),
            ("no cutoff (ε = ∞) looks convex", f"x² coefficient {P.fmt(inf['quad'])}, index right "
             f"{_frac(inf)}", "convex-looking",
             "seen" if (inf["quad"] or 0) > 0 and (inf["rms_quad"] or 0) < 0.8 * (inf["rms_line"] or 0) else
             "not seen",
             "with ε = ∞ every final point is shown, including runs that stopped at the iteration budget "
             "far from a critical point"),
        ]),
    )
    return page


EXPERIMENT = Experiment(NAME, "Figures 3.2-3.3 (loss-index scatter and cutoff analysis)", "thesis Sec. 3.2.3", run)
