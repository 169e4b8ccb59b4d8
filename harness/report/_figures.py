"""Report figures (matplotlib, Agg, no pyplot state), each returned as a PNG data URI.

Every function takes already-loaded records/arrays and returns a
:class:`matplotlib.figure.Figure` or ``None`` when the data it needs is absent;
:func:`to_data_uri` embeds a figure in HTML as base64 PNG.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ._load import ResultsData

OUTCOME_COLORS = {"critical": "#2ca02c", "gradient-flat": "#ff7f0e", "diverged": "#d62728", "other": "#7f7f7f"}
OUTCOME_MARKERS = {"critical": "o", "gradient-flat": "s", "diverged": "x", "other": "^"}
#: Approximate gradient-flatness threshold on ``r`` (REFERENCE.md: ``r > 0.9``).
R_FLAT = 0.9
#: Thesis critical-point threshold on ``||grad L||^2`` (drawn on the trace panels).
CRITICAL_GRAD_SQ = 1e-10
#: At most this many trace lines per (solver, outcome) in the trace panels.
MAX_TRACES = 40
DPI = 80


def to_data_uri(fig: Figure) -> str:
    """``data:image/png;base64,...`` for ``fig``."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _num(rec: Mapping[str, Any], key: str) -> float:
    v = rec.get(key)
    try:
        return float(v) if v is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def _outcome(rec: Mapping[str, Any]) -> str:
    o = rec.get("outcome")
    return o if o in OUTCOME_COLORS else "other"


def _solvers(records: Sequence[Mapping[str, Any]]) -> list[str]:
    return list(dict.fromkeys(str(r.get("solver")) for r in records))


#: Colours of the solvers' lines and markers.
PALETTE = ("#1f77b4", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#2ca02c", "#ff7f0e", "#7f7f7f",
           "#d62728")
#: The built-in (reference) solvers, each with its own fixed colour (``PALETTE[i]``) on every figure and page.
FIXED_COLOR_ORDER = ("newton-mr", "pinv-newton", "damped-newton", "exact-newton", "gnm", "btls-gnm")


def solver_colors(solvers: Sequence[str]) -> dict[str, str]:
    """One colour per solver, independent of which other solvers a figure shows.

    A built-in solver (:data:`FIXED_COLOR_ORDER`) always gets its own colour;
    other solvers take the remaining colours in name order, so every figure of
    a page (and every page) showing the same new methods colours them alike.
    """
    out = {s: PALETTE[FIXED_COLOR_ORDER.index(s)] for s in solvers if s in FIXED_COLOR_ORDER}
    rest = sorted(dict.fromkeys(s for s in solvers if s not in out))
    free = PALETTE[len(FIXED_COLOR_ORDER):]
    for i, s in enumerate(rest):
        out[s] = free[i] if i < len(free) else PALETTE[i % len(PALETTE)]
    return {s: out[s] for s in solvers}


def plot_ecdf(ax: Any, values: np.ndarray, n_total: int, label: str, color: str) -> None:
    """Step ECDF of ``values`` normalised by ``n_total`` (so it may plateau below 1) on the axes ``ax``.

    ``F(x) = #{i : v_i <= x} / n_total`` over the finite ``v_i``; the report's r and HVP ECDFs and the
    leaderboard's COCO-style ECDF all draw with it.
    """
    v = np.sort(values[np.isfinite(values)])
    if v.size == 0 or n_total == 0:
        return
    y = np.arange(1, v.size + 1) / n_total
    ax.step(np.concatenate([[v[0]], v]), np.concatenate([[0.0], y]), where="post", label=label, color=color)


#: A finite loss counts as "off the axes" when it exceeds this multiple of the typical scale of
#: the other points (median |loss| of the non-diverged runs and of the matched classes, at least 1).
LOSS_AXIS_FACTOR = 1e3


