"""Re-derive the verdicts of committed summaries (``docs/results/``) by the fidelity-2 rule, from the
numbers they store, without rerunning a solver.

``python -m harness.reproduce._rejudge [DOCS]`` (default ``docs/results``) rewrites, in place, the rows
of each ``summary.json`` / ``summary.md`` whose verdict the rule changes, prints every change as
``experiment | quantity | old -> new`` and adds one note line to each changed ``summary.md``.  The
rule (:func:`harness.reproduce._page.verdict`): "differs" only with a stored probe or band that lands on
the published value, else "not reproduced"; checks of critbench itself, critbench's own tests and
sensitivity bands carry no published value.  Every new row is built by the same function the
experiment uses (``cutoffs.threshold_probe``, ``field.claim_row``, ``stoican.table61_row``,
``_page.Probe.band``), fed the summary's stored numbers.  ``sec-3.5`` is no longer migrated here: its
page is written by ``critbench reproduce sec-3.5 --full`` from the experiment code (the over-parameterized
net at the printed L2 1, the 1e-3 setting a probe).

A one-off migration for the summaries published before fidelity-2: the next ``critbench reproduce
--full`` + ``publish`` writes every row from the experiment code and makes this module unnecessary.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness._format import DASH, number

from . import _page as P

NOTE = ("Verdicts re-derived from this summary's stored numbers by the fidelity-2 rule (a 'differs' needs a stored "
        "probe or band that lands on the published value; `python -m harness.reproduce._rejudge`); no solver was "
        "rerun and no number changed.")
Row = tuple[Any, ...]


def _fig32(q: str, row: Row, nums: dict[str, Any]) -> Row | None:
    from . import cutoffs

    if q == "relation of the certified classes":
        return (f"certified classes lie on a line ({P.SELF_CHECK}: the classes and the line both come from the "
                "closed form)", f"rms of the line {number(nums['true_line']['rms_line'], missing=DASH)}", "–", "",
                "the thesis: linear", "check passes" if row[5] == "reproduced" else "check fails")
    if q == "index right, first iterate below 1e-10":
        probe = cutoffs.threshold_probe(nums["index_threshold_probe"])
        v = P.verdict(row[5] == "reproduced", probe)
        return (*row[:4], probe.text(), v, *((probe,) if v.startswith("differs") else ()))
    if q == "index right, first iterate below 1e-08":  # the thesis's 1e-8 remark is about filtering final points
        return ("index right, first iterate below 1e-08 (no 1e-8 panel in Fig. 3.3; the thesis's 1e-8 statement is "
                "the filter at 1e-8, a row of the next --full run)", row[1], "–", row[3], "", "–")
    if q == "stopping at the first iterate below 1e-10 vs filtering after termination":
        return (*row[:4], "criterion: fewer right indices at the early stop than after filtering; the "
                "index-threshold probe recounts only the early-stop points, so it cannot explain this comparison",
                P.verdict(row[5] == "reproduced"))
    return None


def _fig34(q: str, row: Row, nums: dict[str, Any]) -> Row | None:
    if q.startswith("smallest ||∇L||² over all runs and iterations"):
        return ("smallest ||∇L||² over all runs and iterations (run trace; not compared with the thesis's "
                "'greater than 1e-18': any solver that stalls meets that bound)", row[1], "–", "",
                "the thesis's Fig. 3.4 net has no biases (Sec. 3.5.1: 'unlike previous networks, this network had "
                "biases'); ours is the swish-autoencoder case, with biases", "–")
    return None


def _sampling(q: str, row: Row, nums: dict[str, Any]) -> Row | None:
    from .sampling import SAMPLERS

    if q.startswith("distinct classes") and "with noise vs without" in q:
        from .sampling import noise_row

        a, _, c = (nums["samplers"][k] for k in SAMPLERS)
        return noise_row((nums.get("noise_seeds") or {}).get("class_differences", []),
                         f"{a['distinct_classes']} ({a['distinct_indices']}) vs {c['distinct_classes']} "
                         f"({c['distinct_indices']})")
    return None


def _si_lines(q: str, row: Row, nums: dict[str, Any]) -> Row | None:
    if q == "Newton-MR started next to the line stays on it":
        return ("Newton-MR started 1e-3 from the line ends on it (critbench's own test: Stoican runs no Newton "
                "method)", row[1], "–", "", "runs that leave match another class or none", "–")
    return None


def _stoican(q: str, row: Row, nums: dict[str, Any]) -> Row | None:
    from .stoican import table61_row

    budgets = [str(b) for b in nums["budgets"]]
    counts, c = nums["counts"], nums["counts"][budgets[-1]]
    keys = {"global minima": "global", "local minima (not global, no eigenvalue < -1e-5)": "local",
            "…symmetry-induced (of all starts)": "si", "…other local minima (of all starts)": "other"}
    if q in keys:
        extra = (f"; by distance alone {c['local_close']} of {c['starts']}, {c['local_opposite']} of them "
                 "opposite-weight derivative pairs, not SI") if keys[q] == "si" else ""
        return table61_row(counts, budgets, q, keys[q], extra=extra)
    if q == "no non-global end point has a negative eigenvalue (< -1e-5)":
        neg = c["nonglobal_neg_eig"]
        return (*row[:4], f"{neg} end points are saddles (measured; no probe explains them)" if neg else "",
                P.verdict(neg == 0))
    return None


def _table31(q: str, row: Row, nums: dict[str, Any]) -> Row | None:
    band = nums["rows"]["damped_newton_band"]["stop_rule"]
    if q == "damped Newton (thesis public code: stop when no γ improves): success":
        from .table31 import damped_reason

        from .table31 import PUBLIC_CODE_LABEL

        pub = nums["rows"].get(PUBLIC_CODE_LABEL)
        why, probe = damped_reason(str(row[4]).split("; ")[0], (pub["successes"], pub["runs"]) if pub else None,
                                   tuple(band) if band else None, 45, 5)
        v = P.verdict(row[5] == "reproduced", probe)
        return (*row[:4], why, v, *((probe,) if v.startswith("differs") else ()))
    if q == "damped Newton (stop rule) runs ended by the rule within 10 iterations":
        from .table31 import early_stop_row

        btls = nums["rows"]["BTLS-GNM"]  # no run stalled at all, so none within 10 iterations
        if btls["stalled"] == 0:
            return early_stop_row(str(row[1]), f"0 of {btls['runs']} ended by the line search (none stalled)", False)
        return None
    if q.startswith("damped Newton, stop rule: band of success over the unstated Γ"):
        return ("damped Newton, stop rule: success over the unstated Γ × step size (a sensitivity study of "
                "critbench's choices, not a verdict; thesis: 45% ± 5)", row[1], "–", "",
                "the thesis states neither Γ nor a step size", "–")
    return None


def _table31_add(nums: dict[str, Any]) -> list[tuple[str, Row]]:
    """The wall-time-per-success row from the stored seconds and HVPs per success of the three thesis rows,
    after the last success row."""
    from .table31 import walltime_row

    per = {}
    for label, v in nums["rows"].items():
        if isinstance(v, dict) and v.get("thesis_success_pct") is not None:
            key = ("newton-mr" if label.startswith("Newton-MR") else "damped-newton" if label.startswith("damped")
                   else "btls-gnm" if label.startswith("BTLS-GNM") else None)
            if key:
                per[key] = (v["seconds_per_success"], v["hvps_per_success"])
    from .table31 import PUBLIC_CODE_LABEL, public_code_row

    out = []
    pub = nums["rows"].get(PUBLIC_CODE_LABEL)
    if pub:
        out.append(("damped Newton (critbench variant: always move, Alg. 11 as printed): success",
                    public_code_row(pub["successes"], pub["runs"])))
    if len(per) == 3:  # after the public-code row when both are new
        out.append((out[-1][1][0] if out else "damped Newton (critbench variant: always move, Alg. 11 as printed): "
                    "success", walltime_row(per["newton-mr"], per["damped-newton"], per["btls-gnm"])))
    return out


def attach_measured(docs: str | Path, name: str, store: Callable[[dict[str, Any]], None], field: str,
                    note: str) -> None:
    """Store numbers measured after a page was published into ``DOCS/<name>/summary.json`` (``store`` edits the
    loaded summary), record ``note`` under ``field`` there and as a line after the ``Command:`` line of its
    ``summary.md``; the rows that follow from them are then added by :func:`rejudge`."""
    f = Path(docs) / name / "summary.json"
    s = json.loads(f.read_text(encoding="utf-8"))
    store(s)
    s[field] = note
    f.write_text(json.dumps(s, indent=2, default=str), encoding="utf-8")
    md_path = f.with_name("summary.md")
    md = md_path.read_text(encoding="utf-8")
    if note not in md:
        head, sep, tail = md.partition("\nCommand: ")
        line, nl, tail = tail.partition("\n")
        md_path.write_text(f"{head}{sep}{line}{nl}\n{note}\n{tail}", encoding="utf-8")


def measure_public_code(docs: str | Path, out: str | Path = "results/reproduce/full") -> dict[str, Any]:
    """Run table-3.1's public-code probe (:func:`harness.reproduce.table31.public_code_cell`, the thesis's
    100 runs x 500 iterations, stored under ``out`` where ``critbench reproduce table-3.1 --full`` finds
    them) and store its numbers in ``DOCS/table-3.1/summary.json`` the way the experiment does; the rows
    then follow from :func:`rejudge`.  The rest of that page is not rerun."""
    from harness.solvers.damped_newton import PUBLIC_CODE_OPTIONS

    from . import table31
    from ._registry import Context

    recs = table31.public_code_cell(Context(mode="full", out=Path(out), quiet=False))
    k = sum(r["outcome"] == "critical" for r in recs)
    nums = {"runs": len(recs), "max_iter": recs[0]["max_iter"], "successes": k,
            "correct": sum(r.get("correct") is True for r in recs),
            "stalled": sum(r["status"] == "stalled" for r in recs),
            "gradient_flat": sum(r["outcome"] == "gradient-flat" for r in recs),
            "seconds_per_success": sum(float(r["seconds"]) for r in recs) / k if k else None,
            "hvps_per_success": sum(int(r["hvps"]) for r in recs) / k if k else None,
            "options": json.loads(json.dumps(PUBLIC_CODE_OPTIONS))}
    attach_measured(docs, table31.NAME, lambda s: s["numbers"]["rows"].__setitem__(table31.PUBLIC_CODE_LABEL, nums),
                    "measured_separately", PUBLIC_CODE_NOTE)
    return nums


#: The page note of a summary whose public-code probe was measured after its --full run.
PUBLIC_CODE_NOTE = ("The public-code probe's 100 runs x 500 iterations were run on their own "
                    "(`python -m harness.reproduce._rejudge --measure-public-code`, the experiment's "
                    "`public_code_cell` and `public_code_row`); every other number is from the committed --full run.")


def _stoican_add(nums: dict[str, Any]) -> list[tuple[str, Row]]:
    """The Algorithm 1 and gradient-floor rows from ``numbers["escape"]`` (stored by ``stoican.supplement``),
    after the global-minima row, in page order."""
    from .stoican import escape_rows

    out, after = [], "global minima reaching ||∇L||² < 1e-10 (harness)"
    for r in escape_rows(nums.get("escape")):
        out.append((after, r))
        after = r[0]
    return out


def _sampling_add(nums: dict[str, Any]) -> list[tuple[str, Row]]:
    """The unbiased-sample row from the stored counts of the thesis sampler, after the last claim row."""
    from .sampling import unbiased_row

    return [("distinct classes (distinct indices): with noise vs without", unbiased_row(nums))]


#: Rows a summary's stored numbers allow that the summary lacks: experiment -> numbers -> [(after quantity, row)].
ADDITIONS: dict[str, Callable[[dict[str, Any]], list[tuple[str, Row]]]] = {
    "table-3.1": _table31_add, "stoican-6.1": _stoican_add, "sec-3.2.3.2": _sampling_add}

RULES: dict[str, Callable[[str, Row, dict[str, Any]], Row | None]] = {
    "fig-3.2-3.3": _fig32, "fig-3.4": _fig34, "sec-3.2.3.2": _sampling, "si-lines": _si_lines,
    "stoican-6.1": _stoican, "table-3.1": _table31,
}


def _md_line(row: Row) -> str:
    return "| " + " | ".join(P._md_cell(c) for c in row[:6]) + " |"


def rejudge(docs: str | Path) -> list[tuple[str, str, str, str]]:
    """Rewrite the summaries under ``docs`` by :data:`RULES`; return ``(experiment, quantity, old verdict,
    new verdict)`` for every row that changed (quantity, published value or verdict)."""
    changes = []
    for f in sorted(Path(docs).glob("*/summary.json")):
        s = json.loads(f.read_text(encoding="utf-8"))
        rule = RULES.get(s["name"])
        if rule is None:
            continue
        adds = ADDITIONS.get(s["name"], lambda _: [])(s["numbers"])
        md_path = f.with_name("summary.md")
        md = md_path.read_text(encoding="utf-8")
        new_rows, changed = [], False
        for r in s["rows"]:
            old = (r["quantity"], r["ours"], r["published"], r["difference"], r["why"], r["verdict"])
            new = rule(old[0], old, s["numbers"])
            if new is None or tuple(new[:6]) == old:
                new_rows.append(r)
                continue
            P.check_row(new)
            changed = True
            if _md_line(old) not in md:
                raise ValueError(f"{md_path}: row {old[0]!r} not found")
            md = md.replace(_md_line(old), _md_line(new))
            probe = new[6] if len(new) > 6 else None
            new_rows.append({"quantity": new[0], "ours": new[1], "published": new[2], "difference": new[3],
                             "why": new[4], "verdict": new[5], "probe": probe.to_json() if probe else None})
            changes.append((s["name"], f"{old[0]} -> {new[0]}" if new[0] != old[0] else old[0],
                            old[5] if old[2] not in P.NO_PUBLISHED else "– (no published value)",
                            new[5] if new[2] not in P.NO_PUBLISHED else "– (no published value)"))
        have = {r["quantity"] for r in new_rows}
        for after, new in adds:
            if new[0] in have:
                continue
            P.check_row(new)
            at = next(i for i, r in enumerate(new_rows) if r["quantity"] == after)
            prev = new_rows[at]
            prev_line = _md_line(tuple(prev[k] for k in ("quantity", "ours", "published", "difference", "why",
                                                         "verdict")))
            if prev_line not in md:
                raise ValueError(f"{md_path}: row {after!r} not found")
            md = md.replace(prev_line, f"{prev_line}\n{_md_line(new)}")
            probe = new[6] if len(new) > 6 else None
            new_rows.insert(at + 1, {"quantity": new[0], "ours": new[1], "published": new[2], "difference": new[3],
                                     "why": new[4], "verdict": new[5], "probe": probe.to_json() if probe else None})
            changed = True
            changes.append((s["name"], f"{new[0]} (new row from the stored numbers)", "–", new[5]))
        if not changed:
            continue
        for r in new_rows:
            r.setdefault("probe", None)
        s["rows"] = new_rows
        s["comparisons"] = [[r[k] for k in ("quantity", "ours", "published", "difference", "why", "verdict")]
                            for r in new_rows]
        s["quick"] = "--quick" in s["command"].split()
        s["rejudged"] = NOTE
        f.write_text(json.dumps(s, indent=2, default=str), encoding="utf-8")
        if NOTE not in md:
            head, sep, tail = md.partition("\nCommand: ")
            line, nl, tail = tail.partition("\n")
            md = f"{head}{sep}{line}{nl}\n{NOTE}\n{tail}"
        md_path.write_text(md, encoding="utf-8")
    return changes


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "--measure-public-code":
        args = args[1:]
        nums = measure_public_code(args[0] if args else "docs/results")
        print(f"table-3.1 | public-code probe measured: {nums['successes']}/{nums['runs']} critical")
    for name, q, old, new in rejudge(args[0] if args else "docs/results"):
        print(f"{name} | {q} | {old} -> {new}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
