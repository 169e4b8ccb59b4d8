"""``critbench site OUT``: one static, self-contained site, browsable offline.

Pages (plain HTML + one CSS file + PNG files; no JavaScript, no network):

* ``index.html`` -- the leaderboard (overall ranking, COCO-style ECDF of HVPs to
  success, the paired verdicts) with links to everything below;
* ``cases/<case>.html`` -- the case's ranking, its HVP ECDF, the verdicts on it
  and the disagreeing runs;
* ``solvers/<solver>.html`` -- the solver's rows over the suite and its verdicts;
* ``runs/<solver>/<case>/<run>.html`` -- only with ``runs_pages=True``, for the
  new methods' runs: start and end point, the ``||grad L||^2`` trace, the verdict
  beside every reference's on the same start, and the command that reproduces it;
* ``reproduce/`` -- the reproduction pages (``docs/results/*/summary.md``
  rendered, figures copied);
* ``asv/`` -- a copy of the asv history (``.asv/html``) when it has been built.

Aggregates are computed once (:func:`harness.leaderboard.rank.build_leaderboard`);
without ``runs_pages`` the page count is independent of the number of runs, so
a result set of 10^5 runs renders as fast as the aggregation.
"""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness._format import percent_ci
from harness.leaderboard import rank as lbr
from harness.results.columns import columns

