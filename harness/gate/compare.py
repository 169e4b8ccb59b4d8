"""Compare two result sets and flag statistically significant regressions.

Cells are ``(case, case_key, solver)`` (``solver`` = the solver's own ``name``
when recorded, so a patched subclass of ``newton-mr`` is compared with
``newton-mr``).  Per cell three one-sided tests look for the *regression*
direction only.

Paired tests (the default).  Run ``i`` of a ``(case, seed)`` starts from the
same initial point whatever the solver or code version
(:mod:`harness.run.initial_points`), so runs pair on ``(seed, run_index)``.  When
both sides carry per-run data (run records, or a baseline in format ``/2``)
and hold the *same* runs (every ``(seed, run_index)`` on both sides; the CI
gate's case), the tests are paired:

* **success** (critical outcomes): exact McNemar test -- of the ``d`` discordant
  pairs, ``b`` succeeded only in the base; under H0 ``b ~ Binomial(d, 1/2)``,
  p-value ``P(B >= b)`` (:func:`harness.stats.mcnemar_greater`);
* **correct** (critical *and* certified loss and index; a run the ground truth
  could not judge counts as not correct): the same on ``correct`` (skipped
  without ground truth);
* **cost** (HVPs of runs that succeed in *both*): exact one-sided sign test --
  of the ``m`` pairs whose HVPs differ, ``k`` got dearer; under H0 ``k ~
  Binomial(m, 1/2)``, p-value ``P(K >= k)`` (:func:`harness.stats.sign_greater`).  (Exact whatever the ties, which
  integer HVP counts have many of; a Wilcoxon signed-rank test would need a
  permutation null there.)  Flagged only when also the median per-pair ratio
  ``hvps_new / hvps_base >= min_effect`` (default 1.5); needs
  ``MIN_COST_SAMPLES`` such pairs.

Unpaired fallback, for sets that do not pair (different seeds, an old compact
baseline without per-run data, or different run sets -- e.g. 16 new runs
against a 64-run baseline: the unpaired tests then use all 80 runs, while
McNemar could use only the 16 common pairs; the common runs are still listed
as changed runs):

* **success / correct**: Fisher's exact test on ``[[k_base, n_base - k_base],
  [k_new, n_new - k_new]]``, ``alternative="greater"``;
* **cost per success**: one-sided Mann-Whitney U test (H1: new HVPs per success
  stochastically larger), flagged only when ``median(new) / median(base) >=
  min_effect``; needs ``MIN_COST_SAMPLES`` successes per side.

Each test records which test it used (``MetricTest.test``), shown in the table.

False-alarm rate.  ``alpha`` is the *family-wise* error rate over every test
actually performed (all cells, all metrics): by default Holm's step-down
Bonferroni correction (:func:`harness.stats.significant`; uniformly more powerful than plain Bonferroni, same
guarantee); ``correction="bonferroni"`` or ``"none"`` (each test at ``alpha``)
are available.  The exact tests are conservative, so the real false-alarm rate
is at most ``alpha`` (measured in ``tests/gate/test_compare.py`` and
``tests/gate/test_paired.py``; power in ``docs/gate-power.md``).

Changed runs.  :func:`changed_runs` lists the paired runs whose verdict
(outcome, correct, matched class) changed, and :func:`cost_changes` those whose
HVPs changed most; ``critbench compare`` prints both.

Inputs are run records (``harness.results.store.load_records``) or the cells of a
baseline file (:func:`write_baseline`): counts, HVPs of the successful runs and
one compact row per run (:class:`RunRow`).
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

from harness._format import fixed
from harness.results.store import json_default as _json_default
from harness.stats import (
    CORRECTIONS,
    fisher_greater,
    mannwhitney_greater,
    mcnemar_greater,
    sign_greater,
    significant,
)

__all__ = [
    "BASELINE_FORMAT",
    "BASELINE_FORMATS",
    "RunChange",
    "RunRow",
    "CellComparison",
    "CellStats",
    "CompareError",
    "CompareReport",
    "add_compare_arguments",
    "cell_stats",
    "changed_runs",
    "compare",
    "cost_changes",
    "format_changes",
    "load_cells",
    "main_compare",
    "pairs",
    "write_baseline",
]

#: ``format`` field of a baseline JSON file written now (cells carry per-run rows).
BASELINE_FORMAT = "critbench-compare-baseline/2"
#: Formats :func:`load_cells` reads (``/1``: counts only, compared unpaired).
BASELINE_FORMATS = ("critbench-compare-baseline/1", BASELINE_FORMAT)
#: Fewest successful runs per side for the cost test.
MIN_COST_SAMPLES = 3


class CompareError(ValueError):
    """Unusable comparison input (one-line message)."""


# --------------------------------------------------------------------------- cell statistics
#: Outcome counted as a success; any other outcome (including ones this module
#: does not know, e.g. ``invalid`` or ``error``) is a failure.
SUCCESS = "critical"


@dataclasses.dataclass(frozen=True)
class RunRow:
    """One run, as much as pairing and the changed-runs listing need.

    ``(seed, run_index)`` identifies the initial point (run ``run_index`` of
    ``seed`` starts from the same point for any solver, code version or number
    of runs); ``matched_class`` is the certified class the final point matched.
    """

    seed: int
    run_index: int
    outcome: str
    correct: bool | None
    hvps: int
    matched_class: str | None = None
    run_id: str | None = None

    @property
    def pair_key(self) -> tuple[int, int]:
        return (self.seed, self.run_index)

    @property
    def success(self) -> bool:
        return self.outcome == SUCCESS

    @property
    def verdict(self) -> str:
        """``outcome`` plus the matched class when there is one, e.g. ``critical S={0,1}``."""
        return self.outcome + (f" {self.matched_class}" if self.matched_class else "")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_record(cls, r: Mapping[str, Any]) -> RunRow:
        return cls(seed=int(r["seed"]), run_index=int(r["run_index"]), outcome=str(r.get("outcome")),
                   correct=None if r.get("correct") is None else bool(r["correct"]), hvps=int(r.get("hvps") or 0),
                   matched_class=None if r.get("matched_class") is None else str(r["matched_class"]),
                   run_id=None if r.get("run_id") is None else str(r["run_id"]))


@dataclasses.dataclass(frozen=True)
class CellStats:
    """What the tests need from one (case, solver) cell.

    Attributes:
        case, case_key, case_params: the case (``case_key`` hashes its full parameters).
        solver: the solver's name.
        runs: number of runs; successes: critical outcomes; correct: critical with
            certified loss and index (``None`` without ground truth).
        hvps_success: HVP counts of the successful runs, sorted.
        per_run: one :class:`RunRow` per run, by ``(seed, run_index)``; empty when
            unknown (old compact baseline), which makes the cell unpaired.
    """

    case: str
    case_key: str
    solver: str
    runs: int
    successes: int
    correct: int | None
    hvps_success: tuple[int, ...]
    case_params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    per_run: tuple[RunRow, ...] = ()

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.case, self.case_key, self.solver)

    @property
    def label(self) -> str:
        return f"{self.case} x {self.solver}"

    def to_json(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "per_run"}
        d["hvps_success"] = list(self.hvps_success)
        d["case_params"] = json.loads(json.dumps(dict(self.case_params), default=_json_default))
        d["per_run"] = _rows_to_columns(self.per_run)
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> CellStats:
        try:
            per_run = tuple(sorted(_rows_from_json(d.get("per_run")), key=lambda r: r.pair_key))
            cell = cls(case=str(d["case"]), case_key=str(d["case_key"]), solver=str(d["solver"]),
                       runs=int(d["runs"]), successes=int(d["successes"]),
                       correct=None if d.get("correct") is None else int(d["correct"]),
                       hvps_success=tuple(sorted(int(v) for v in d.get("hvps_success", ()))),
                       case_params=dict(d.get("case_params") or {}), per_run=per_run)
        except (KeyError, TypeError, ValueError) as exc:
            raise CompareError(f"bad baseline cell {dict(d).get('case')!r}: missing or invalid field {exc}") from None
        if not (0 <= cell.successes <= cell.runs) or (cell.correct is not None and not 0 <= cell.correct <= cell.runs):
            raise CompareError(f"bad baseline cell {cell.label}: counts outside [0, runs]")
        if per_run and (len(per_run) != cell.runs or sum(r.success for r in per_run) != cell.successes
                        or len({r.pair_key for r in per_run}) != len(per_run)):
            raise CompareError(f"bad baseline cell {cell.label}: per-run rows disagree with its counts")
        return cell


_ROW_FIELDS = frozenset(f.name for f in dataclasses.fields(RunRow))
_COLUMNS = ("seed", "run_index", "outcome", "correct", "hvps", "matched_class")


def _rows_to_columns(rows: Sequence[RunRow]) -> dict[str, Any]:
    """Per-run rows as columns (compact JSON); ``run_id_prefix`` when every ``run_id`` is ``prefix + seed/index``."""
    cols: dict[str, Any] = {c: [getattr(r, c) for r in rows] for c in _COLUMNS}
    prefixes = {r.run_id[: -len(f"{r.seed}/{r.run_index}")] if r.run_id and r.run_id.endswith(f"/{r.seed}/{r.run_index}")
                else None for r in rows}
    if len(prefixes) == 1 and None not in prefixes:
        cols["run_id_prefix"] = prefixes.pop()
    return cols


def _rows_from_json(obj: Any) -> list[RunRow]:
    """Rows from the columnar form (:func:`_rows_to_columns`) or a list of row objects."""
    if not obj:
        return []
    if isinstance(obj, Mapping):
        n = len(obj["seed"])
        if any(len(obj[c]) != n for c in _COLUMNS):
            raise ValueError("per_run columns differ in length")
        pre = obj.get("run_id_prefix")
        return [RunRow(seed=int(obj["seed"][i]), run_index=int(obj["run_index"][i]), outcome=str(obj["outcome"][i]),
                       correct=None if obj["correct"][i] is None else bool(obj["correct"][i]),
                       hvps=int(obj["hvps"][i]),
                       matched_class=None if obj["matched_class"][i] is None else str(obj["matched_class"][i]),
                       run_id=None if pre is None else f"{pre}{obj['seed'][i]}/{obj['run_index'][i]}")
                for i in range(n)]
    return [RunRow(**{k: v for k, v in r.items() if k in _ROW_FIELDS}) for r in obj]


def _solver_of(rec: Mapping[str, Any]) -> str:
    return str(rec.get("solver_name") or rec.get("solver"))


def cell_stats(records: Iterable[Mapping[str, Any]]) -> list[CellStats]:
    """Reduce run records to one :class:`CellStats` per (case, case_key, solver), first-seen order.

    Records with ``seed`` and ``run_index`` also give the cell its per-run rows
    (pairing); a record without them makes its cell unpaired.
    """
    groups: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for r in records:
        if "outcome" not in r or "case" not in r:
            raise CompareError("a record lacks 'outcome'/'case': not a critbench run record")
        key = (str(r["case"]), str(r.get("case_key") or json.dumps(r.get("case_params"), sort_keys=True,
                                                                     default=_json_default)), _solver_of(r))
        groups.setdefault(key, []).append(r)
    out = []
    for (case, ckey, solver), recs in groups.items():
        crit = [r for r in recs if r.get("outcome") == SUCCESS]
        has_gt = any(r.get("correct") is not None for r in recs)
        rows: tuple[RunRow, ...] = ()
        if all(r.get("seed") is not None and r.get("run_index") is not None for r in recs):
            rows = tuple(sorted((RunRow.from_record(r) for r in recs), key=lambda x: x.pair_key))
            if len({x.pair_key for x in rows}) != len(rows):
                raise CompareError(f"{case} x {solver}: two records share a (seed, run_index); "
                                   "one result set must hold each run once")
        out.append(CellStats(
            case=case, case_key=ckey, solver=solver, runs=len(recs), successes=len(crit),
            correct=sum(1 for r in recs if r.get("correct") is True) if has_gt else None,
            hvps_success=tuple(sorted(int(r.get("hvps") or 0) for r in crit)),
            case_params=dict(recs[0].get("case_params") or {}), per_run=rows,
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


def pairs(base: CellStats, new: CellStats) -> list[tuple[RunRow, RunRow]]:
    """The runs of ``base`` and ``new`` that start from the same initial point, by ``(seed, run_index)``."""
    if not base.per_run or not new.per_run:
        return []
    nmap = {r.pair_key: r for r in new.per_run}
    return [(b, nmap[b.pair_key]) for b in base.per_run if b.pair_key in nmap]


# --------------------------------------------------------------------------- the tests
#: Names of the tests, as recorded in :attr:`MetricTest.test`.
MCNEMAR, FISHER, SIGN, MANN_WHITNEY = "McNemar", "Fisher", "sign", "Mann-Whitney"


@dataclasses.dataclass
class MetricTest:
    """One one-sided test: ``metric``, base/new values, raw p-value, the test used, and the verdict.

    ``test`` is ``"McNemar"``/``"sign"`` (paired on ``n`` pairs) or
    ``"Fisher"``/``"Mann-Whitney"`` (unpaired); ``""`` when not performed.
    """

    metric: str
    base: float | None
    new: float | None
    p: float | None
    effect_ok: bool = True
    threshold: float | None = None
    regression: bool = False
    note: str = ""
    test: str = ""
    n: int | None = None


@dataclasses.dataclass
class CellComparison:
    """The tests of one cell."""

    base: CellStats
    new: CellStats
    tests: list[MetricTest]
    paired: list[tuple[RunRow, RunRow]] = dataclasses.field(default_factory=list)
    tested_paired: bool = False

    @property
    def label(self) -> str:
        return self.base.label

    @property
    def is_paired(self) -> bool:
        """Whether the tests were the paired ones (``paired`` lists the common runs either way)."""
        return self.tested_paired

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
        head = f"{'cell':<34} {'metric':<9} {'test':<15} {'base':>9} {'new':>9} {'p':>9} {'thr':>9}  verdict"
        lines = [head, "-" * len(head)]
        for c in self.cells:
            for i, t in enumerate(c.tests):
                name = c.label if i == 0 else ""
                verdict = "REGRESSION" if t.regression else (t.note or "ok")
                test = f"{t.test} n={t.n}" if t.test and t.n is not None else (t.test or "-")
                lines.append(f"{name[:34]:<34} {t.metric:<9} {test:<15} {fixed(t.base):>9} {fixed(t.new):>9} "
                             f"{fixed(t.p):>9} {fixed(t.threshold):>9}  {verdict}")
        for side, cells in (("base", self.only_base), ("new", self.only_new)):
            for cell in cells:
                lines.append(f"{cell.label[:34]:<34} only in {side} (not compared)")
        lines.append(
            f"{self.n_tests} one-sided tests, family-wise alpha={self.alpha:g} "
            f"({'Holm-Bonferroni' if self.correction == 'holm' else self.correction + ' correction'}), "
            f"cost regressions need median ratio >= {self.min_effect:g}; "
            f"{sum(c.is_paired for c in self.cells)}/{len(self.cells)} cells tested paired on (seed, run_index)"
        )
        if self.ok:
            lines.append("no significant regression")
        else:
            lines.append("REGRESSION in: " + "; ".join(f"{c.label} ({t.metric}: {fixed(t.base)} -> {fixed(t.new)}, "
                                                          f"p={fixed(t.p)})" for c, t in self.regressions))
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "alpha": self.alpha, "correction": self.correction, "min_effect": self.min_effect,
            "n_tests": self.n_tests,
            "cells": [{"case": c.base.case, "case_key": c.base.case_key, "solver": c.base.solver,
                       "paired": c.is_paired, "common_runs": len(c.paired), "tests": [dataclasses.asdict(t) for t in c.tests],
                       "changed_runs": [ch.to_json() for ch in changed_runs(c)],
                       "cost_changes": [ch.to_json() for ch in cost_changes(c)]} for c in self.cells],
            "only_base": [c.label for c in self.only_base], "only_new": [c.label for c in self.only_new],
        }


def compare(
    base_records: Sequence[Any],
    new_records: Sequence[Any],
    *,
    alpha: float = 0.01,
    min_effect: float = 1.5,
    correction: str = "holm",
    min_cost_samples: int = MIN_COST_SAMPLES,
    paired: bool = True,
) -> CompareReport:
    """Compare two result sets cell by cell (module docstring).

    Args:
        base_records, new_records: run records, or :class:`CellStats` / their JSON dicts.
        alpha: family-wise false-alarm rate over all tests performed, in ``(0, 1)``.
        min_effect: smallest median cost ratio (new / base) that counts as a cost regression, ``>= 1``.
        correction: ``"holm"`` (default), ``"bonferroni"`` or ``"none"``.
        min_cost_samples: fewest successes per side (unpaired) or pairs succeeding in both (paired)
            for the cost test.
        paired: pair runs on ``(seed, run_index)`` where both cells allow it (default); ``False``
            forces the unpaired tests everywhere (for measuring what pairing gains).

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
        pr = pairs(b, n)
        use_pairs = paired and bool(pr) and len(pr) == b.runs == n.runs
        tests = _paired_tests(pr, min_effect, min_cost_samples) if use_pairs else \
            _unpaired_tests(b, n, min_effect, min_cost_samples)
        if pr and not use_pairs and paired:
            tests[0].note = f"unpaired: run sets differ ({len(pr)} common of {b.runs}/{n.runs})"
        cells.append(CellComparison(b, n, tests, pr, use_pairs))
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


