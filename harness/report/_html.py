"""Assemble the self-contained HTML report (inline CSS, figures as base64 PNG).

No external assets, scripts or network references: the page opens offline and
can be attached to an issue or a CI artifact as one file.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.results.columns import columns
from harness.results.outcomes import SNAPSHOT_CUTOFFS
from harness.results.store import CUTOFF_FILE
from harness.scoring.summary import summarize

from . import _figures as figs
from ._load import ReportError, ResultsData, load_results
from ._sweep import sweep_section


def _baseline_section(records: Sequence[Mapping[str, Any]], baseline: str | Path) -> str:
    from harness.gate.compare import CompareError

    from ._changes import baseline_section

    try:
        return baseline_section(records, baseline)
    except CompareError as exc:
        raise ReportError(f"baseline: {exc}") from None


#: Default snapshot cutoffs (``harness.results.outcomes.SNAPSHOT_CUTOFFS``, JAX-free).  ``meta.json`` may override.
DEFAULT_CUTOFFS = SNAPSHOT_CUTOFFS

_PROVENANCE_KEYS = ("critbench", "jax", "jaxlib", "numpy", "python", "device", "git_commit", "hostname", "time")

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1{margin-bottom:.2em} h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:right} th{background:#f3f3f3}
td.t{text-align:left} td.p{white-space:nowrap} .note{color:#666;font-size:.9em} figure{margin:.8em 0}
figcaption{color:#555;font-size:.85em;max-width:900px} img{max-width:100%}
footer{margin-top:2em;border-top:1px solid #ccc;font-size:.8em;color:#555}
.table-scroll{overflow-x:auto;max-width:100%;margin:.6em 0} .table-scroll table{margin:0}
"""


