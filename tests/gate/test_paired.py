"""Paired tests of harness.gate.compare: exact p-values, false alarms, power where pairing matters.

Ground truth: binomial tails by ``math.comb`` (not scipy), synthetic paired
data with a known null, and the committed gate baseline (``ci/baseline/gate.json``)
for the gate's own cells and run count.  No solver runs.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from harness.gate.compare import (
    CellStats,
    RunRow,
    changed_runs,
    compare,
    cost_changes,
    format_changes,
    load_cells,
)
from harness.gate.power import Effect, resample_pair

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "ci" / "baseline" / "gate.json"
ALPHA = 0.01


def make_cell(rows: list[RunRow], case: str = "quartic", solver: str = "newton-mr") -> CellStats:
    crit = [r for r in rows if r.success]
    return CellStats(case, f"{case}-key", solver, len(rows), len(crit), sum(bool(r.correct) for r in rows),
                     tuple(sorted(r.hvps for r in crit)), per_run=tuple(rows))


def row(i: int, ok: bool, hvps: int = 20, klass: str | None = "S={0,1}", seed: int = 0) -> RunRow:
    return RunRow(seed, i, "critical" if ok else "gradient-flat", ok, hvps, klass if ok else None, f"q/s/{seed}/{i}")


def test_paired_cells_use_paired_tests_and_say_so() -> None:
    base = make_cell([row(i, True) for i in range(16)])
    old = dataclasses.replace(base, per_run=())  # an old /1 baseline cell: counts only
    rep = compare([base], [base])
    assert [t.test for t in rep.cells[0].tests] == ["McNemar", "McNemar", "sign"]
    assert all(t.n == 16 for t in rep.cells[0].tests)
    assert "McNemar n=16" in rep.format() and "1/1 cells tested paired" in rep.format()
    rep_old = compare([old], [base])
    assert [t.test for t in rep_old.cells[0].tests] == ["Fisher", "Fisher", "Mann-Whitney"]
    assert [t.test for t in compare([base], [base], paired=False).cells[0].tests] == ["Fisher", "Fisher",
                                                                                       "Mann-Whitney"]


def test_pairs_only_identical_run_sets_but_lists_common_runs() -> None:
    """16 new runs against 64 base runs: unpaired tests (all 80 runs count), the 16 common runs still listed."""
    base = make_cell([row(i, True) for i in range(64)])
    new = make_cell([row(i, i >= 12) for i in range(16)])  # 12 of the first 16 runs now fail
    (c,) = compare([base], [new]).cells
    assert not c.is_paired and len(c.paired) == 16 and c.tests[0].test == "Fisher"
    assert "run sets differ (16 common of 64/16)" in c.tests[0].note
    assert len(changed_runs(c)) == 12
    (c,) = compare([make_cell([row(i, True) for i in range(16)])], [new]).cells
    assert c.is_paired and c.tests[0].p == pytest.approx(2.0**-12)
    other_seed = make_cell([row(i, True, seed=1) for i in range(16)])
    (c,) = compare([base], [other_seed]).cells
    assert not c.is_paired and not c.paired


def test_twenty_point_drop_at_half_success_caught_only_by_pairing() -> None:
    """A cell succeeding on 32 of 64 runs loses 13 of them (20 points): McNemar p = 2^-13, Fisher ~1e-2."""
    base_rows = [row(i, i % 2 == 0) for i in range(64)]
    lost = {i for i in range(0, 26, 2)}  # 13 successes become failures
    new_rows = [row(i, r.success and i not in lost) for i, r in enumerate(base_rows)]
    base, new = make_cell(base_rows), make_cell(new_rows)
    paired = compare([base], [new], alpha=ALPHA)
    unpaired = compare([base], [new], alpha=ALPHA, paired=False)
    assert {t.metric for _, t in paired.regressions} == {"success", "correct"}
    assert unpaired.ok, unpaired.format()
    assert paired.cells[0].tests[0].p == pytest.approx(2.0**-13)


def test_changed_runs_name_run_seed_and_verdicts() -> None:
    base = make_cell([row(i, True, hvps=20 + i) for i in range(8)], case="dlae")
    new_rows = [row(i, True, hvps=20 + i) for i in range(8)]
    new_rows[5] = RunRow(0, 5, "gradient-flat", False, 31, None, "d/s/0/5")
    new_rows[2] = dataclasses.replace(new_rows[2], hvps=66)
    rep = compare([base], [make_cell(new_rows, case="dlae")])
    (ch,) = changed_runs(rep.cells[0])
    assert ch.describe() == "dlae x newton-mr run 5 (seed 0): critical S={0,1} (correct) -> gradient-flat (wrong)"
    top = cost_changes(rep.cells[0])
    assert top[0].before.run_index == 2 and top[0].ratio == pytest.approx(3.0)
    text = format_changes(rep)
    assert "1 of 8 paired runs changed verdict" in text and "run 2 (seed 0): 22 -> 66 HVPs (x3.00)" in text


def _null_pairs(rng: np.random.Generator, n: int, n_cells: int = 10) -> tuple[list[CellStats], list[CellStats]]:
    """Exchangeable pairs: each run has its own success probability and cost scale; base and new draw independently."""
    base, new = [], []
    for k in range(n_cells):
        p = rng.beta(2, 1, size=n)
        scale = rng.lognormal(np.log(50 + 30 * k), 0.8, size=n)
        sides = []
        for _ in range(2):
            ok = rng.random(n) < p
            corr = ok & (rng.random(n) < 0.9)
            hv = np.round(scale * rng.lognormal(0, 0.3, size=n)).astype(int)
            sides.append(make_cell([RunRow(0, i, "critical" if o else "gradient-flat", bool(c), int(h))
                                    for i, (o, c, h) in enumerate(zip(ok, corr, hv))], case=f"c{k}"))
        base.append(sides[0])
        new.append(sides[1])
    return base, new


def test_paired_false_alarm_rate_is_bounded_by_alpha() -> None:
    """300 synthetic same-distribution comparisons of a 10-cell suite (30 tests, Holm at 0.01): <= alpha + 3 SE."""
    rng = np.random.default_rng(2026)
    trials, family, per_test, n_tests = 300, 0, 0, 0
    for _ in range(trials):
        rep = compare(*_null_pairs(rng, 32), alpha=ALPHA)
        assert all(c.is_paired for c in rep.cells)
        family += not rep.ok
        per_test += sum(1 for c in rep.cells for t in c.tests if t.p is not None and t.p < ALPHA)
        n_tests += rep.n_tests
    bound = ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / trials)
    assert family / trials <= bound, f"family-wise false-alarm rate {family / trials:.3f} > {bound:.3f}"
    assert per_test / n_tests <= ALPHA + 3 * math.sqrt(ALPHA / n_tests)


# --------------------------------------------------------------------------- on the committed gate baseline
def gate_cells() -> list[CellStats]:
    cells = load_cells(BASELINE)
    assert all(c.per_run for c in cells), "ci/baseline/gate.json lacks per-run rows; regenerate it"
    return cells


def gate_module():  # noqa: ANN201
    import importlib.util

    spec = importlib.util.spec_from_file_location("ci_gate", ROOT / "ci" / "gate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def gate_runs() -> int:
    return int(gate_module().RUNS)


def lose_runs(cell: CellStats, lost: set[int]) -> CellStats:
    """``cell`` with runs ``lost`` turned from whatever they were into failures."""
    rows = [dataclasses.replace(r, outcome="gradient-flat", correct=False if r.correct is not None else None,
                                matched_class=None) if r.run_index in lost else r for r in cell.per_run]
    crit = [r for r in rows if r.success]
    return dataclasses.replace(cell, successes=len(crit), per_run=tuple(rows), hvps_success=tuple(sorted(r.hvps for r in crit)),
                               correct=None if cell.correct is None else sum(bool(r.correct) for r in rows))


def test_gate_false_alarm_rate_on_resampled_baseline_runs() -> None:
    """Same-distribution resamples of the gate's own stored runs (half the runs replaced): <= alpha + 3 SE."""
    cells, rng, trials = gate_cells(), np.random.default_rng(7), 200
    alarms = sum(not compare(*resample_pair(cells, gate_runs(), rng, churn=0.5), alpha=ALPHA).ok
                 for _ in range(trials))
    assert alarms / trials <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / trials)