def _ratio(new: float, base: float) -> float:
    return new / base if base > 0 else (math.inf if new > 0 else 1.0)


def _unpaired_tests(b: CellStats, n: CellStats, min_effect: float, min_cost_samples: int) -> list[MetricTest]:
    """Fisher (success, correct) and Mann-Whitney (HVPs per success) on two unpaired cells."""
    tests = [MetricTest("success", b.successes / b.runs, n.successes / n.runs,
                        fisher_greater(b.successes, b.runs, n.successes, n.runs), test=FISHER)]
    if b.correct is not None and n.correct is not None:
        tests.append(MetricTest("correct", b.correct / b.runs, n.correct / n.runs,
                                fisher_greater(b.correct, b.runs, n.correct, n.runs), test=FISHER))
    if len(b.hvps_success) >= min_cost_samples and len(n.hvps_success) >= min_cost_samples:
        mb, mn = float(np.median(b.hvps_success)), float(np.median(n.hvps_success))
        ratio = _ratio(mn, mb)
        tests.append(MetricTest("hvps/succ", mb, mn, mannwhitney_greater(b.hvps_success, n.hvps_success),
                                effect_ok=ratio >= min_effect, note=f"ratio {ratio:.2f}", test=MANN_WHITNEY))
    else:
        tests.append(MetricTest("hvps/succ", _median(b.hvps_success), _median(n.hvps_success), None,
                                note=f"not tested (< {min_cost_samples} successes)"))
    return tests


