"""harness.gate.compare: regressions flagged, noise not (pure NumPy/SciPy, no solver runs)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.gate.compare import (
    BASELINE_FORMAT,
    CellStats,
    CompareError,
    cell_stats,
    compare,
    load_cells,
    main_compare,
    write_baseline,
)


def cell(case: str = "quartic", solver: str = "newton-mr", runs: int = 16, succ: int = 16,
         correct: int | None = None, hvps: list[int] | None = None) -> CellStats:
    hv = hvps if hvps is not None else [20] * succ
    return CellStats(case, f"{case}-key", solver, runs, succ, succ if correct is None else correct, tuple(sorted(hv)))


def records(case: str, solver: str, outcomes: list[str], hvps: list[int], correct: list[bool]) -> list[dict]:
    return [{"run_id": f"{case}/{solver}/0/{i}", "case": case, "case_key": f"{case}-key", "solver": solver,
             "outcome": o, "hvps": h, "correct": c} for i, (o, h, c) in enumerate(zip(outcomes, hvps, correct))]


def test_identical_results_pass() -> None:
    rep = compare([cell()], [cell()])
    assert rep.ok and rep.n_tests == 3


def test_success_drop_is_flagged_and_names_the_cell() -> None:
    rep = compare([cell("dlae", succ=15)], [cell("dlae", succ=5)])
    assert not rep.ok
    assert {t.metric for _, t in rep.regressions} == {"success", "correct"}
    assert "dlae x newton-mr" in rep.format().splitlines()[-1]


def test_correct_drop_alone_is_flagged() -> None:
    """Fig. 3.3: runs stopped early can still be 'critical' by a loose test but wrong in loss/index."""
    rep = compare([cell(succ=16, correct=16)], [cell(succ=16, correct=4)])
    assert [t.metric for _, t in rep.regressions] == ["correct"]


def test_improvements_are_never_flagged() -> None:
    rep = compare([cell(succ=4, hvps=[200, 210, 220, 230])], [cell(succ=16, hvps=list(range(10, 26)))])
    assert rep.ok


def test_cost_needs_significance_and_min_effect() -> None:
    rng = np.random.default_rng(0)
    base = [int(v) for v in rng.integers(100, 120, 200)]
    slower = [int(v * 1.2) for v in base]  # significant, but a 1.2x effect
    much = [int(v * 2) for v in base]
    small = compare([cell(runs=200, succ=200, hvps=base)], [cell(runs=200, succ=200, hvps=slower)])
    assert small.ok
    assert any("below min effect" in t.note for c in small.cells for t in c.tests)
    big = compare([cell(runs=200, succ=200, hvps=base)], [cell(runs=200, succ=200, hvps=much)])
    assert [t.metric for _, t in big.regressions] == ["hvps/succ"]


def test_records_and_cells_agree(tmp_path) -> None:
    recs = records("quartic", "newton-mr", ["critical"] * 3 + ["gradient-flat"], [10, 12, 14, 99], [True] * 3 + [False])
    (c,) = cell_stats(recs)
    assert (c.runs, c.successes, c.correct, c.hvps_success) == (4, 3, 3, (10, 12, 14))
    path = write_baseline(recs, tmp_path / "b.json")
    assert json.loads(path.read_text())["format"] == BASELINE_FORMAT
    assert load_cells(path) == [c]
    assert compare(recs, [c]).ok


def _draw_cells(rng: np.random.Generator, ps: list[float], n: int) -> list[CellStats]:
    out = []
    for i, p in enumerate(ps):
        k = int(rng.binomial(n, p))
        corr = int(rng.binomial(k, 0.9))
        hv = [int(v) for v in np.round(rng.lognormal(np.log(100 + 50 * i), 0.6, size=k))]
        out.append(CellStats(f"case{i}", f"k{i}", "s", n, k, corr, tuple(sorted(hv))))
    return out


def test_false_alarm_rate_is_bounded_by_alpha() -> None:
    """Same solver, different seeds: binomial counts and log-normal costs from one distribution.

    Over 300 synthetic comparisons of a 9-cell suite (27 one-sided tests, Holm at
    family-wise alpha = 0.01), the fraction flagging any regression must stay within
    3 binomial standard errors of alpha; the raw per-test p-values, below alpha at most
    an alpha fraction of the time (each test is valid on its own).
    """
    rng = np.random.default_rng(12345)
    ps = [1.0, 0.9, 0.6, 0.25, 0.5, 1.0, 0.875, 0.75, 0.4]
    alpha, trials = 0.01, 300
    family, per_test, n_tests = 0, 0, 0
    for _ in range(trials):
        rep = compare(_draw_cells(rng, ps, 16), _draw_cells(rng, ps, 16), alpha=alpha)
        family += not rep.ok
        per_test += sum(1 for c in rep.cells for t in c.tests if t.p is not None and t.p < alpha)
        n_tests += rep.n_tests
    bound = alpha + 3 * np.sqrt(alpha * (1 - alpha) / trials)
    assert family / trials <= bound, f"family-wise false-alarm rate {family / trials:.3f} > {bound:.3f}"
    assert per_test / n_tests <= alpha + 3 * np.sqrt(alpha / n_tests), f"per-test rate {per_test / n_tests:.4f}"


def test_main_compare_exit_codes(tmp_path, capsys) -> None:
    good = records("quartic", "newton-mr", ["critical"] * 16, list(range(10, 26)), [True] * 16)
    bad = records("quartic", "newton-mr", ["other"] * 16, [5] * 16, [False] * 16)
    a, b = write_baseline(good, tmp_path / "a.json"), write_baseline(bad, tmp_path / "b.json")
    assert main_compare(a, a, None) == 0
    assert main_compare(a, b, None) == 1
    assert "REGRESSION in: quartic x newton-mr" in capsys.readouterr().out
    assert main_compare(a, tmp_path / "missing", None) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("critbench compare: error:") and "\n" not in err


def test_bad_settings_raise_one_line_errors() -> None:
    with pytest.raises(CompareError, match="alpha"):
        compare([cell()], [cell()], alpha=2)
    with pytest.raises(CompareError, match="min_effect"):
        compare([cell()], [cell()], min_effect=0.5)
