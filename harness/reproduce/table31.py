"""Thesis Table 3.1 (Sec. 3.2.3): Newton-MR, damped Newton and BTLS-GNM on the deep linear autoencoder.

Thesis: DLAE ``k = 16, p = 4, n = 10,000``, covariance ``diag(linspace(1, 16))``,
initial points sampled uniformly by loss along a gradient-descent trajectory with
``N(0, 1e-2)`` noise on half of them (the ``dlae`` case's ``init="trajectory"``,
its default).  Success: ``||grad L||^2 < 1e-10`` at the end (the harness's own
recomputation).  Success fraction ± binomial standard error, wall time and HVPs per
success (total over all runs / successes), next to the published row, with a
verdict.  Each solver runs in the thesis's setting first (Newton-MR with plain
MR-QLP steps, ``forcing = 0``; damped Newton with the public code's rule "stop":
keep ``theta`` and end the run when no ``gamma`` improves ``||grad L||^2``);
critbench's variants (``forcing = 0.5``; damped Newton that always moves) are
rows labelled "critbench variant" without a published number.  The damped-Newton
choices the thesis leaves open (rule x Gamma x step size) are measured side by
side as a sensitivity band.
"""

from __future__ import annotations

from typing import Any

from harness._format import DASH, number

from . import _page as P
from ._registry import Context, Experiment
from ._runs import command, run_cell

NAME = "table-3.1"
#: The thesis setting of each solver, first; critbench's own variants after, labelled (never set against a
#: published number).  The thesis's public damped-Newton code keeps theta and ends the run when no gamma
#: improves ||grad L||^2 (rule "stop"); Algorithm 11 as printed always moves ("move").
#: (label, solver, options, thesis success %, thesis SE %, thesis wall time per success in s, thesis runs, thesis iters)
ROWS = (
    ("Newton-MR (thesis: plain MR-QLP, forcing 0)", "newton-mr", {"forcing": 0.0}, 80, 4, 20 * 60, 100, 500),
    ("damped Newton (Alg. 11 with the public code's stop rule: stop when no γ improves)", "damped-newton",
     {"rule": "stop"}, 45, 5,
     105 * 60, 100, 500),
    ("BTLS-GNM", "btls-gnm", {}, 35, 6, 75 * 60, 60, 25000),
    ("Newton-MR (critbench variant: forcing 0.5)", "newton-mr", {}, None, None, None, 100, 500),
    ("damped Newton (critbench variant: always move, Alg. 11 as printed)", "damped-newton", {"rule": "move"}, None,
     None, None, 100, 500),
)
QUICK_CASE = {"k": 6, "p": 2, "n": 500, "exact": True}
THESIS_CASE: dict[str, Any] = {}  # the dlae defaults are the thesis instance
#: (runs, max_iter) per row in each mode. full: the thesis counts except BTLS-GNM (20 of 60 runs) and the
#: always-move damped Newton variant (the 32 runs of its band cell: every run uses its 500 iterations);
#: the page states the budget, ``docs/measurements.md`` the run times behind it.
BUDGET = {
    "quick": ((12, 200), (12, 200), (6, 2000), (12, 200), (12, 200)),
    "full": ((100, 500), (100, 500), (20, 25000), (100, 500), (32, 500)),
}
#: The damped-Newton choices the thesis does not state, measured side by side (rule x Gamma x step size).
BAND_GAMMAS = {"public code 1e-1…1e-6": (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6),
               "wide 10, 1, 0.1, 0.01, 0": (10.0, 1.0, 0.1, 0.01, 0.0)}
BAND_RULES = ("stop", "move")
BAND_STEPS = (1.0, 0.5)
#: (runs, max_iter) of each band cell, and the step sizes measured per mode and rule (each option set
#: compiles its own solver loop: --quick varies rule x Γ at unit steps only).  At --full the always-move
#: rule (a critbench variant, never set against the published number) runs at unit steps only: its runs
#: use all 500 iterations (run times: ``docs/measurements.md``).
BAND_BUDGET = {"quick": (12, 200), "full": (32, 500)}
BAND_STEP_SETS = {"quick": {"stop": (1.0,), "move": (1.0,)}, "full": {"stop": BAND_STEPS, "move": (1.0,)}}
#: The public-code probe (--full only): damped Newton with the three behaviours of the thesis's public
#: reference code (autocrit's FastNewtonTR: every candidate damped by the last γ, as H v + γ Σθ, and the
#: last improving candidate kept; its stop rule and its MINRES-QLP's default limits;
#: ``harness.solvers.damped_newton.PUBLIC_CODE_OPTIONS``), with the thesis's 100 runs x 500 iterations.
PUBLIC_CODE_LABEL = ("damped Newton (probe: the public code's FastNewtonTR: last γ for every candidate, γ·Σθ "
                     "added instead of γv, last improving candidate kept)")