def _paired_tests(pr: Sequence[tuple[RunRow, RunRow]], min_effect: float, min_cost_samples: int) -> list[MetricTest]:
    """McNemar (success, correct) and the sign test (HVPs, runs succeeding in both) on pairs."""
    m = len(pr)
    bs, ns = [x.success for x, _ in pr], [y.success for _, y in pr]
    tests = [MetricTest("success", sum(bs) / m, sum(ns) / m, mcnemar_greater(bs, ns), test=MCNEMAR, n=m)]
    if any(x.correct is not None for x, _ in pr) and any(y.correct is not None for _, y in pr):
        # a run the ground truth could not judge (correct null) is not correct, as in the unpaired count
        bc, nc = [x.correct is True for x, _ in pr], [y.correct is True for _, y in pr]
        tests.append(MetricTest("correct", sum(bc) / m, sum(nc) / m, mcnemar_greater(bc, nc), test=MCNEMAR, n=m))
    both = [(x.hvps, y.hvps) for x, y in pr if x.success and y.success]
    if len(both) >= min_cost_samples:
        hb, hn = [x for x, _ in both], [y for _, y in both]
        ratio = float(np.median([_ratio(y, x) for x, y in both]))
        tests.append(MetricTest("hvps/succ", float(np.median(hb)), float(np.median(hn)), sign_greater(hb, hn),
                                effect_ok=ratio >= min_effect, note=f"median pair ratio {ratio:.2f}",
                                test=SIGN, n=len(both)))
    else:
        tests.append(MetricTest("hvps/succ", _median([x for x, _ in both]), _median([y for _, y in both]), None,
                                note=f"not tested (< {min_cost_samples} runs succeed in both)"))
    return tests