def test_twenty_point_drop_on_a_paired_gate_cell_is_caught_at_the_gate_run_count() -> None:
    """Every always-successful gate cell: 20% of its runs turned into failures, the rest of the suite unchanged."""
    cells, n = gate_cells(), gate_runs()
    assert all(c.runs == n for c in cells), "baseline run count differs from ci/gate.py RUNS"
    full = [k for k, c in enumerate(cells) if c.successes == c.runs]
    assert full
    for k in full:
        new = list(cells)
        new[k] = lose_runs(cells[k], set(range(math.ceil(0.2 * n))))
        rep = compare(cells, new, alpha=ALPHA)
        assert [(x.label, t.metric) for x, t in rep.regressions][:1] == [(cells[k].label, "success")], rep.format()


def test_gate_passes_unchanged_runs_and_names_changed_runs_when_it_fails() -> None:
    gate, cells = gate_module(), gate_cells()
    status, text = gate.judge(cells, cells)
    assert status == 0 and text.endswith("gate: PASS") and "10/10 cells tested paired" in text
    k = next(i for i, c in enumerate(cells) if c.case == "example-1.1" and c.solver == "newton-mr")
    new = list(cells)
    new[k] = lose_runs(cells[k], set(range(13)))
    status, text = gate.judge(cells, new)
    assert status == 1 and text.endswith("gate: FAIL: significant regression (see above)")
    assert "example-1.1 x newton-mr: 13 of 64 paired runs changed verdict" in text
    assert "example-1.1 x newton-mr run 0 (seed 0): critical" in text and "-> gradient-flat (wrong)" in text
    status, text = gate.judge(cells, [c for i, c in enumerate(cells) if i != k])
    assert status == 1 and "baseline cells missing from this run: example-1.1 x newton-mr" in text