def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _cell(v: Any) -> str:
    """A table cell: 3 significant digits, ``inf`` as the symbol, ``None`` as a dash."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        return f"{v:.3g}"
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v):
        return f"[{_cell(float(v[0]))}, {_cell(float(v[1]))}]"
    if isinstance(v, Mapping):
        return ", ".join(f"{k}: {_cell(x)}" for k, x in v.items())
    return str(v)


def _pct_cell(frac: float, ci: Any) -> str:
    """A fraction as ``"67% [30–90]"``: percent with a compact 95% interval (one line)."""
    out = f"{100 * float(frac):.0f}%"
    if ci is not None and len(ci) == 2:
        out += f" [{100 * float(ci[0]):.0f}–{100 * float(ci[1]):.0f}]"
    return out


def summary_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """HTML table of :func:`harness.scoring.summary.summarize` rows: the ``html`` columns of
    :data:`harness.results.columns.COLUMNS` whose ``field`` some row holds, under their long headers."""
    cols = [c for c in columns("html") if c.field is not None and any(c.field in r for r in rows)]
    head = "".join(f"<th>{_esc(c.header)}</th>" for c in cols)
    body = []
    for row in rows:
        tds = []
        for c in cols:
            key, ci = c.field, c.interval
            cell = _cell(row.get(key))
            if ci and row.get(key) is not None:
                cell = _pct_cell(row[key], row.get(ci))
            cls = ' class="t"' if c.wrap else (' class="p"' if ci else "")
            tds.append(f"<td{cls}>{_esc(cell)}</td>")
        body.append(f'<tr class="summary-row">{"".join(tds)}</tr>')
    # wide tables scroll inside their own box instead of overflowing the page
    return f'<div class="table-scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _figure(fig: Any, caption: str) -> str:
    if fig is None:
        return f'<p class="note">{_esc(caption)}: no data for this plot.</p>'
    return f'<figure><img alt="{_esc(caption)}" src="{figs.to_data_uri(fig)}"><figcaption>{_esc(caption)}</figcaption></figure>'


def _cutoff_table(analysis: Sequence[Mapping[str, Any]], partial: bool = False) -> str:
    """The cutoff analysis as a table; "–" means not measured.

    With a ``partial`` ground truth (it lists only some classes) a point outside
    its classes cannot be judged, so the fraction over all points is not measured
    ("–", not 0), and the fraction among matched points is "–" when none matched.
    """
    head = ("<tr><th>cutoff ε</th><th>points</th><th>mean |loss error|</th><th>fraction correct index (all points)</th>"
            "<th>matched a class</th><th>fraction correct index (matched)</th></tr>")

    def measured(a: Mapping[str, Any], key: str) -> Any:
        if key == "fraction_correct_index" and partial:
            return None
        if key == "fraction_correct_index_of_matched" and not a.get("n_matched"):
            return None
        return a.get(key)

    rows = "".join(
        f"<tr><td>{_esc(_cell(float(a.get('cutoff', math.nan))))}</td><td>{_esc(_cell(a.get('n_points')))}</td>"
        f"<td>{_esc(_cell(a.get('mean_abs_loss_error')))}</td>"
        f"<td>{_esc(_cell(measured(a, 'fraction_correct_index')))}</td>"
        f"<td>{_esc(_cell(a.get('n_matched')))}</td>"
        f"<td>{_esc(_cell(measured(a, 'fraction_correct_index_of_matched')))}</td></tr>"
        for a in analysis
    )
    note = ('<p class="note">–: not measured' + (" (a partial ground truth cannot judge a point outside its "
                                                  "classes)" if partial else "") + ".</p>")
    return f'<table class="cutoff">{head}{rows}</table>{note}'


def _cutoff_section(data: ResultsData, records: Sequence[Mapping[str, Any]], case: str,
                    analysis: Sequence[Mapping[str, Any]] | None) -> str:
    """Fig. 3.3 panel from a stored/passed cutoff analysis, else the reach fractions with a note."""
    if analysis:
        partial = any(r.get("outcome") == "critical" and r.get("correct") is None for r in records)
        return _cutoff_table(analysis, partial) + _figure(
            figs.cutoff_figure(analysis, case),
            f"{case}: loss vs index of the first iterate below each cutoff (thesis Fig. 3.3)")
    cutoffs = tuple(data.meta.get("snapshot_cutoffs", DEFAULT_CUTOFFS))
    fig = figs.cutoff_reach_figure(data, records, case, cutoffs)
    if fig is None:
        return '<p class="note">Cutoff analysis skipped: the stored arrays carry no snapshots.</p>'
    note = ('<p class="note">Cutoff analysis (thesis Fig. 3.3: loss and index of the first iterate below each '
            f"cutoff) not available: no <code>{CUTOFF_FILE}</code> in the results directory (<code>critbench "
            "report</code> computes it from the stored snapshots; this case's Hessians are too large or the "
            "stack was absent). Shown instead: the fraction of runs reaching each cutoff.</p>")
    return note + _figure(fig, f"{case}: fraction of runs whose ||grad L||^2 fell below each cutoff")


def _case_section(data: ResultsData, case: str, records: Sequence[Mapping[str, Any]],
                  analysis: Sequence[Mapping[str, Any]] | None) -> str:
    parts = [f'<section class="case"><h2>Case <code>{_esc(case)}</code></h2>']
    _, left_out = figs.loss_index_split(records)
    parts.append(_figure(figs.loss_index_figure(records, case),
                         f"{case}: final loss vs index fraction; hollow circles: certified matched classes"
                         + (f"; {left_out} of {len(records)} runs (diverged, non-finite or far-off loss) left "
                            "out of the axes" if left_out else "")))
    parts.append(_figure(figs.grad_trace_figure(data, records, case),
                         f"{case}: squared gradient norm per iteration, coloured by outcome"))
    parts.append(_figure(figs.r_ecdf_figure(records, case),
                         f"{case}: ECDF of final and maximal r (dashed: r = 0.9, gradient-flat threshold)"))
    parts.append(_figure(figs.hvps_ecdf_figure(records, case),
                         f"{case}: fraction of runs succeeded within x HVPs"))
    parts.append("<h3>Cutoff analysis</h3>" + _cutoff_section(data, records, case, analysis))
    parts.append("</section>")
    return "\n".join(parts)


def _provenance(data: ResultsData) -> str:
    seen: dict[str, list[str]] = {}
    for rec in data.records:
        prov = rec.get("provenance") or {}
        if isinstance(prov, Mapping):
            for k, v in prov.items():
                vals = seen.setdefault(str(k), [])
                if str(v) not in vals:
                    vals.append(str(v))
    items = []
    for k in sorted(seen, key=lambda k: (_PROVENANCE_KEYS.index(k) if k in _PROVENANCE_KEYS else 99, k)):
        vals = seen[k]
        if k == "time" and len(vals) > 1:
            shown = f"{min(vals)} – {max(vals)}"
        else:
            shown = ", ".join(vals[:5]) + (f" (+{len(vals) - 5} more)" if len(vals) > 5 else "")
        items.append(f"<li><b>{_esc(k)}</b>: {_esc(shown)}</li>")
    meta = data.meta
    if meta.get("command"):
        cmd = meta["command"]
        items.append(f"<li><b>command</b>: <code>{_esc(' '.join(cmd) if isinstance(cmd, list) else cmd)}</code></li>")
    for k in ("critbench_version", "version"):
        if k in meta:
            items.append(f"<li><b>written by critbench</b>: {_esc(meta[k])}</li>")
    return "<footer><h3>Provenance</h3><ul>" + "".join(items or ["<li>none recorded</li>"]) + "</ul></footer>"


def _load_cutoffs(data: ResultsData) -> dict[str, Any]:
    path = data.results_dir / CUTOFF_FILE
    if not path.is_file():
        return {}
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        raise ReportError(f"{path} is not valid JSON") from None
    if not isinstance(obj, dict):
        raise ReportError(f"{path} must map case names to cutoff analyses")
    return obj


def render_html(data: ResultsData, cutoff_analyses: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
                baseline: str | Path | None = None) -> str:
    """The full report page for loaded results (``cutoff_analyses``, ``baseline``: see :func:`render_report`)."""
    analyses = dict(cutoff_analyses) if cutoff_analyses is not None else _load_cutoffs(data)
    rows = summarize(data.records)
    cases = list(dict.fromkeys(str(r.get("case")) for r in data.records))
    solvers = set(str(r.get("solver")) for r in data.records)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    head = (f"<h1>critbench report</h1><p class='note'>{len(data.records)} runs from "
            f"<code>{_esc(data.results_dir)}</code>; {len(cases)} case(s), {len(solvers)} solver(s); "
            f"generated {_esc(stamp)}.</p>")
    summary = (f"<h2>Summary per case and solver</h2>"
               + _figure(figs.summary_heatmap(rows), "success and correct fractions per case and solver "
                         "(cell: percent and 95% Wilson interval)")
               + summary_table(rows)
               + "<p class='note'>Computed by <code>harness.scoring.summary.summarize</code>. Success: outcome “critical” "
               "(||∇L||² below 1e-10 at the final point, recomputed by the scorer). Costs per success are totals "
               "over all runs divided by the number of successes (expected running time, ERT).</p>")
    if baseline is not None:
        summary += _baseline_section(data.records, baseline)
    sections = "\n".join(
        _case_section(data, c, [r for r in data.records if str(r.get("case")) == c], analyses.get(c))
        for c in cases
    )
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>critbench report</title>"
            f"<style>{_CSS}</style></head><body>{head}{summary}{sweep_section(data.records)}{sections}{_provenance(data)}</body></html>")


def render_report(results_dir: str | Path, out_html: str | Path | None = None, *,
                  cutoff_analyses: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
                  baseline: str | Path | None = None, warn: bool = True) -> Path:
    """Render one self-contained HTML page from a results directory (read-only: the
    directory is written only when ``out_html`` lies in it; ``critbench report``
    defaults to a path outside it).

    Args:
        results_dir: a directory written by the runner (``runs.jsonl``, ``arrays/``, ``meta.json``).
        out_html: output path; default ``<results_dir>/report.html``.
        cutoff_analyses: optional ``{case name: harness.scoring.cutoffs.cutoff_analysis(...)}`` for the
            Fig. 3.3 panels (they need Hessians, which the report never computes); default: read
            ``<results_dir>/cutoff_analysis.json`` if present, else show cutoff reach fractions.
        baseline: optional results directory or baseline JSON: adds the section "Changes
            against the baseline" (:mod:`harness.report._changes`).
        warn: warn (:class:`harness.results.store.StoreWarning`) about ignored lines and
            missing arrays files of ``results_dir``.

    Returns:
        The path written.

    Raises:
        ReportError: the directory is missing, malformed or holds no run records, or the
            baseline is unusable.
    """
    data = load_results(results_dir, warn=warn)
    page = render_html(data, cutoff_analyses, baseline)
    out = Path(out_html) if out_html is not None else Path(results_dir) / "report.html"
    tmp = out.with_name(f".tmp-{os.getpid()}-{out.name}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        raise ReportError(f"cannot write the report {out}: {exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return out