PUBLIC_CODE_BUDGET: dict[str, tuple[int, int] | None] = {"quick": None, "full": (100, 500)}


def case_params(ctx: Context) -> dict[str, Any]:
    return dict(QUICK_CASE if ctx.quick else THESIS_CASE)


def cells(ctx: Context, solver: str | None = None) -> list[tuple[tuple[Any, ...], list[dict[str, Any]]]]:
    """Run (or load) every row's runs (only ``solver``'s rows if given); ``[(row, records)]``."""
    out = []
    for row, (runs, iters) in zip(ROWS, BUDGET[ctx.mode]):
        if solver is not None and row[1] != solver:
            continue
        recs = run_cell(ctx, "dlae", case_params(ctx), row[1], row[2], runs=runs, max_iter=iters)
        out.append((row, recs))
    return out


def _hms(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.3g} s"
    return f"{seconds / 60:.3g} min"


def band(ctx: Context) -> list[tuple[str, str, float, list[dict[str, Any]]]]:
    """The damped-Newton sensitivity cells: ``[(rule, Gamma label, step size, records)]``."""
    runs, iters = BAND_BUDGET[ctx.mode]
    out = []
    for rule in BAND_RULES:
        for glabel, gammas in BAND_GAMMAS.items():
            for step in BAND_STEP_SETS[ctx.mode][rule]:
                opts = {"rule": rule, "step_size": step}
                if gammas != BAND_GAMMAS["public code 1e-1…1e-6"]:
                    opts["gammas"] = gammas
                if step == 1.0:
                    del opts["step_size"]
                recs = run_cell(ctx, "dlae", case_params(ctx), "damped-newton", opts, runs=runs, max_iter=iters)
                out.append((rule, glabel, step, recs))
    return out


def damped_reason(why: str, public_code: tuple[int, int] | None, band: tuple[float, float] | None, th_pct: float,
                  th_se: float) -> tuple[str, P.Probe | None]:
    """The reason column and the probe of the damped-Newton stop-rule row: only the public-code probe
    (``(successes, runs)``) can explain a difference; the Γ × step band (``(lo, hi)`` fractions) is shown
    as a sensitivity study of critbench's choices (its Γ values and step sizes beyond the public code's
    are critbench's) and never decides the verdict."""
    probe = None
    if public_code is not None:
        probe = P.Probe.count(f"the public code's FastNewtonTR behaviours ({public_code[1]} runs)", *public_code,
                              th_pct, th_se)
        why = f"{why}; {probe.text()}"
    else:
        why = f"{why}; not measured: the public-code probe (FastNewtonTR's damping and choice) runs at --full"
    if band is not None:
        why = (f"{why}; sensitivity, not a verdict: the stop rule's success over critbench's Γ × step size "
               f"spans {100 * band[0]:.0f}–{100 * band[1]:.0f}% (band below)")
    return why, probe


#: Table 3.1's wall time per success (minutes) of Newton-MR, damped Newton and BTLS-GNM, on "commodity hardware"
#: ("highly approximate", the thesis says).
THESIS_WALL_MIN = {"newton-mr": 20.0, "damped-newton": 105.0, "btls-gnm": 75.0}
#: "Clearly superior" in wall time per success, our reading: every other solver takes at least this many times
#: Newton-MR's time per success.
CLEARLY = 1.5
#: Our hardware, for the wall-time row (the committed --full run of Dec 2026).
OUR_HARDWARE = "float64 JAX on 2 CPU cores shared with other jobs"