def test_injected_cost_effect_is_flagged_in_the_target_cell_only() -> None:
    cells, rng = gate_cells(), np.random.default_rng(3)
    k = next(i for i, c in enumerate(cells) if c.case == "example-1.1" and c.solver == "newton-mr")
    rep = compare(*resample_pair(cells, gate_runs(), rng, churn=0.0, target=k, effect=Effect("cost", 2.0)))
    assert [(c.label, t.metric) for c, t in rep.regressions] == [(cells[k].label, "hvps/succ")]


def test_old_compact_baseline_still_loads_and_compares_unpaired(tmp_path: Path) -> None:
    """Format /1 (counts only, as committed before issue 16) loads; its cells have no rows and pair with nothing."""
    doc = {"format": "critbench-compare-baseline/1", "runs": 16, "cells": [
        {"case": "quartic", "case_key": "quartic-key", "solver": "newton-mr", "runs": 16, "successes": 16,
         "correct": 16, "hvps_success": [20] * 16, "case_params": {}}]}
    path = tmp_path / "old.json"
    path.write_text(__import__("json").dumps(doc))
    (old,) = load_cells(path)
    assert old.per_run == () and old.successes == 16
    new = make_cell([row(i, i >= 8) for i in range(16)])
    (c,) = compare([old], [new]).cells
    assert not c.is_paired and c.tests[0].test == "Fisher" and not c.paired
    assert c.tests[0].p == pytest.approx(math.comb(16, 8) / math.comb(32, 8))  # hypergeometric tail, closed form