# --------------------------------------------------------------------------- per-run differences
@dataclasses.dataclass(frozen=True)
class RunChange:
    """One paired run that changed: ``before``/``after`` rows of the same initial point."""

    cell: str
    before: RunRow
    after: RunRow

    @property
    def ratio(self) -> float:
        """HVP ratio after / before (``inf`` from zero HVPs)."""
        return _ratio(float(self.after.hvps), float(self.before.hvps))

    def describe(self) -> str:
        """``"dlae x newton-mr run 17 (seed 0): critical S={0,1} -> gradient-flat"``."""
        return (f"{self.cell} run {self.before.run_index} (seed {self.before.seed}): "
                f"{self.before.verdict}{_mark(self.before.correct)} -> {self.after.verdict}{_mark(self.after.correct)}")

    def to_json(self) -> dict[str, Any]:
        return {"cell": self.cell, "seed": self.before.seed, "run_index": self.before.run_index,
                "run_id_before": self.before.run_id, "run_id_after": self.after.run_id,
                "before": self.before.to_json(), "after": self.after.to_json(), "description": self.describe()}


def _mark(correct: bool | None) -> str:
    return "" if correct is None else (" (correct)" if correct else " (wrong)")


def changed_runs(cell: CellComparison) -> list[RunChange]:
    """Paired runs whose verdict changed (outcome, matched class or correctness), regressions first.

    The initial-point index of run ``run_index`` is ``run_index`` itself (pool
    ``run_index // POOL``, row ``run_index % POOL``; :mod:`harness.run.initial_points`).
    """
    out = [RunChange(cell.label, x, y) for x, y in cell.paired
           if (x.outcome, x.matched_class, x.correct) != (y.outcome, y.matched_class, y.correct)]
    return sorted(out, key=lambda ch: (not (ch.before.success and not ch.after.success),
                                       not (ch.before.correct and not ch.after.correct), ch.before.pair_key))