def walltime_row(nmr: tuple[float | None, float | None], damped: tuple[float | None, float | None],
                 btls: tuple[float | None, float | None]) -> tuple[str, ...]:
    """The row of the thesis's "Newton-MR was clearly superior ... in terms of the elapsed walltime per success":
    the ordering and the ratios to Newton-MR of ours (``(seconds, HVPs) per success`` of each solver's thesis
    row) against Table 3.1's minutes; reproduced when Newton-MR's time per success is the smallest by at
    least :data:`CLEARLY` times.  Absolute seconds are not compared (different hardware)."""
    ours = {"newton-mr": nmr, "damped-newton": damped, "btls-gnm": btls}
    names = {"newton-mr": "Newton-MR", "damped-newton": "damped Newton", "btls-gnm": "BTLS-GNM"}
    t0 = nmr[0]

    def order(times: dict[str, float | None]) -> str:
        known = {k: v for k, v in times.items() if v is not None}
        return " < ".join(names[k] for k in sorted(known, key=lambda k: known[k]))

    cells = "; ".join(f"{names[k]} {number(v[0], missing=DASH)} s" + (f" ({v[0] / t0:.2g}x)" if v[0] is not None and t0 else "")
                      + (f", {number(v[1], missing=DASH)} HVPs" if v[1] is not None else "") for k, v in ours.items())
    m0 = THESIS_WALL_MIN["newton-mr"]
    pub = "; ".join(f"{names[k]} {m:g} min ({m / m0:.2g}x)" for k, m in THESIS_WALL_MIN.items())
    ok = t0 is not None and all(v[0] is not None and v[0] >= CLEARLY * t0 for k, v in ours.items() if k != "newton-mr")
    return ("Table 3.1 wall time per success: ordering and ratios to Newton-MR (per success; absolute times not "
            "compared)", f"{cells}; order {order({k: v[0] for k, v in ours.items()})}",
            f"{pub}; order {order(THESIS_WALL_MIN)}: 'Newton-MR was clearly superior'", "",
            f"ours: {OUR_HARDWARE}; the thesis: 'commodity hardware', runtimes 'highly approximate'; criterion: "
            f"every other solver at least {CLEARLY:g}x Newton-MR's time per success", P.verdict(ok))


#: "A large number ... terminate in a small number of iterations" (thesis, Fig. 3.2 caption), our reading:
#: at least this fraction of each solver's runs ended (by the stop rule / the line search's minimum step)
#: within 10 iterations.
EARLY_FRACTION = 0.25


def early_stop_row(damped: str, btls: str, ok: bool) -> tuple[str, ...]:
    """The row of the thesis's "a large number of damped Newton and BTLS-GNM runs terminate in a small number
    of iterations": both halves, each at least :data:`EARLY_FRACTION` of its runs within 10 iterations."""
    return ("damped Newton (stop rule) and BTLS-GNM runs ended early (by the stop rule / the line search's minimum "
            "step) within 10 iterations", f"damped Newton {damped}; BTLS-GNM {btls}",
            "a large number of damped Newton and BTLS-GNM runs terminate in a small number of iterations", "",
            f"criterion: at least {EARLY_FRACTION:.0%} of each solver's runs", P.verdict(ok))


def public_code_cell(ctx: Context) -> list[dict[str, Any]]:
    """The public-code probe's runs (:data:`PUBLIC_CODE_BUDGET`; none in quick mode)."""
    from harness.solvers.damped_newton import PUBLIC_CODE_OPTIONS

    budget = PUBLIC_CODE_BUDGET[ctx.mode]
    if budget is None:
        return []
    return run_cell(ctx, "dlae", case_params(ctx), "damped-newton", dict(PUBLIC_CODE_OPTIONS), runs=budget[0],
                    max_iter=budget[1])


def public_code_row(k: int, n: int) -> tuple[str, ...]:
    """The public-code probe's comparison row: ``k`` of ``n`` runs critical against the thesis's damped-Newton
    45% ± 5 (a probe of the stop-rule row, shown with its own verdict by :func:`~._page.agrees`)."""
    return (f"{PUBLIC_CODE_LABEL}: success", P.pct_se(k, n), "45% ± 5 (100 runs)", f"{100 * k / n - 45:+.0f} points",
            "the public code's damping and choice, with its stop rule, defaults (Γ 1e-1 … 1e-6, K 25, unit "
            "steps) and MINRES-QLP limits", P.verdict(P.agrees(k, n, 45, 5)))


