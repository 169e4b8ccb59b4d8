"""Report sweep section: success and cost against each swept parameter, from records alone."""

from __future__ import annotations

import math

import numpy as np

from harness.report import render_report, sweep_rows, sweep_section, swept_parameters
from harness.results.store import ResultStore


def _rec(i, forcing, k, outcome, hvps, solver="newton-mr"):
    return {"run_id": f"{solver}/{forcing}/{k}/{i}", "case": "dlae", "case_params": {"k": k, "p": 2},
            "case_key": f"dlae-{k}", "solver": solver, "solver_key": f"{solver}-{forcing}",
            "solver_options": {"forcing": forcing, "maxit": 0}, "seed": 0, "run_index": i, "max_iter": 50,
            "tol": 1e-10, "status": "converged", "outcome": outcome, "hvps": hvps, "grads": 1, "seconds": 0.1, "compile_seconds": 0.0,
            "correct": outcome == "critical", "batch_row": 0}


def _records():
    recs = []
    # forcing 0.1: k=3 -> 2/2 critical (10, 20 HVPs); k=4 -> 1/2 (30, 40)
    recs += [_rec(0, 0.1, 3, "critical", 10), _rec(1, 0.1, 3, "critical", 20),
             _rec(2, 0.1, 4, "critical", 30), _rec(3, 0.1, 4, "other", 40)]
    # forcing 0.5: k=3 -> 0/2 (50, 60); k=4 -> 1/2 (70 critical, 80)
    recs += [_rec(4, 0.5, 3, "other", 50), _rec(5, 0.5, 3, "gradient-flat", 60),
             _rec(6, 0.5, 4, "critical", 70), _rec(7, 0.5, 4, "other", 80)]
    return recs


def _wilson(k, n, z=1.959963984540054):  # closed form, written out independently
    p = k / n
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, c - h), min(1.0, c + h)


def test_swept_parameters_are_those_that_vary():
    assert swept_parameters(_records()) == ["case.k", "solver.forcing"]  # p, maxit, max_iter, tol, seed fixed


def test_rows_marginalise_over_the_other_parameters():
    rows = {(r["parameter"], r["value"]): r for r in sweep_rows(_records())}
    assert set(rows) == {("case.k", 3), ("case.k", 4), ("solver.forcing", 0.1), ("solver.forcing", 0.5)}
    f1, f5, k3 = rows[("solver.forcing", 0.1)], rows[("solver.forcing", 0.5)], rows[("case.k", 3)]
    assert (f1["runs"], f1["successes"], f5["successes"], k3["successes"]) == (4, 3, 1, 2)
    assert f1["ert_hvps"] == (10 + 20 + 30 + 40) / 3 and f5["ert_hvps"] == (50 + 60 + 70 + 80) / 1
    assert f1["median_hvps_success"] == 20 and f5["median_hvps_success"] == 70
    assert np.allclose(f1["success_ci"], _wilson(3, 4)) and f1["correct_fraction"] == 0.75
    assert k3["ert_hvps"] == (10 + 20 + 50 + 60) / 2


def test_section_in_report_only_when_something_is_swept(tmp_path):
    recs = _records()
    st = ResultStore(tmp_path / "sw")
    st.append_batch(recs, {"theta": np.zeros((len(recs), 2))}, "b0")
    page = render_report(tmp_path / "sw").read_text()
    assert "Sweep: success and cost against each swept parameter" in page
    assert "solver.forcing" in page and page.count("<figure><img alt='solver.forcing'") == 1
    fixed = [r for r in recs if r["solver_options"]["forcing"] == 0.1 and r["case_params"]["k"] == 3]
    assert sweep_section(fixed) == ""