def cost_changes(cell: CellComparison, top: int = 5) -> list[RunChange]:
    """The ``top`` paired runs, succeeding in both, whose HVPs changed most (largest ``|log ratio|``)."""
    both = [RunChange(cell.label, x, y) for x, y in cell.paired if x.success and y.success and x.hvps != y.hvps]
    both.sort(key=lambda ch: -abs(math.log1p(ch.after.hvps) - math.log1p(ch.before.hvps)))
    return both[:top]


def format_changes(report: CompareReport, *, limit: int = 20, top: int = 5) -> str:
    """Plain-text listing of the changed runs and of the largest cost changes, per paired cell."""
    lines: list[str] = []
    for c in report.cells:
        ch = changed_runs(c)
        cost = cost_changes(c, top)
        if not ch and not cost:
            continue
        if ch:
            lines.append(f"{c.label}: {len(ch)} of {len(c.paired)} paired runs changed verdict")
            lines += ["  " + x.describe() for x in ch[:limit]]
            if len(ch) > limit:
                lines.append(f"  ... and {len(ch) - limit} more")
        if cost:
            lines.append(f"{c.label}: largest HVP changes (runs succeeding in both)")
            lines += [f"  run {x.before.run_index} (seed {x.before.seed}): {x.before.hvps} -> {x.after.hvps} HVPs "
                      f"(x{x.ratio:.2f})" for x in cost]
    unpaired = [c.label for c in report.cells if not c.paired]
    if unpaired:
        lines.append("no runs to list (no per-run data or no common (seed, run_index)): " + ", ".join(unpaired))
    return "\n".join(lines) if lines else "no paired run changed"


