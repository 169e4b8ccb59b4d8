"""Report section "Sweep": success and cost against every swept parameter.

A parameter is *swept* within a (case, solver) group when its runs carry more
than one value of it: a case parameter (``case_params``, e.g. DLAE ``k``), a
solver option (``solver_options``, e.g. Newton-MR ``forcing``), the budget
(``max_iter``, ``tol``) or the ``seed``.  It is read from the records
themselves, so any result directory (a sweep's, or several ``critbench run``
into one directory) gets the section.  For each swept parameter ``p`` and
value ``v``, marginalising over everything else in the group:

* success fraction ``k / n`` (outcome ``critical``) with its Wilson 95% interval
  (:func:`harness.stats.wilson_interval`);
* correct fraction (runs matching a certified class; ``-`` without ground truth);
* ERT in HVPs ``= sum of HVPs over all n runs / k`` (COCO, as
  :func:`harness.scoring.summary.summarize`) and the median HVPs of successful runs.

All numbers are recomputed from the stored records (no solver-reported summary).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from harness.stats import wilson_interval

__all__ = ["sweep_figure", "sweep_rows", "sweep_section", "swept_parameters"]


def _value(rec: Mapping[str, Any], param: str) -> Any:
    kind, _, name = param.partition(".")
    if kind == "case":
        return (rec.get("case_params") or {}).get(name)
    if kind == "solver":
        return (rec.get("solver_options") or {}).get(name)
    return rec.get(param)


def _label(v: Any) -> str:
    return "-" if v is None else (f"{v:g}" if isinstance(v, float) else str(v))


def _groups(records: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], list[Mapping[str, Any]]]:
    out: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in records:
        out.setdefault((str(r.get("case")), str(r.get("solver"))), []).append(r)
    return out


def swept_parameters(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Parameters (``case.<k>``, ``solver.<k>``, ``max_iter``, ``tol``, ``seed``) with more than
    one value among the runs of one (case, solver)."""
    names: list[str] = []
    for recs in _groups(records).values():
        cands = [f"case.{k}" for k in dict.fromkeys(k for r in recs for k in (r.get("case_params") or {}))]
        cands += [f"solver.{k}" for k in dict.fromkeys(k for r in recs for k in (r.get("solver_options") or {}))]
        cands += ["max_iter", "tol", "seed"]
        for p in cands:
            if p not in names and len({repr(_value(r, p)) for r in recs}) > 1:
                names.append(p)
    return names


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"


def _key(v: Any) -> tuple:
    return (0, float(v), "") if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, 0.0, repr(v))


