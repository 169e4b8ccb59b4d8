"""Compare two result sets and flag statistically significant regressions.

Cells are ``(case, case_key, solver)`` (``solver`` = the solver's own ``name``
when recorded, so a patched subclass of ``newton-mr`` is compared with
``newton-mr``).  Per cell three one-sided tests look for the *regression*
direction only:

* **success fraction** (critical outcomes) -- higher is better: Fisher's exact
  test on the 2x2 table ``[[s_base, f_base], [s_new, f_new]]`` with
  ``alternative="greater"`` (H1: the base's odds of success are higher);
* **correct fraction** (critical *and* certified loss and index) -- higher is
  better: the same test on the correct counts (skipped without ground truth);
* **cost per success** (HVPs of each successful run) -- lower is better: a
  one-sided Mann-Whitney U test (H1: new costs are stochastically larger),
  flagged only when also ``median(new) / median(base) >= min_effect`` (default
  1.5), so a tiny but significant slowdown does not fail; needs at least
  ``MIN_COST_SAMPLES`` successes on both sides.

False-alarm rate.  ``alpha`` is the *family-wise* error rate over every test
actually performed (all cells, all metrics): by default Holm's step-down
Bonferroni correction (uniformly more powerful than plain Bonferroni, same
guarantee); ``correction="bonferroni"`` or ``"none"`` (each test at ``alpha``)
are available.  Fisher's exact test is conservative, so the real false-alarm
rate is at most ``alpha`` (measured in ``tests/gate/test_compare.py``).

Inputs are run records (``harness.store.load_records``) or the compact cell
statistics of a baseline file (:func:`write_baseline`), which keeps only
what the tests need: run and success/correct counts and the HVPs of the
successful runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.store import json_default as _json_default

__all__ = [
    "BASELINE_FORMAT",
    "CellComparison",
    "CellStats",
    "CompareError",
    "CompareReport",
    "add_compare_arguments",
    "cell_stats",
    "compare",
    "load_cells",
    "significant",
    "main_compare",
    "write_baseline",
]

#: ``format`` field of a baseline JSON file.
BASELINE_FORMAT = "critbench-compare-baseline/1"
#: Fewest successful runs per side for the cost test.
MIN_COST_SAMPLES = 3
CORRECTIONS = ("holm", "bonferroni", "none")


class CompareError(ValueError):
    """Unusable comparison input (one-line message)."""


# --------------------------------------------------------------------------- cell statistics
@dataclasses.dataclass(frozen=True)
class CellStats:
    """What the tests need from one (case, solver) cell.

    Attributes:
        case, case_key, case_params: the case (``case_key`` hashes its full parameters).
        solver: the solver's name.
        runs: number of runs; successes: critical outcomes; correct: critical with
            certified loss and index (``None`` without ground truth).
        hvps_success: HVP counts of the successful runs, sorted.
    """

    case: str
    case_key: str
    solver: str
    runs: int
    successes: int
    correct: int | None
    hvps_success: tuple[int, ...]
    case_params: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.case, self.case_key, self.solver)

    @property
    def label(self) -> str:
        return f"{self.case} x {self.solver}"

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["hvps_success"] = list(self.hvps_success)
        d["case_params"] = json.loads(json.dumps(dict(self.case_params), default=_json_default))
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> CellStats:
        try:
            cell = cls(case=str(d["case"]), case_key=str(d["case_key"]), solver=str(d["solver"]),
                       runs=int(d["runs"]), successes=int(d["successes"]),
                       correct=None if d.get("correct") is None else int(d["correct"]),
                       hvps_success=tuple(sorted(int(v) for v in d.get("hvps_success", ()))),
                       case_params=dict(d.get("case_params") or {}))
        except (KeyError, TypeError, ValueError) as exc:
            raise CompareError(f"bad baseline cell {dict(d).get('case')!r}: missing or invalid field {exc}") from None
        if not (0 <= cell.successes <= cell.runs) or (cell.correct is not None and not 0 <= cell.correct <= cell.runs):
            raise CompareError(f"bad baseline cell {cell.label}: counts outside [0, runs]")
        return cell


def _solver_of(rec: Mapping[str, Any]) -> str:
    return str(rec.get("solver_name") or rec.get("solver"))


def cell_stats(records: Iterable[Mapping[str, Any]]) -> list[CellStats]:
    """Reduce run records to one :class:`CellStats` per (case, case_key, solver), first-seen order."""
    groups: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for r in records:
        if "outcome" not in r or "case" not in r:
            raise CompareError("a record lacks 'outcome'/'case': not a critbench run record")
        key = (str(r["case"]), str(r.get("case_key") or json.dumps(r.get("case_params"), sort_keys=True,
                                                                     default=_json_default)), _solver_of(r))
        groups.setdefault(key, []).append(r)
    out = []
    for (case, ckey, solver), recs in groups.items():
        crit = [r for r in recs if r.get("outcome") == "critical"]
        has_gt = any(r.get("correct") is not None for r in recs)
        out.append(CellStats(
            case=case, case_key=ckey, solver=solver, runs=len(recs), successes=len(crit),
            correct=sum(1 for r in recs if r.get("correct") is True) if has_gt else None,
            hvps_success=tuple(sorted(int(r.get("hvps") or 0) for r in crit)),
            case_params=dict(recs[0].get("case_params") or {}),
        ))
    return out


def _as_cells(data: Sequence[Any]) -> list[CellStats]:
    data = list(data)
    if not data:
        return []
    if all(isinstance(d, CellStats) for d in data):
        return data
    if all(isinstance(d, Mapping) and "run_id" not in d and "successes" in d for d in data):
        return [CellStats.from_json(d) for d in data]
    return cell_stats(data)


# --------------------------------------------------------------------------- the tests
def fisher_greater(base_k: int, base_n: int, new_k: int, new_n: int) -> float:
    """One-sided Fisher exact p-value for "base proportion > new proportion"."""
    from scipy.stats import fisher_exact

    if base_n == 0 or new_n == 0:
        return 1.0
    table = [[base_k, base_n - base_k], [new_k, new_n - new_k]]
    return float(fisher_exact(table, alternative="greater").pvalue)


def mannwhitney_greater(base: Sequence[float], new: Sequence[float]) -> float:
    """One-sided Mann-Whitney U p-value for "new values are stochastically larger"."""
    from scipy.stats import mannwhitneyu

    if len(base) == 0 or len(new) == 0:
        return 1.0
    if np.ptp(np.concatenate([base, new])) == 0:
        return 1.0
    return float(mannwhitneyu(new, base, alternative="greater").pvalue)


@dataclasses.dataclass
class MetricTest:
    """One one-sided test: ``metric``, base/new values, raw p-value, and the verdict."""

    metric: str
    base: float | None
    new: float | None
    p: float | None
    effect_ok: bool = True
    threshold: float | None = None
    regression: bool = False
    note: str = ""


@dataclasses.dataclass
class CellComparison:
    """The tests of one cell."""

    base: CellStats
    new: CellStats
    tests: list[MetricTest]

    @property
    def label(self) -> str:
        return self.base.label

    @property
    def regressions(self) -> list[MetricTest]:
        return [t for t in self.tests if t.regression]


@dataclasses.dataclass
class CompareReport:
    """Result of :func:`compare`.

    Attributes:
        cells: matched cells with their tests.
        only_base, only_new: cells present on one side only (not tested).
        alpha, correction, min_effect: the settings; n_tests: tests performed.
    """

    cells: list[CellComparison]
    only_base: list[CellStats]
    only_new: list[CellStats]
    alpha: float
    correction: str
    min_effect: float
    n_tests: int

    @property
    def regressions(self) -> list[tuple[CellComparison, MetricTest]]:
        return [(c, t) for c in self.cells for t in c.tests if t.regression]

    @property
    def ok(self) -> bool:
        return not self.regressions

    def format(self) -> str:
        """A plain-text table plus a verdict line naming each regressed cell."""
        head = f"{'cell':<34} {'metric':<9} {'base':>9} {'new':>9} {'p':>9} {'thr':>9}  verdict"
        lines = [head, "-" * len(head)]
        for c in self.cells:
            for i, t in enumerate(c.tests):
                name = c.label if i == 0 else ""
                verdict = "REGRESSION" if t.regression else (t.note or "ok")
                lines.append(f"{name[:34]:<34} {t.metric:<9} {_fmt(t.base):>9} {_fmt(t.new):>9} {_fmt(t.p):>9} "
                             f"{_fmt(t.threshold):>9}  {verdict}")
        for side, cells in (("base", self.only_base), ("new", self.only_new)):
            for cell in cells:
                lines.append(f"{cell.label[:34]:<34} only in {side} (not compared)")
        lines.append(
            f"{self.n_tests} one-sided tests, family-wise alpha={self.alpha:g} "
            f"({'Holm-Bonferroni' if self.correction == 'holm' else self.correction + ' correction'}), "
            f"cost regressions need median ratio >= {self.min_effect:g}"
        )
        if self.ok:
            lines.append("no significant regression")
        else:
            lines.append("REGRESSION in: " + "; ".join(f"{c.label} ({t.metric}: {_fmt(t.base)} -> {_fmt(t.new)}, "
                                                          f"p={_fmt(t.p)})" for c, t in self.regressions))
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "alpha": self.alpha, "correction": self.correction, "min_effect": self.min_effect,
            "n_tests": self.n_tests,
            "cells": [{"case": c.base.case, "case_key": c.base.case_key, "solver": c.base.solver,
                       "tests": [dataclasses.asdict(t) for t in c.tests]} for c in self.cells],
            "only_base": [c.label for c in self.only_base], "only_new": [c.label for c in self.only_new],
        }


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and (x == 0 or 1e-3 <= abs(x) < 1e5):
        return f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"
    return f"{x:.2g}"


def significant(pvals: Sequence[float], alpha: float, correction: str = "holm") -> tuple[list[bool], list[float]]:
    """Which tests reject at family-wise level ``alpha``, and each test's threshold.

    ``"none"``: ``p < alpha``; ``"bonferroni"``: ``p < alpha / m``; ``"holm"``:
    sort ascending, reject ``p_(j) < alpha / (m - j)`` (``j = 0, 1, ...``) until the
    first non-rejection (Holm 1979; controls the family-wise rate like Bonferroni).
    """
    m = len(pvals)
    if correction == "none":
        thr = [alpha] * m
        return [p < alpha for p in pvals], thr
    if correction == "bonferroni":
        thr = [alpha / m] * m
        return [p < alpha / m for p in pvals], thr
    order = sorted(range(m), key=lambda i: pvals[i])
    thr = [0.0] * m
    rej = [False] * m
    going = True
    for j, i in enumerate(order):
        thr[i] = alpha / (m - j)
        going = going and pvals[i] < thr[i]
        rej[i] = going
    return rej, thr


def compare(
    base_records: Sequence[Any],
    new_records: Sequence[Any],
    *,
    alpha: float = 0.01,
    min_effect: float = 1.5,
    correction: str = "holm",
    min_cost_samples: int = MIN_COST_SAMPLES,
) -> CompareReport:
    """Compare two result sets cell by cell (module docstring).

    Args:
        base_records, new_records: run records, or :class:`CellStats` / their JSON dicts.
        alpha: family-wise false-alarm rate over all tests performed, in ``(0, 1)``.
        min_effect: smallest median cost ratio (new / base) that counts as a cost regression, ``>= 1``.
        correction: ``"holm"`` (default), ``"bonferroni"`` or ``"none"``.
        min_cost_samples: fewest successes per side for the cost test.

    Raises:
        CompareError: bad settings or records.
    """
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise CompareError(f"alpha must be in (0, 1), got {alpha!r}")
    if not (isinstance(min_effect, (int, float)) and math.isfinite(min_effect) and min_effect >= 1):
        raise CompareError(f"min_effect must be a number >= 1, got {min_effect!r}")
    if correction not in CORRECTIONS:
        raise CompareError(f"correction must be one of {', '.join(CORRECTIONS)}, got {correction!r}")
    base = {c.key: c for c in _as_cells(base_records)}
    new = {c.key: c for c in _as_cells(new_records)}
    cells: list[CellComparison] = []
    for key, b in base.items():
        if key not in new:
            continue
        n = new[key]
        tests = [MetricTest("success", b.successes / b.runs, n.successes / n.runs,
                            fisher_greater(b.successes, b.runs, n.successes, n.runs))]
        if b.correct is not None and n.correct is not None:
            tests.append(MetricTest("correct", b.correct / b.runs, n.correct / n.runs,
                                    fisher_greater(b.correct, b.runs, n.correct, n.runs)))
        if len(b.hvps_success) >= min_cost_samples and len(n.hvps_success) >= min_cost_samples:
            mb, mn = float(np.median(b.hvps_success)), float(np.median(n.hvps_success))
            ratio = mn / mb if mb > 0 else (math.inf if mn > 0 else 1.0)
            tests.append(MetricTest("hvps/succ", mb, mn, mannwhitney_greater(b.hvps_success, n.hvps_success),
                                    effect_ok=ratio >= min_effect, note=f"ratio {ratio:.2f}"))
        else:
            tests.append(MetricTest("hvps/succ", _median(b.hvps_success), _median(n.hvps_success), None,
                                    note=f"not tested (< {min_cost_samples} successes)"))
        cells.append(CellComparison(b, n, tests))
    performed = [t for c in cells for t in c.tests if t.p is not None]
    rej, thr = significant([float(t.p) for t in performed], float(alpha), correction)  # type: ignore[arg-type]
    for t, sig, th in zip(performed, rej, thr):
        t.threshold = th
        t.regression = bool(sig and t.effect_ok)
        if sig and not t.effect_ok:
            t.note = (t.note + ", " if t.note else "") + f"significant but below min effect {min_effect:g}"
    return CompareReport(
        cells=cells,
        only_base=[c for k, c in base.items() if k not in new],
        only_new=[c for k, c in new.items() if k not in base],
        alpha=float(alpha), correction=correction, min_effect=float(min_effect), n_tests=len(performed),
    )


def _median(v: Sequence[int]) -> float | None:
    return float(np.median(v)) if len(v) else None


# --------------------------------------------------------------------------- files
def load_cells(path: str | Path) -> list[CellStats]:
    """Cells from a result directory (``runs.jsonl``) or a baseline JSON file."""
    p = Path(path)
    if p.is_dir():
        from harness.store import load_records

        recs = load_records(p)
        if not recs:
            raise CompareError(f"{str(p)!r} holds no run records")
        return cell_stats(recs)
    if p.is_file():
        try:
            doc = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise CompareError(f"{str(p)!r} is not a readable JSON baseline: {exc}") from None
        if not isinstance(doc, dict) or doc.get("format") != BASELINE_FORMAT or not isinstance(doc.get("cells"), list):
            raise CompareError(f"{str(p)!r} is not a critbench baseline (format {BASELINE_FORMAT!r})")
        return [CellStats.from_json(c) for c in doc["cells"]]
    raise CompareError(f"{str(p)!r} does not exist (expected a result directory or a baseline JSON file)")


def write_baseline(records_or_cells: Sequence[Any], path: str | Path, **extra: Any) -> Path:
    """Write the compact baseline JSON (cell statistics only; a few KB)."""
    cells = _as_cells(records_or_cells)
    cells = sorted(cells, key=lambda c: (str(c.case), str(c.solver), str(c.case_key)))
    doc = {"format": BASELINE_FORMAT, **extra, "cells": [c.to_json() for c in cells]}
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    head = json.dumps({k: v for k, v in doc.items() if k != "cells"}, indent=1, default=_json_default)
    body = ",\n".join("  " + json.dumps(c, default=_json_default) for c in doc["cells"])
    tmp.write_text(head[:-2] + ',\n "cells": [\n' + body + "\n ]\n}\n")
    tmp.replace(p)
    return p


# --------------------------------------------------------------------------- command line
def add_compare_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--alpha``, ``--min-effect``, ``--correction`` and ``--json`` to ``parser``."""
    parser.add_argument("--alpha", type=float, default=0.01, help="family-wise false-alarm rate (default 0.01)")
    parser.add_argument("--min-effect", type=float, default=1.5,
                        help="smallest median HVP-per-success ratio counted as a cost regression (default 1.5)")
    parser.add_argument("--correction", choices=CORRECTIONS, default="holm",
                        help="multiple-testing correction across cells and metrics (default holm)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def _options(args: Any) -> argparse.Namespace:
    parser = add_compare_arguments(argparse.ArgumentParser(prog="critbench compare", add_help=False))
    rest = list(getattr(args, "rest", None) or [])
    try:
        opts = parser.parse_args(rest)
    except SystemExit:
        raise CompareError(f"bad compare options {' '.join(rest)!r}") from None
    for name in ("alpha", "min_effect", "correction", "json"):
        if getattr(args, name, None) is not None and not rest:
            setattr(opts, name, getattr(args, name))
    return opts


def main_compare(base: str | Path, new: str | Path, args: Any = None) -> int:
    """``critbench compare BASE NEW``: print the table; 1 on a regression, 0 if none, 2 on bad input.

    ``BASE``/``NEW`` are result directories or baseline JSON files.
    """
    try:
        opts = _options(args)
        report = compare(load_cells(base), load_cells(new), alpha=opts.alpha, min_effect=opts.min_effect,
                         correction=opts.correction)
        if not report.cells:
            raise CompareError("no (case, solver) cell is present in both result sets")
    except (CompareError, ValueError) as exc:  # StoreError is a ValueError
        print(f"critbench compare: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_json(), indent=1) if opts.json else report.format())
    return 0 if report.ok else 1