# --------------------------------------------------------------------------- files
def load_cells(path: str | Path, *, warn: bool = True) -> list[CellStats]:
    """Cells from a result directory (the records critbench wrote,
    :func:`harness.results.store.load_records`; read-only) or a baseline JSON file."""
    p = Path(path)
    if p.is_dir():
        from harness.results.store import load_records

        recs = load_records(p, warn=warn)
        if not recs:
            raise CompareError(f"{str(p)!r} holds no run records")
        return cell_stats(recs)
    if p.is_file():
        try:
            doc = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise CompareError(f"{str(p)!r} is not a readable JSON baseline: {exc}") from None
        if not isinstance(doc, dict) or doc.get("format") not in BASELINE_FORMATS or not isinstance(doc.get("cells"), list):
            raise CompareError(f"{str(p)!r} is not a critbench baseline (format {BASELINE_FORMAT!r})")
        return [CellStats.from_json(c) for c in doc["cells"]]
    raise CompareError(f"{str(p)!r} does not exist (expected a result directory or a baseline JSON file)")


def write_baseline(records_or_cells: Sequence[Any], path: str | Path, **extra: Any) -> Path:
    """Write the baseline JSON: per cell its counts, HVPs per success and one row per run (pairing)."""
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
    parser.add_argument("--unpaired", action="store_true",
                        help="use the unpaired tests (Fisher, Mann-Whitney) even where runs pair")
    parser.add_argument("--changes", type=int, default=20, metavar="N",
                        help="list at most N changed runs per cell (default 20; 0: none)")
    return parser