def sweep_rows(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per (case, solver, swept parameter, value): ``runs, successes,
    success_fraction, success_ci, correct_fraction, ert_hvps, median_hvps_success``."""
    swept = swept_parameters(records)
    rows = []
    for (case, solver), recs in _groups(records).items():
        for p in swept:
            by: dict[str, tuple[Any, list[Mapping[str, Any]]]] = {}
            for r in recs:
                v = _value(r, p)
                by.setdefault(repr(v), (v, []))[1].append(r)
            if len(by) < 2:
                continue
            for v, rs in sorted(by.values(), key=lambda t: _key(t[0])):
                n = len(rs)
                k = sum(1 for r in rs if r.get("outcome") == "critical")
                has_gt = any(r.get("correct") is not None for r in rs)
                hv = [float(r.get("hvps") or 0) for r in rs]
                hs = [float(r.get("hvps") or 0) for r in rs if r.get("outcome") == "critical"]
                rows.append({"case": case, "solver": solver, "parameter": p, "value": v, "runs": n, "successes": k,
                             "success_fraction": k / n, "success_ci": wilson_interval(k, n),
                             "correct_fraction": (sum(1 for r in rs if r.get("correct") is True) / n) if has_gt else None,
                             "ert_hvps": (sum(hv) / k) if k else None,
                             "median_hvps_success": float(np.median(hs)) if hs else None})
    return rows


def sweep_figure(rows: Sequence[Mapping[str, Any]], case: str, solver: str, parameter: str) -> Figure | None:
    """Success fraction (Wilson 95% bars) and ERT in HVPs against one swept parameter."""
    rs = [r for r in rows if (r["case"], r["solver"], r["parameter"]) == (case, solver, parameter)]
    if len(rs) < 2:
        return None
    xs = np.arange(len(rs))
    fig = Figure(figsize=(6.0, 3.0))
    ax = fig.add_subplot()
    frac = np.array([r["success_fraction"] for r in rs])
    lo = np.array([r["success_ci"][0] for r in rs])
    hi = np.array([r["success_ci"][1] for r in rs])
    ax.errorbar(xs, frac, yerr=[frac - lo, hi - frac], marker="o", color="#2ca02c", capsize=3, label="success")
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("success fraction")
    ax.set_xticks(xs, [_label(r["value"]) for r in rs])
    ax.set_xlabel(parameter)
    ert = np.array([math.nan if r["ert_hvps"] is None else r["ert_hvps"] for r in rs])
    if np.isfinite(ert).any():
        ax2 = ax.twinx()
        ax2.plot(xs, ert, marker="s", color="#1f77b4", label="ERT (HVPs)")
        ax2.set_ylabel("ERT (HVPs)")
        if np.nanmin(ert) > 0 and np.nanmax(ert) / np.nanmin(ert) > 20:
            ax2.set_yscale("log")
    ax.set_title(f"{case} × {solver}: success and cost against {parameter}", fontsize=9)
    return fig


def sweep_section(records: Sequence[Mapping[str, Any]], *, figures: bool = True) -> str:
    """The HTML section (empty string when nothing is swept)."""
    rows = sweep_rows(records)
    if not rows:
        return ""
    from ._figures import to_data_uri

    def esc(x: Any) -> str:
        return html.escape(str(x), quote=True)

    def pct(f: float | None, ci: Sequence[float] | None = None) -> str:
        if f is None:
            return "-"
        return f"{100 * f:.0f}%" + (f" [{100 * ci[0]:.0f}, {100 * ci[1]:.0f}]" if ci else "")

    parts = ["<h2>Sweep: success and cost against each swept parameter</h2>",
             "<p class='note'>Swept parameters: " + esc(", ".join(swept_parameters(records))) +
             ". Each row pools all runs of the (case, solver) with that value (other parameters marginalised). "
             "Success: outcome “critical”, Wilson 95% interval; ERT = HVPs over all runs / successes.</p>",
             "<table><tr><th>case</th><th>solver</th><th>parameter</th><th>value</th><th>runs</th>"
             "<th>success [95% Wilson]</th><th>correct</th><th>ERT (HVPs)</th><th>median HVPs (successes)</th></tr>"]
    for r in rows:
        parts.append(
            f"<tr><td class='t'>{esc(r['case'])}</td><td class='t'>{esc(r['solver'])}</td>"
            f"<td class='t'>{esc(r['parameter'])}</td><td>{esc(_label(r['value']))}</td><td>{r['runs']}</td>"
            f"<td>{pct(r['success_fraction'], r['success_ci'])}</td><td>{pct(r['correct_fraction'])}</td>"
            f"<td>{_num(r['ert_hvps'])}</td><td>{_num(r['median_hvps_success'])}</td></tr>")
    parts.append("</table>")
    if figures:
        for case, solver, p in dict.fromkeys((r["case"], r["solver"], r["parameter"]) for r in rows):
            fig = sweep_figure(rows, case, solver, p)
            if fig is not None:
                parts.append(f"<figure><img alt='{esc(p)}' src='{to_data_uri(fig)}'><figcaption>{esc(case)} × "
                             f"{esc(solver)}: success fraction (left axis, Wilson 95% bars) and ERT in HVPs (right) "
                             f"against {esc(p)}.</figcaption></figure>")
    return "\n".join(parts)