def run(ctx: Context) -> P.Page:
    from harness.solvers.damped_newton import PUBLIC_CODE_OPTIONS

    page = P.Page(NAME, "Table 3.1: critical-point finders on the deep linear autoencoder",
                  "Frye, thesis Sec. 3.2.3, Table 3.1", command(NAME, ctx))
    params = case_params(ctx)
    bands = band(ctx)
    stop_fracs = [sum(r["outcome"] == "critical" for r in recs) / len(recs) for rule, _, _, recs in bands
                  if rule == "stop"]
    all_fracs = [sum(r["outcome"] == "critical" for r in recs) / len(recs) for *_, recs in bands]
    comp, table, numbers = [], [], {}
    all_cells = cells(ctx)
    pub_recs = public_code_cell(ctx)
    pub_k = sum(r["outcome"] == "critical" for r in pub_recs)
    for (label, solver, opts, th_pct, th_se, th_wall, th_runs, th_iters), recs in all_cells:
        n = len(recs)
        k = sum(r["outcome"] == "critical" for r in recs)
        correct = sum(r.get("correct") is True for r in recs)
        secs = sum(float(r["seconds"]) for r in recs)
        hvps = sum(int(r["hvps"]) for r in recs)
        stalled = sum(r["status"] == "stalled" for r in recs)
        if th_pct is None:  # a critbench variant: shown, never set against the published number
            comp.append((f"{label}: success", P.pct_se(k, n), "–", "", "", "–"))
        else:
            ours = 100 * k / n
            budget = (n, recs[0]["max_iter"]) != (th_runs, th_iters)
            why = ("quick mode: a small DLAE (k=6, p=2), fewer runs and iterations" if ctx.quick else
                   ("budget: " if budget else "")
                   + f"{n} runs x {recs[0]['max_iter']} iterations (thesis {th_runs} x {th_iters})")
            ok = P.agrees(k, n, th_pct, th_se)  # a quick page turns this into "quick: …" (never reproduced)
            probe = None
            if solver == "damped-newton":
                why, probe = damped_reason(why, (pub_k, len(pub_recs)) if pub_recs else None,
                                           (min(stop_fracs), max(stop_fracs)) if stop_fracs and not ctx.quick
                                           else None, th_pct, th_se)
            v = P.verdict(ok, probe)
            comp.append((f"{label}: success", P.pct_se(k, n), f"{th_pct}% ± {th_se} ({th_runs} runs)",
                         f"{ours - th_pct:+.0f} points", why, v, *((probe,) if v.startswith("differs") else ())))
        table.append((label, solver, ", ".join(f"{a}={b}" for a, b in opts.items()) or "defaults", n,
                      recs[0]["max_iter"], P.pct_se(k, n), P.pct(correct, n), stalled,
                      sum(r["outcome"] == "gradient-flat" for r in recs),
                      _hms(secs / k if k else None), _hms(th_wall), f"{hvps / k:.4g}" if k else "–"))
        numbers[label] = {"runs": n, "max_iter": recs[0]["max_iter"], "successes": k, "correct": correct,
                          "stalled": stalled, "seconds_per_success": secs / k if k else None,
                          "hvps_per_success": hvps / k if k else None, "thesis_success_pct": th_pct}
    if pub_recs:
        n = len(pub_recs)
        comp.append(public_code_row(pub_k, n))
        hv = sum(int(r["hvps"]) for r in pub_recs)
        table.append((PUBLIC_CODE_LABEL, "damped-newton", ", ".join(f"{a}={b}" for a, b in PUBLIC_CODE_OPTIONS.items()),
                      n, pub_recs[0]["max_iter"], P.pct_se(pub_k, n),
                      P.pct(sum(r.get("correct") is True for r in pub_recs), n),
                      sum(r["status"] == "stalled" for r in pub_recs),
                      sum(r["outcome"] == "gradient-flat" for r in pub_recs),
                      _hms(sum(float(r["seconds"]) for r in pub_recs) / pub_k if pub_k else None), "–",
                      f"{hv / pub_k:.4g}" if pub_k else "–"))
        numbers[PUBLIC_CODE_LABEL] = {"runs": n, "max_iter": pub_recs[0]["max_iter"], "successes": pub_k,
                                      "options": PUBLIC_CODE_OPTIONS}
    per = {row[1]: (numbers[row[0]]["seconds_per_success"], numbers[row[0]]["hvps_per_success"])
           for row, _ in all_cells if row[3] is not None}
    if all(k in per for k in ("newton-mr", "damped-newton", "btls-gnm")):
        comp.append(walltime_row(per["newton-mr"], per["damped-newton"], per["btls-gnm"]))
    thesis_rows = [(row, recs) for row, recs in all_cells if row[3] is not None]
    kinds = [(row[1], {r.get("matched_class") for r in recs if r.get("correct") is True},
              {r.get("index_count") for r in recs if r.get("correct") is True}) for row, recs in thesis_rows]
    numbers["distinct_classes"] = {s_: len(c) for s_, c, _ in kinds}
    numbers["distinct_indices"] = {s_: len(i) for s_, _, i in kinds}
    nmr = [k for k in kinds if k[0] == "newton-mr"]
    others = [k for k in kinds if k[0] != "newton-mr"]
    if nmr and others:
        more = all(len(nmr[0][1]) > len(o[1]) and len(nmr[0][2]) >= len(o[2]) for o in others)
        comp.append(("Sec. 3.2.3.3: distinct certified classes (distinct indices) recovered by correct runs: "
                     + " / ".join(k[0] for k in kinds), " / ".join(f"{len(c)} ({len(i)})" for _, c, i in kinds),
                     "Newton-MR more, and more diverse, than damped Newton and BTLS-GNM", "",
                     "BTLS-GNM has fewer runs (as in the thesis: 60 vs 100)",
                     P.verdict(more)))
    band_rows = []
    for rule, glabel, step, recs in bands:
        n, k = len(recs), sum(r["outcome"] == "critical" for r in recs)
        short = sum(r["status"] == "stalled" and int(r["n_iter"] or 0) <= 10 for r in recs)
        band_rows.append((rule + (" (critbench variant)" if rule == "move" else " (thesis public code)"), glabel,
                          step, n, recs[0]["max_iter"], P.pct_se(k, n), P.pct(short, n)))
    numbers["damped_newton_band"] = {"stop_rule": [min(stop_fracs), max(stop_fracs)] if stop_fracs else None,
                                     "all": [min(all_fracs), max(all_fracs)] if all_fracs else None}
    if stop_fracs:
        lo, hi = min(stop_fracs), max(stop_fracs)
        comp.append(("damped Newton, stop rule: success over the unstated Γ"
                     + (" (unit steps; step size varied at --full)" if ctx.quick else " × step size")
                     + " (a sensitivity study of critbench's choices, not a verdict; thesis: 45% ± 5)",
                     f"{100 * lo:.0f}–{100 * hi:.0f}%", "–", "",
                     "the thesis states neither Γ nor a step size", "–"))
        first = bands[0][3]  # stop rule, the public code's Γ, unit steps (= the thesis-setting row's runs)
        few = sum(r["status"] == "stalled" and int(r["n_iter"] or 0) <= 10 for r in first)
        btls = next((recs for row, recs in all_cells if row[1] == "btls-gnm"), [])
        btls_few = sum(r["status"] == "stalled" and int(r["n_iter"] or 0) <= 10 for r in btls)
        many = few >= EARLY_FRACTION * len(first) > 0 and btls_few >= EARLY_FRACTION * len(btls) > 0
        comp.append(early_stop_row(P.pct(few, len(first)), P.pct(btls_few, len(btls)), many))
    page.numbers = {"case_params": params, "rows": numbers}
    inst = ("the thesis instance (k=16, p=4, n=10,000, trajectory initial points)" if not ctx.quick else
            f"a small DLAE {params} (quick mode), trajectory initial points")
    page.add(
        P.Note(f"Case: dlae, {inst}. Every number below is recomputed by the harness from the stored runs "
               f"(outcome 'critical' = ||∇L||² < 1e-10 at the returned point; 'correct' = matched a certified "
               f"class with the right loss and index). The thesis's setting of each solver comes first; rows "
               f"labelled 'critbench variant' are critbench's own settings and are never set against a published "
               f"number. Verdict: 'reproduced' = within two combined binomial standard errors."),
        P.Comparison("Success fraction: ours | published | difference", comp),
        P.Table("All rows", ("row", "solver", "options", "runs", "iterations", "success ± SE", "correct",
                             "ended by the stop rule / unchanged iterate", "gradient-flat", "wall time / success",
                             "thesis wall time / success", "HVPs / success"), table),
        P.Table("Damped Newton: sensitivity to the choices the thesis does not state (rule × Γ × step size)",
                ("rule", "Γ", "step size", "runs", "iterations", "success ± SE",
                 "ended by the rule within 10 iterations"), band_rows),
        P.Note("Choices: the stop rule is the thesis's public reference code (keep θ and end the run when no γ "
               "improves ||∇L||²; the thesis's 'many damped Newton runs terminate in a small number of "
               "iterations' needs it); Γ = 1e-1 … 1e-6, K = 25 Krylov iterations and unit steps are that code's "
               "defaults; that code's other behaviours (every candidate damped by the last γ, as H v + γ Σθ, "
               "and the last improving candidate kept) are run as the public-code probe (--full). The band measures "
               "how "
               "much the unstated Γ and step size move the success fraction: a sensitivity study of critbench's "
               "choices, not a verdict. "
               "Absolute wall times are not comparable with the thesis's (float64 JAX on 2 shared CPU cores here; "
               "'commodity hardware', runtimes 'highly approximate', there): the wall-time row compares the "
               "ordering and the ratios to Newton-MR only, and HVPs per success are shown beside them."),
    )
    return page


EXPERIMENT = Experiment(NAME, "Table 3.1 (DLAE: Newton-MR, damped Newton, BTLS-GNM)", "thesis Sec. 3.2.3", run)