def _options(args: Any) -> argparse.Namespace:
    parser = add_compare_arguments(argparse.ArgumentParser(prog="critbench compare", add_help=False))
    rest = list(getattr(args, "rest", None) or [])
    try:
        opts = parser.parse_args(rest)
    except SystemExit:
        raise CompareError(f"bad compare options {' '.join(rest)!r}") from None
    for name in ("alpha", "min_effect", "correction", "json", "unpaired", "changes"):
        if getattr(args, name, None) is not None and not rest:
            setattr(opts, name, getattr(args, name))
    return opts


def _store_notes(path: str | Path) -> None:
    """One stderr line per problem of a result directory's store (lines not written by critbench, missing arrays)."""
    from harness.results.store import StoreError, check_store

    if not Path(path).is_dir():
        return
    try:
        chk = check_store(path)
    except StoreError:
        return  # load_cells names it
    if not chk.no_index:
        for note in chk.notes():
            print(f"critbench compare: warning: {path}: {note}", file=sys.stderr)


def main_compare(base: str | Path, new: str | Path, args: Any = None) -> int:
    """``critbench compare BASE NEW``: print the table and the changed runs; 1 on a regression, 0 if none, 2 on bad input.

    ``BASE``/``NEW`` are result directories or baseline JSON files.
    """
    try:
        opts = _options(args)
        if opts.changes < 0:
            raise CompareError(f"--changes must be >= 0, got {opts.changes}")
        for p in (base, new):  # one line per ignored-lines / missing-arrays problem of a result directory
            _store_notes(p)
        report = compare(load_cells(base, warn=False), load_cells(new, warn=False), alpha=opts.alpha, min_effect=opts.min_effect,
                         correction=opts.correction, paired=not opts.unpaired)
        if not report.cells:
            raise CompareError("no (case, solver) cell is present in both result sets")
    except (CompareError, ValueError) as exc:  # StoreError is a ValueError
        print(f"critbench compare: error: {exc}", file=sys.stderr)
        return 2
    if opts.json:
        print(json.dumps(report.to_json(), indent=1, default=_json_default))
    else:
        print(report.format())
        if opts.changes:
            print("\nChanged runs (same initial point before and after):")
            print(format_changes(report, limit=opts.changes))
    return 0 if report.ok else 1