__all__ = ["build_site", "slug"]

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5em auto;max-width:1250px;color:#222;padding:0 1em}
nav{font-size:.9em;margin-bottom:1em} nav a{margin-right:1em}
h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top} th{background:#f3f3f3}
td.better{background:#e3f6e3} td.worse{background:#fbe3e3} .note{color:#666;font-size:.9em}
img{max-width:100%} pre,code{background:#f6f6f6} pre{padding:.5em;overflow-x:auto}
footer{margin-top:2em;border-top:1px solid #ccc;font-size:.8em;color:#555}
"""
#: How a verdict is read, with a worked example (index page; the same rule as docs/plugins.md).
RULE_HTML = (
    '<details open><summary>How verdicts and ranks are read</summary><p class="note">Verdicts are lexicographic. '
    'A significant success test decides (better / worse); else a significant correct test; only when neither '
    'differs detectably does cost speak, as "cheaper, same success" or "costlier, same success", never "better". '
    'Example: on 20 shared starts a new method solves 13, the reference 20, and the new method needs fewer HVPs '
    'on all 13 starts both solved. Success 0 vs 7 discordant pairs (p = 0.016) is significant (in a family of 3 '
    'tests Holm\'s first threshold is 0.05/3 = 0.017): the verdict is "worse", whatever the HVPs. Had it solved '
    '18 of 20 (0 vs 2, p = 0.5, not significant) with the HVP test significant, the verdict would read "cheaper, '
    'same success". Overall, a 65% solver ranks below a 100% one however cheap it is. "Disagreeing runs": the '
    'outcome or correctness differs; runs that only reached another class are listed separately.</p></details>')
#: Disagreeing runs listed per verdict on the case pages.
MAX_LISTED = 50


def slug(name: str) -> str:
    """A file-name-safe version of ``name``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("_") or "x"


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _page(title: str, body: str, depth: int) -> str:
    up = "../" * depth
    nav = (f'<nav><a href="{up}index.html">leaderboard</a><a href="{up}reproduce/index.html">reproductions</a>'
           f'<a href="{up}asv.html">performance history</a></nav>')
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f'<link rel="stylesheet" href="{up}style.css"></head><body>{nav}<h1>{_e(title)}</h1>{body}'
            f'<footer>critbench static site; generated from stored results only.</footer></body></html>')


def _table(head: Sequence[str], body: Sequence[Sequence[str]], *, raw_cols: Sequence[int] = (),
           classes: Sequence[Sequence[str]] | None = None) -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    rows = []
    for i, row in enumerate(body):
        tds = []
        for j, cell in enumerate(row):
            cls = f' class="{classes[i][j]}"' if classes and classes[i][j] else ""
            tds.append(f"<td{cls}>{cell if j in raw_cols else _e(cell)}</td>")
        rows.append(f"<tr>{''.join(tds)}</tr>")
    return f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _link(href: str, text: str) -> str:
    return f'<a href="{_e(href)}">{_e(text)}</a>'


def run_href(new: str, case: str, seed: Any, run_index: Any) -> str:
    """The run page of a new method's run, relative to the site root."""
    return f"runs/{slug(new)}/{slug(case)}/{seed}-{run_index}.html"


def _disagreeing_links(v: lbr.CaseVerdict, up: str) -> str:
    """The disagreeing run indices as links to their run pages (with ``runs_pages``)."""
    links = [_link(up + run_href(v.new, v.case, d["seed"], d["run_index"]), str(d["run_index"]))
             for d in v.disagreeing[:MAX_LISTED]]
    more = f" (+{len(v.disagreeing) - MAX_LISTED})" if len(v.disagreeing) > MAX_LISTED else ""
    return (", ".join(links) + more) or "none"


def _verdict_html(lb: lbr.Leaderboard, depth: int, *, new: str | None = None, case: str | None = None,
                  runs_pages: bool = False) -> str:
    head, body = lbr.verdict_table(lb, new=new, case=case, limit=MAX_LISTED)
    if not body:
        return '<p class="note">no paired comparison (no new method, or no common starts).</p>'
    up = "../" * depth
    shown = [v for v in lb.verdicts if (new is None or v.new == new) and (case is None or v.case == case)]
    out, cls = [], []
    for row, v in zip(body, shown):
        new_s, ref_s, case_s = row[0], row[1], row[2]
        last = _disagreeing_links(v, up) if runs_pages else _e(row[-1])
        out.append([_link(f"{up}solvers/{slug(new_s)}.html", new_s), _link(f"{up}solvers/{slug(ref_s)}.html", ref_s),
                    _link(f"{up}cases/{slug(case_s)}.html", case_s), *map(_e, row[3:-1]), last])
        cls.append(["", "", "", "", {"better": "better", "worse": "worse"}.get(row[4], ""), "", ""])
    return _table(head, out, raw_cols=range(len(head)), classes=cls)


def _save(fig: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=80, bbox_inches="tight")


def _index(lb: lbr.Leaderboard, out: Path, runs_pages: bool = False) -> None:
    head, body = lbr.overall_table(lb)
    rows = [[r[0], _link(f"solvers/{slug(r[1])}.html", r[1]) + _new_mark(lb, r[1]), *map(_e, r[2:])] for r in body]
    s = lb.stamp
    cases = "".join(f"<li>{_link(f'cases/{slug(c)}.html', c)} <code>{_e(k)}</code></li>" for c, k in lb.cases())
    notes = "".join(f'<p class="note">note: {_e(n)}</p>' for n in lb.notes)
    _save(lbr.ecdf_figure(lb), out / "hvps_ecdf.png")
    body_html = (
        f'<p>Suite <b>{_e(s.get("suite"))}</b> (<code>{_e(s.get("suite_hash"))}</code>). References from the '
        f'archive: critbench {_e(s.get("critbench"))}, commit <code>{_e(s.get("git_commit"))}</code>, JAX '
        f'{_e(s.get("jax"))}, {_e(s.get("created"))}; platform: {_e(lbr.platform_text(s.get("platform")))} '
        f'(<code>critbench leaderboard --check-references</code> measures how this machine differs). '
        f'New methods from: {_e(", ".join(lb.sources))}.</p>{notes}'
        f'<h2>Overall</h2>{_table(head, rows, raw_cols=range(len(head)))}'
        f'<p class="note">Ordered by cells covered, then success over all runs, then correct, and only between '
        f'solvers tied on both by their cost per success on the cells all of them solved. Intervals: Wilson 95%. '
        f'Numbers per case equal <code>critbench score</code>.</p>{RULE_HTML}'
        f'<figure><img src="hvps_ecdf.png" alt="ECDF of HVPs to success"><figcaption class="note">COCO-style ECDF: '
        f'fraction of each solver\'s runs over the whole suite solved within x HVPs (plateau = success).'
        f'</figcaption></figure><h2>Cases</h2><ul>{cases}</ul>'
        f'<h2>Paired verdicts (same starts)</h2><p class="note">Two-sided exact McNemar (success, correct) and sign '
        f'tests (HVPs on runs both solved); {lb.n_tests} tests, family-wise alpha = {lb.alpha:g} (Holm).</p>'
        f'{_verdict_html(lb, 0, runs_pages=runs_pages)}<p>Data: {_link("leaderboard.json", "leaderboard.json")}, '
        f'{_link("leaderboard.md", "leaderboard.md")}</p>')
    (out / "index.html").write_text(_page("critbench leaderboard", body_html, 0), encoding="utf-8")


def _new_mark(lb: lbr.Leaderboard, solver: str) -> str:
    """`` (new)`` for a new method, `` (new, unsandboxed)`` when a plug-in run of it had no OS sandbox."""
    if solver in lb.ref_solvers:
        return ""
    if solver in lb.unsandboxed:
        return (' <b>(new, <span class="unsandboxed" title="a plug-in run was solved without an OS sandbox">'
                'unsandboxed</span>)</b>')
    return " <b>(new)</b>"


def _case_page(lb: lbr.Leaderboard, case: str, ckey: str, out: Path, runs_pages: bool) -> None:
    from harness.report._figures import hvps_ecdf_figure

    head, body = lbr.case_table(lb, case, ckey)
    rows = [[r[0], _link(f"../solvers/{slug(r[1].rstrip(' *'))}.html", r[1]), *map(_e, r[2:])] for r in body]
    recs = [r for r in lb.records if (r.get("case"), r.get("case_key")) == (case, ckey)]
    fig = hvps_ecdf_figure(recs, case)
    img = ""
    if fig is not None:
        _save(fig, out / "cases" / f"{slug(case)}-ecdf.png")
        img = f'<figure><img src="{slug(case)}-ecdf.png" alt="HVPs to success on {_e(case)}"></figure>'
    dis = []
    for v in lb.verdicts:
        if v.case != case or not v.disagreeing:
            continue
        items = []
        for d in v.disagreeing[:MAX_LISTED]:
            txt = f"run {d['run_index']} (seed {d['seed']}): {v.ref} {d['ref']} / {v.new} {d['new']}"
            href = "../" + run_href(v.new, case, d["seed"], d["run_index"])
            items.append(f"<li>{_link(href, txt) if runs_pages else _e(txt)}</li>")
        more = f"<li>... and {len(v.disagreeing) - MAX_LISTED} more</li>" if len(v.disagreeing) > MAX_LISTED else ""
        dis.append(f"<h3>{_e(v.new)} vs {_e(v.ref)}: {len(v.disagreeing)} of {v.pairs} starts disagree</h3>"
                   f"<ul>{''.join(items)}{more}</ul>")
    moved = [f"<li>{_e(v.new)} vs {_e(v.ref)}: {len(v.class_changes)} of {v.pairs} starts, runs "
             f"{_e(', '.join(str(d['run_index']) for d in v.class_changes[:MAX_LISTED]))}"
             f"{' ...' if len(v.class_changes) > MAX_LISTED else ''}</li>"
             for v in lb.verdicts if v.case == case and v.class_changes]
    body_html = (f"<p><code>{_e(ckey)}</code></p>{_table(head, rows, raw_cols=range(len(head)))}{img}"
                 f"<h2>Paired verdicts</h2>{_verdict_html(lb, 1, case=case, runs_pages=runs_pages)}<h2>Disagreeing runs</h2>"
                 f'<p class="note">Paired runs whose outcome or correctness differs.</p>'
                 f"{''.join(dis) or '<p class=note>none</p>'}<h2>Class changes</h2>"
                 f'<p class="note">Paired runs with the same outcome and correctness that reached another class '
                 f"(not counted as disagreeing).</p>{'<ul>' + ''.join(moved) + '</ul>' if moved else '<p class=note>none</p>'}")
    (out / "cases" / f"{slug(case)}.html").write_text(_page(f"case {case}", body_html, 1), encoding="utf-8")


def _solver_page(lb: lbr.Leaderboard, solver: str, out: Path, runs_pages: bool = False) -> None:
    o = next(x for x in lb.overall if x["solver"] == solver)
    cols = columns("site-solver")  # harness.results.columns: the case column links to the case's page
    rows = [[_link(f"../cases/{slug(r['case'])}.html", r["case"]) if c.key == "case" else _e(c.text(r)) for c in cols]
            for r in lb.rows if r["solver"] == solver]
    head = [c.short for c in cols]
    kind = "reference (from the archive)" if solver in lb.ref_solvers else "new method"
    body_html = (f"<p>{_e(kind)}; overall rank {o['rank']} of {len(lb.overall)}, success "
                 f"{_e(percent_ci(o['success_fraction'], o['success_ci']))} of {o['runs']} runs.</p>"
                 f"{_table(head, rows, raw_cols=range(len(head)))}<h2>Paired verdicts</h2>"
                 f"{_verdict_html(lb, 1, new=solver, runs_pages=runs_pages) if solver in lb.new_solvers else _verdict_of_ref(lb, solver, runs_pages)}")
    (out / "solvers" / f"{slug(solver)}.html").write_text(_page(f"solver {solver}", body_html, 1), encoding="utf-8")


def _verdict_of_ref(lb: lbr.Leaderboard, ref: str, runs_pages: bool = False) -> str:
    sub = lbr.Leaderboard(lb.rows, lb.overall, [v for v in lb.verdicts if v.ref == ref], lb.new_solvers,
                          lb.ref_solvers, lb.alpha, lb.n_tests, lb.stamp, lb.notes)
    return _verdict_html(sub, 1, runs_pages=runs_pages)


def _fmt_param(v: Any) -> str:
    return ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)


def reproduce_command(rec: Mapping[str, Any], out: str = "results/repro") -> str:
    """``critbench run`` of runs ``0..run_index`` of the record's cell (run ``run_index`` is the last of them).

    The solver is named as it was given (``solver_given``, before the leaderboard's labelling) with its
    complete recorded options.
    """
    params = " ".join(f"--param {k}={_fmt_param(v)}" for k, v in sorted((rec.get("case_params") or {}).items()))
    opts = " ".join(f"--option {k}={_fmt_param(v)}" for k, v in sorted((rec.get("solver_options") or {}).items()))
    parts = ["critbench run --case", str(rec.get("case")), params, "--solver",
             str(rec.get("solver_given") or rec.get("solver")), opts, f"--runs {int(rec['run_index']) + 1}",
             f"--seed {rec.get('seed')} --max-iter {rec.get('max_iter')} --tol {rec.get('tol')} --out {out}"]
    return " ".join(p for p in parts if p)


def _svg_trace(g2: np.ndarray, n_iter: Any = None) -> str:
    """An inline SVG polyline of ``log10 ||grad L||^2`` against the iteration, or "no trace recorded".

    A solver that reports no trace leaves only the start and the end value in
    the stored row (the harness fills those two): that is not a trace, and the
    page says so instead of drawing a straight line between them.
    """
    v = np.asarray(g2, dtype=float)
    it = np.nonzero(np.isfinite(v) & (v > 0))[0]
    last = int(n_iter) if isinstance(n_iter, (int, np.integer)) and n_iter >= 0 else (int(it[-1]) if it.size else 0)
    if it.size < 2 or (it.size == 2 and last > 1):
        ends = (f" (||grad L||^2 {v[it[0]]:.3g} at the start, {v[it[-1]]:.3g} at the end)" if it.size == 2 else "")
        return f'<p class="note">no trace recorded: the solver reported no per-iteration values{_e(ends)}</p>'
    v = v[it]
    y = np.log10(v)
    lo, hi = float(y.min()), float(y.max()) if y.max() > y.min() else float(y.min()) + 1
    w, h = 600, 200
    span = max(int(it[-1] - it[0]), 1)
    pts = " ".join(f"{5 + (w - 10) * (i - it[0]) / span:.1f},{5 + (h - 10) * (hi - yy) / (hi - lo):.1f}"
                   for i, yy in zip(it, y))
    return (f'<svg width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img"><rect width="{w}" height="{h}" '
            f'fill="#fafafa" stroke="#ccc"/><polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{pts}"/>'
            f'</svg><p class="note">log10 ||grad L||^2 from {hi:.2f} (top) to {lo:.2f} (bottom) over {span} '
            f'iterations ({y.size} recorded values)</p>')


def _run_pages(lb: lbr.Leaderboard, out: Path, dirs: Mapping[str, Path]) -> int:
    """One page per run of the new methods (start, end, trace, verdicts, command); returns the count."""
    from harness.results.store import load_arrays

    by_start: dict[tuple, list[Mapping[str, Any]]] = {}
    for r in lb.records:
        if r.get("solver") in lb.ref_solvers:
            by_start.setdefault((r.get("case_key"), r.get("seed"), r.get("run_index")), []).append(r)
    cache: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    n = 0
    for r in lb.records:
        if r.get("solver") in lb.ref_solvers:
            continue
        src = dirs.get(str(r.get("run_id")))
        arr: dict[str, np.ndarray] = {}
        if src is not None and r.get("batch_id") is not None and r.get("batch_row") is not None:
            key = (str(src), str(r["batch_id"]))
            if key not in cache:
                try:
                    cache[key] = load_arrays(src, str(r["batch_id"]))
                except ValueError:
                    cache[key] = {}
            arr = {k: v[int(r["batch_row"])] for k, v in cache[key].items() if v.ndim >= 1 and v.shape[0] > int(r["batch_row"])}
        vec = lambda k: (np.array2string(arr[k], precision=6, max_line_width=100, threshold=60)  # noqa: E731
                         if k in arr else "not stored")
        refs = [[_e(x.get("solver")), _e(lbr._verdict_of(x)), _e(x.get("hvps"))]
                for x in by_start.get((r.get("case_key"), r.get("seed"), r.get("run_index")), [])]
        case_link = _link(f"../../../cases/{slug(str(r.get('case')))}.html", str(r.get("case")))
        body_html = (
            f"<p>{_e(r.get('solver'))} on {case_link}"
            f", seed {_e(r.get('seed'))}, run {_e(r.get('run_index'))}: <b>{_e(lbr._verdict_of(r))}</b>, "
            f"{_e(r.get('hvps'))} HVPs, {_e(r.get('n_iter'))} iterations, final loss {_e(r.get('final_loss'))}.</p>"
            f"<h2>Start</h2><pre>{_e(vec('theta0'))}</pre><h2>End</h2><pre>{_e(vec('theta'))}</pre>"
            f"<h2>Trace</h2>{_svg_trace(arr['grad_norm_sq'], r.get('n_iter')) if 'grad_norm_sq' in arr else '<p class=note>no trace recorded</p>'}"
            f"<h2>References on the same start</h2>{_table(['reference', 'verdict', 'HVPs'], refs, raw_cols=(0, 1, 2))}"
            f"<h2>Reproduce</h2><pre>{_e(reproduce_command(r))}</pre>")
        p = out / run_href(str(r.get("solver")), str(r.get("case")), r.get("seed"), r.get("run_index"))
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(_page(f"{r.get('solver')} · {r.get('case')} · run {r.get('run_index')}", body_html, 3),
                     encoding="utf-8")
        n += 1
    return n


def _reproductions(out: Path, docs_results: Path | None) -> int:
    """Render ``docs_results/*/summary.md`` as HTML (figures copied); returns the page count."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark").enable("table")
    rdir = out / "reproduce"
    rdir.mkdir(parents=True, exist_ok=True)
    items = []
    if docs_results is not None and docs_results.is_dir():
        for summary in sorted(docs_results.glob("*/summary.md")):
            name = summary.parent.name
            dest = rdir / slug(name)
            dest.mkdir(parents=True, exist_ok=True)
            for f in summary.parent.iterdir():
                if f.suffix.lower() in (".png", ".svg", ".jpg", ".json"):
                    shutil.copy2(f, dest / f.name)
            text = md.render(summary.read_text(encoding="utf-8"))
            (dest / "index.html").write_text(_page(f"reproduction: {name}", text, 2), encoding="utf-8")
            items.append(f"<li>{_link(f'{slug(name)}/index.html', name)}</li>")
    body = f"<ul>{''.join(items)}</ul>" if items else '<p class="note">no reproduction pages found.</p>'
    (rdir / "index.html").write_text(_page("reproductions of the seed papers", body, 1), encoding="utf-8")
    return len(items)


def _asv(out: Path, asv_html: Path | None) -> bool:
    """Copy the built asv history to ``OUT/asv`` and write ``asv.html`` (a link, or a note when absent)."""
    ok = asv_html is not None and (asv_html / "index.html").is_file()
    if ok:
        shutil.copytree(asv_html, out / "asv", dirs_exist_ok=True)
        body = f'<p>{_link("asv/index.html", "Open the asv performance history")} (copied from {_e(asv_html)}).</p>'
    else:
        body = ('<p class="note">The asv history has not been built (<code>critbench history</code>, see '
                'docs/asv.md); rebuild the site afterwards to include it.</p>')
    (out / "asv.html").write_text(_page("performance history", body, 0), encoding="utf-8")
    return ok


def build_site(
    out: str | Path,
    lb: lbr.Leaderboard,
    *,
    runs_pages: bool = False,
    docs_results: str | Path | None = "docs/results",
    asv_html: str | Path | None = ".asv/html",
) -> dict[str, Any]:
    """Write the site under ``out`` from a computed leaderboard; returns counts of what was written."""
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    (root / "cases").mkdir(exist_ok=True)
    (root / "solvers").mkdir(exist_ok=True)
    (root / "style.css").write_text(CSS, encoding="utf-8")
    lbr.write_outputs(lb, root)
    _index(lb, root, runs_pages)
    for case, ckey in lb.cases():
        _case_page(lb, case, ckey, root, runs_pages)
    for o in lb.overall:
        _solver_page(lb, o["solver"], root, runs_pages)
    n_runs = 0
    if runs_pages:
        dirs: dict[str, Path] = {}
        for src in lb.sources:
            from harness.results.columnar import load_columns

            for r in load_columns(src, ("run_id",)):
                dirs.setdefault(str(r["run_id"]), Path(src))
        n_runs = _run_pages(lb, root, dirs)
    n_repro = _reproductions(root, Path(docs_results) if docs_results else None)
    has_asv = _asv(root, Path(asv_html) if asv_html else None)
    return {"out": root, "cases": len(lb.cases()), "solvers": len(lb.overall), "run_pages": n_runs,
            "reproductions": n_repro, "asv": has_asv, "pages": sum(1 for _ in root.rglob("*.html"))}