def loss_index_split(records: Sequence[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], int]:
    """Records drawable on a loss-index axis, and how many were left out.

    Left out: diverged (and invalid/error) runs, non-finite loss or index fraction, and finite losses above
    :data:`LOSS_AXIS_FACTOR` times the typical loss scale (a run heading to divergence
    with loss 1e300 would otherwise set the axis range and flatten every real point).
    """
    finite = [r for r in records if r.get("outcome") not in ("diverged", "invalid", "error")
              and math.isfinite(_num(r, "index_fraction")) and math.isfinite(_num(r, "final_loss"))]
    scale_pts = [abs(_num(r, "final_loss")) for r in finite]
    scale_pts += [abs(_num(r, "class_loss")) for r in records if math.isfinite(_num(r, "class_loss"))]
    scale = max(1.0, float(np.median(scale_pts))) if scale_pts else 1.0
    kept = [r for r in finite if abs(_num(r, "final_loss")) <= LOSS_AXIS_FACTOR * scale]
    return kept, len(records) - len(kept)


def loss_index_figure(records: Sequence[Mapping[str, Any]], case: str) -> Figure | None:
    """Final loss against index fraction of the found points (thesis Fig. 3.2 style).

    Filled markers: found points, coloured by solver, shaped by outcome.  Hollow
    black circles: the certified (loss, index fraction) of the ground-truth
    classes that runs matched (``class_loss`` / ``class_index_fraction``).
    Diverged, non-finite and far-off points are left out (:func:`loss_index_split`;
    the title counts them).
    """
    kept, left_out = loss_index_split(records)
    pts = [(r, _num(r, "index_fraction"), _num(r, "final_loss")) for r in kept]
    if not pts:
        return None
    fig = Figure(figsize=(6.0, 4.2))
    ax = fig.add_subplot()
    colors = solver_colors(_solvers(records))
    for solver in colors:
        for outcome, marker in OUTCOME_MARKERS.items():
            sel = [(x, y) for r, x, y in pts if str(r.get("solver")) == solver and _outcome(r) == outcome]
            if sel:
                xs, ys = zip(*sel)
                ax.scatter(xs, ys, s=18, marker=marker, color=colors[solver], alpha=0.7,
                           label=f"{solver} ({outcome})")
    classes = {(_num(r, "class_index_fraction"), _num(r, "class_loss")) for r in records}
    classes = {c for c in classes if all(map(math.isfinite, c))}
    if classes:
        cx, cy = zip(*sorted(classes))
        ax.scatter(cx, cy, s=110, facecolors="none", edgecolors="black", linewidths=1.2,
                   label="ground-truth class (matched)")
    ax.set_xlabel("index fraction")
    ax.set_ylabel("final loss")
    extra = f"; {left_out} diverged/non-finite/far-off left out" if left_out else ""
    ax.set_title(f"{case}: loss vs index of final points{extra}", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    return fig


#: Thesis Fig. 3.6D draws only the maximally flat points with ``||grad L||^2`` below this.
FIG36D_GRAD_SQ = 1e-4


def max_r_loss_index_figure(points: Sequence[Mapping[str, Any]], case: str,
                            constant_loss: float | None = None) -> Figure | None:
    """Loss against index fraction at each run's maximally flat iterate (thesis Fig. 3.6D).

    ``points``: one mapping per run with the harness-computed ``loss``, ``index_fraction`` and
    ``grad_norm_sq`` at the iterate and the solver-reported ``r`` of its step.  As in the
    thesis: only points with ``||grad L||^2 < 1e-4`` are drawn; blue: ``||grad L||^2 < 1e-10``,
    gold: ``r > 0.9``, black: the others.  ``constant_loss``: a dashed line at the loss of
    the best constant output (the autoencoder's "mean of the data").
    """
    pts = [p for p in points if all(math.isfinite(_num(p, k)) for k in ("loss", "index_fraction", "grad_norm_sq"))]
    shown = [p for p in pts if _num(p, "grad_norm_sq") < FIG36D_GRAD_SQ]
    if not shown:
        return None
    fig = Figure(figsize=(6.0, 4.2))
    ax = fig.add_subplot()
    groups = (("||∇L||² < 1e-10", "#1f77b4", lambda p: _num(p, "grad_norm_sq") < CRITICAL_GRAD_SQ),
              (f"r > {R_FLAT} (solver's)", "#e6a800", lambda p: _num(p, "r") > R_FLAT),
              ("other", "black", lambda p: True))
    left = list(shown)
    for label, color, pred in groups:
        sel = [p for p in left if pred(p)]
        left = [p for p in left if not pred(p)]
        if sel:
            ax.scatter([_num(p, "index_fraction") for p in sel], [_num(p, "loss") for p in sel], s=20,
                       color=color, alpha=0.8, label=f"{label} ({len(sel)})")
    if constant_loss is not None and math.isfinite(constant_loss):
        ax.axhline(constant_loss, color="gray", ls="--", lw=1, label=f"constant-output loss {constant_loss:.4g}")
    ax.set_xlabel("index fraction (harness, dense Hessian)")
    ax.set_ylabel("loss (harness)")
    ax.set_title(f"{case}: maximally flat iterates, {len(shown)} of {len(points)} with ||∇L||² < 1e-4", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    return fig


#: Largest ``||grad L||^2`` drawn in the trace panels (larger values are drawn at it).
TRACE_YMAX = 1e100


def _pct_ci(frac: float | None, ci: Sequence[float] | None) -> str:
    """``"80%\n[70–88]"`` (percent, compact interval); ``"–"`` when missing."""
    if frac is None or not math.isfinite(frac):
        return "–"
    s = f"{100 * frac:.0f}%"
    if ci is not None and len(ci) == 2:
        s += f"\n[{100 * ci[0]:.0f}–{100 * ci[1]:.0f}]"
    return s


def _luminance(rgb: Sequence[float]) -> float:
    """WCAG 2 relative luminance of an sRGB colour with channels in [0, 1]."""
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb[:3]]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_ratio(a: Sequence[float], b: Sequence[float]) -> float:
    """WCAG 2 contrast ratio ``(L1 + 0.05) / (L2 + 0.05)`` of two colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def label_color(background: Sequence[float]) -> str:
    """``"white"`` or ``"black"``, whichever contrasts more with ``background`` (WCAG 2): white on dark cells."""
    white = contrast_ratio((1.0, 1.0, 1.0), background)
    black = contrast_ratio((0.0, 0.0, 0.0), background)
    return "white" if white > black else "black"


def summary_heatmap(rows: Sequence[Mapping[str, Any]]) -> Figure | None:
    """Case × solver heatmaps of the success and correct fractions (``harness.scoring.summary.summarize`` rows),
    each cell annotated with the percentage and its 95% Wilson interval (white on dark cells, black on
    light ones: :func:`label_color`); grey: no data."""
    if not rows:
        return None
    cases = list(dict.fromkeys(str(r.get("case")) for r in rows))
    solvers = list(dict.fromkeys(str(r.get("solver")) for r in rows))
    panels = [("success_fraction", "success_ci", "success (||∇L||² < 1e-10)")]
    if any(r.get("correct_fraction") is not None for r in rows):
        panels.append(("correct_fraction", "correct_ci", "correct / verified (class, loss and index)"))
    fig = Figure(figsize=(1.0 + 1.25 * len(solvers) * len(panels), 0.9 + 0.5 * len(cases)))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (key, ci, title) in zip(axes, panels):
        grid = np.full((len(cases), len(solvers)), np.nan)
        text: dict[tuple[int, int], str] = {}
        for r in rows:
            i, j = cases.index(str(r.get("case"))), solvers.index(str(r.get("solver")))
            v = r.get(key)
            if v is not None and math.isfinite(float(v)):
                grid[i, j] = float(v)
            text[(i, j)] = _pct_ci(r.get(key), r.get(ci))
        cmap = matplotlib.colormaps["RdYlGn"]
        ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0, vmax=1, aspect="auto")
        ax.set_facecolor("#dddddd")
        for (i, j), t in text.items():
            bg = cmap(grid[i, j]) if math.isfinite(grid[i, j]) else (0.867, 0.867, 0.867, 1.0)
            ax.text(j, i, t, ha="center", va="center", fontsize=8, color=label_color(bg))
        ax.set_xticks(range(len(solvers)), solvers, rotation=30, ha="right", fontsize=7)
        ax.set_yticks(range(len(cases)), cases if ax is axes[0] else [""] * len(cases), fontsize=7)
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def grad_trace_figure(data: ResultsData, records: Sequence[Mapping[str, Any]], case: str) -> Figure | None:
    """``||grad L||^2`` per iteration (log scale), one panel per solver, coloured by outcome."""
    solvers = _solvers(records)
    rows: dict[str, list[tuple[str, np.ndarray]]] = {s: [] for s in solvers}
    for rec in records:
        tr = data.row_array(rec, "grad_norm_sq")
        if tr is not None:
            rows[str(rec.get("solver"))].append((_outcome(rec), np.asarray(tr, dtype=float)))
    solvers = [s for s in solvers if rows[s]]
    if not solvers:
        return None
    fig = Figure(figsize=(4.2 * len(solvers), 3.4))
    axes = fig.subplots(1, len(solvers), squeeze=False)[0]
    for ax, solver in zip(axes, solvers):
        shown: dict[str, int] = {}
        for outcome, tr in rows[solver]:
            if shown.get(outcome, 0) >= MAX_TRACES:
                continue
            ok = np.isfinite(tr) & (tr > 0)
            if not ok.any():
                continue
            it = np.nonzero(ok)[0]
            # Runs heading to divergence reach ||grad||^2 ~ 1e300; matplotlib's log-scale
            # autoscale margin then overflows in exp.  Such values are drawn at TRACE_YMAX.
            ax.plot(it, np.minimum(tr[ok], TRACE_YMAX), color=OUTCOME_COLORS[outcome], lw=0.8, alpha=0.6,
                    label=outcome if outcome not in shown else None)
            shown[outcome] = shown.get(outcome, 0) + 1
        ax.axhline(CRITICAL_GRAD_SQ, color="black", ls=":", lw=0.8)
        ax.set_yscale("log")
        ax.set_xlabel("iteration")
        ax.set_ylabel(r"$\|\nabla L\|^2$")
        ax.set_title(f"{case} / {solver}", fontsize=9)
        if shown:
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def r_ecdf_figure(records: Sequence[Mapping[str, Any]], case: str) -> Figure | None:
    """ECDFs of the final and the maximal relative residual ``r`` per solver, with ``r = 0.9``."""
    solvers = _solvers(records)
    colors = solver_colors(solvers)
    keys = ("final_r", "max_r")
    if not any(math.isfinite(_num(r, k)) for r in records for k in keys):
        return None
    fig = Figure(figsize=(8.4, 3.4))
    axes = fig.subplots(1, 2)
    for ax, key in zip(axes, keys):
        for s in solvers:
            recs = [r for r in records if str(r.get("solver")) == s]
            plot_ecdf(ax, np.array([_num(r, key) for r in recs]), len(recs), s, colors[s])
        ax.axvline(R_FLAT, color="black", ls="--", lw=1, label=f"r = {R_FLAT}")
        ax.set_xlabel(key.replace("_", " "))
        ax.set_ylabel("fraction of runs")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"{case}: ECDF of {key}", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def hvps_ecdf_figure(records: Sequence[Mapping[str, Any]], case: str) -> Figure | None:
    """Fraction of *all* runs that succeeded within ``x`` HVPs, per solver (plateau = success rate)."""
    solvers = _solvers(records)
    colors = solver_colors(solvers)
    fig = Figure(figsize=(6.0, 3.6))
    ax = fig.add_subplot()
    drawn = False
    for s in solvers:
        recs = [r for r in records if str(r.get("solver")) == s]
        vals = np.array([_num(r, "hvps") for r in recs if r.get("outcome") == "critical"])
        if np.isfinite(vals).any():
            plot_ecdf(ax, np.maximum(vals, 1.0), len(recs), s, colors[s])
            drawn = True
    if not drawn:
        return None
    ax.set_xscale("log")
    ax.set_xlabel("Hessian-vector products (HVPs, at least 1)")
    ax.set_ylabel("fraction of runs succeeded")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{case}: HVPs to success", fontsize=9)
    ax.legend(fontsize=7)
    return fig


def _on_axis(snapshot_iter: np.ndarray, cutoffs: Sequence[float]) -> np.ndarray | None:
    """``snapshot_iter`` of one run re-indexed to ``cutoffs`` (NaN where its store has no such cutoff)."""
    from harness.results.outcomes import snapshot_cutoffs_for

    try:
        axis = snapshot_cutoffs_for(snapshot_iter.size, tuple(cutoffs))
    except ValueError:
        return None
    return np.array([snapshot_iter[axis.index(c)] if c in axis else np.nan for c in cutoffs], dtype=float)


def cutoff_reach_figure(data: ResultsData, records: Sequence[Mapping[str, Any]], case: str,
                        cutoffs: Sequence[float]) -> Figure | None:
    """Fraction of runs whose ``||grad L||^2`` fell below each snapshot cutoff (from ``snapshot_iter``)."""
    solvers = _solvers(records)
    colors = solver_colors(solvers)
    frac: dict[str, list[float]] = {}
    for s in solvers:
        its = [data.row_array(r, "snapshot_iter") for r in records if str(r.get("solver")) == s]
        its = [_on_axis(np.asarray(i), cutoffs) for i in its if i is not None]
        its = [i for i in its if i is not None]
        if its:
            st = np.stack(its)
            with np.errstate(invalid="ignore"):
                reached = np.where(np.isnan(st), np.nan, st >= 0)
            frac[s] = [0.0 if np.all(np.isnan(c)) else float(np.nanmean(c)) for c in reached.T]
    if not frac:
        return None
    fig = Figure(figsize=(6.0, 3.4))
    ax = fig.add_subplot()
    width = 0.8 / len(frac)
    x = np.arange(len(cutoffs))
    for i, (s, f) in enumerate(frac.items()):
        ax.bar(x + i * width - 0.4 + width / 2, f, width, color=colors[s], label=s)
    ax.set_xticks(x, [f"< {c:g}" for c in cutoffs])
    ax.set_xlabel(r"cutoff $\varepsilon$ on $\|\nabla L\|^2$")
    ax.set_ylabel("fraction of runs reaching it")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{case}: runs reaching each cutoff", fontsize=9)
    ax.legend(fontsize=7)
    return fig


def cutoff_figure(analysis: Sequence[Mapping[str, Any]], case: str) -> Figure | None:
    """Thesis Fig. 3.3: loss vs index fraction of the first iterate below each cutoff.

    ``analysis`` is the output of :func:`harness.scoring.cutoffs.cutoff_analysis` (one
    entry per cutoff with its measured ``points``); points whose index matches
    their ground-truth class are green, mismatches red, unmatched grey.
    """
    panels = [a for a in analysis if a.get("points")]
    if not panels:
        return None
    fig = Figure(figsize=(3.2 * len(panels), 3.2))
    axes = fig.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    for ax, entry in zip(axes, panels):
        groups: dict[str, list[tuple[float, float]]] = {"index correct": [], "index wrong": [], "no class": []}
        for p in entry["points"]:
            x, y = _num(p, "index_fraction"), _num(p, "loss")
            if not (math.isfinite(x) and math.isfinite(y)):
                continue
            err = p.get("index_error_count")
            groups["no class" if err is None else ("index correct" if err == 0 else "index wrong")].append((x, y))
        for (label, pts), color in zip(groups.items(), ("#2ca02c", "#d62728", "#7f7f7f")):
            if pts:
                xs, ys = zip(*pts)
                ax.scatter(xs, ys, s=14, color=color, alpha=0.7, label=label)
        cut = _num(entry, "cutoff")
        ax.set_title(f"{case}: ε = {'∞' if math.isinf(cut) else f'{cut:g}'}", fontsize=9)
        ax.set_xlabel("index fraction")
        ax.legend(fontsize=6)
    axes[0].set_ylabel("loss")
    fig.tight_layout()
    return fig
