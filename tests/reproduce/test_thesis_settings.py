"""The reproductions' thesis-setting rows use the thesis's options, and the Sec. 3.5 comparators are the
thesis's own quantities (the solver's r from the run's trace), with critbench's variants labelled."""

from __future__ import annotations

import math

import numpy as np

from harness.reproduce import cutoffs, field, quartic, table31
from harness.reproduce._page import VARIANT


def test_table31_thesis_rows_first_and_variants_unpublished() -> None:
    by_label = {r[0]: r for r in table31.ROWS}
    nmr = [r for r in table31.ROWS if r[1] == "newton-mr" and r[3] is not None]
    dn = [r for r in table31.ROWS if r[1] == "damped-newton" and r[3] is not None]
    assert [r[2] for r in nmr] == [{"forcing": 0.0}] and [r[2] for r in dn] == [{"rule": "stop"}]
    for label, row in by_label.items():
        assert (VARIANT in label) == (row[3] is None)  # a variant never carries a published number
    assert any(r[2] == {"rule": "move"} and VARIANT in r[0] for r in table31.ROWS)
    assert set(table31.BAND_RULES) == {"stop", "move"} and len(table31.BAND_GAMMAS) >= 2


def test_fig32_33_runs_without_early_stop_with_the_thesis_solver() -> None:
    assert cutoffs.THESIS_OPTIONS == {"forcing": 0.0} and quartic.THESIS_OPTIONS == {"forcing": 0.0}
    assert cutoffs.THESIS_CUTOFFS[0] == math.inf


def test_sec35_thesis_settings() -> None:
    assert field.THESIS_OPTIONS == {"forcing": 0.0}
    for name, (quick, full, _, _) in field.CASES.items():
        assert quick["init"] == full["init"] == "trajectory"
    assert field.CASES["swish-mlp"][0]["l2"] == field.CASES["swish-mlp"][1]["l2"] == 1.0  # r(θ) = ||θ||²
    assert field.CASES["overparam-mlp"][0]["zscore"] is False and field.CASES["overparam-mlp"][1]["zscore"] is False
    assert [c[2] for c in field.CASES.values()] == [100, 60, 50]  # the thesis's run counts
    claims = {name: {k for k, *_ in c[3]} for name, c in field.CASES.items()}
    assert "flat_solver_final" in claims["swish-autoencoder"] and "flat_final" not in claims["swish-autoencoder"]
    assert "max_r>0.9" in claims["overparam-mlp"] and "flat_ever" not in claims["overparam-mlp"]


def test_sec35_flatness_comparators_read_the_solvers_r() -> None:
    """Run a: not critical, the solver's last r is 0.95 although the harness's dense final r is 0.1 -> counted
    by the thesis's 28% quantity; run b: solver r 0.5 at the end but max r 0.97 over the run -> counted by the
    31/50 quantity only; run c: critical (excluded from 'not critical'), last r 0.99."""
    nan = math.nan
    r = np.array([[nan, 0.3, 0.95, nan], [nan, 0.97, 0.5, nan], [nan, 0.2, 0.99, nan]])
    arrays = {"b": {"r": r}}
    recs = [
        {"run_id": "a", "batch_id": "b", "batch_row": 0, "outcome": "other", "final_r": 0.1, "max_r": 0.95},
        {"run_id": "b", "batch_id": "b", "batch_row": 1, "outcome": "other", "final_r": 0.5, "max_r": 0.97},
        {"run_id": "c", "batch_id": "b", "batch_row": 2, "outcome": "critical", "final_r": 0.0, "max_r": 0.99},
    ]
    final_r = field.solver_final_r(recs, arrays)
    assert final_r == {"a": 0.95, "b": 0.5, "c": 0.99}
    st = field.stats(recs, {}, final_r)
    assert st["flat_solver_final"] == (1, 3)
    assert st["max_r>0.9"] == (3, 3)
    assert st["flat_final"] == (0, 3) and st["critical"] == (1, 3)


def test_fig34_plateau_rule_and_settings() -> None:
    from harness.reproduce import swish_dlae

    linear = 10.0 ** -np.arange(40.0)  # linear convergence: the last quarter keeps lowering the minimum
    flat = np.concatenate([10.0 ** -np.arange(10.0), np.full(30, 1e-9)])  # drops, then a plateau
    assert not swish_dlae.plateaus(linear) and swish_dlae.plateaus(flat)
    assert swish_dlae.plateaus(np.concatenate([flat, [math.nan] * 5]))  # padding after a run's end ignored
    assert swish_dlae.THESIS_OPTIONS == {"forcing": 0.0}
    params, runs, iters = swish_dlae.SETTINGS["full"]
    assert params["data"] == "gaussian" and params["n"] == 10000 and (runs, iters) == (10, 1000)


def test_table31_public_code_probe_runs_the_public_codes_behaviours() -> None:
    """The damped-Newton public-code probe runs FastNewtonTR's three behaviours with its stop rule and its
    MINRES-QLP defaults, with the thesis's 100 runs x 500 iterations at --full (not in quick mode)."""
    from harness.solvers.damped_newton import PUBLIC_CODE_OPTIONS, DampedNewton

    s = DampedNewton(**PUBLIC_CODE_OPTIONS)
    assert s.public_code and s.rule == "stop" and (s.maxxnorm, s.acondlim, s.trancond) == (1e7, 1e15, 1e7)
    assert s.gammas == (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6) and s.krylov_iters == 25 and s.step_size == 1.0
    assert table31.PUBLIC_CODE_BUDGET == {"quick": None, "full": (100, 500)}
    # the stop-rule row no longer claims to be the public code as a whole
    assert not any("thesis public code" in r[0] for r in table31.ROWS)


def test_table31_walltime_row_compares_ordering_and_ratios() -> None:
    """Thesis: Newton-MR 20 min, damped Newton 105 min, BTLS-GNM 75 min per success ('clearly superior')."""
    assert table31.THESIS_WALL_MIN == {"newton-mr": 20.0, "damped-newton": 105.0, "btls-gnm": 75.0}
    row = table31.walltime_row((10.0, 100.0), (50.0, 900.0), (40.0, 5000.0))
    assert row[5] == "reproduced" and "order Newton-MR < BTLS-GNM < damped Newton" in row[1]
    assert "(5x)" in row[1] and "order Newton-MR < BTLS-GNM < damped Newton" in row[2]
    # the committed run: damped Newton is (slightly) faster per success than Newton-MR -> not reproduced
    row = table31.walltime_row((19.96, 6815.7), (18.94, 8300.9), (231.0, 121224.3))
    assert row[5] == "not reproduced" and "order damped Newton < Newton-MR < BTLS-GNM" in row[1]
    assert table31.walltime_row((10.0, 1.0), (14.0, 1.0), (40.0, 1.0))[5] == "not reproduced"  # 1.4x: not clearly
    assert table31.walltime_row((None, None), (14.0, 1.0), (40.0, 1.0))[5] == "not reproduced"  # no success


def test_table31_early_stop_row_needs_both_solvers() -> None:
    assert table31.early_stop_row("84% (27/32)", "0% (0/20)", False)[5] == "not reproduced"
    row = table31.early_stop_row("84% (27/32)", "40% (8/20)", True)
    assert row[5] == "reproduced" and "BTLS-GNM 40% (8/20)" in row[1]


def test_noise_claim_needs_an_interval_over_seeds() -> None:
    from harness.reproduce import sampling

    assert sampling.noise_row([], "60 (40) vs 57 (41)")[5] == "not reproduced"  # one seed: no interval
    assert sampling.noise_row([3, 1], "x")[5] == "not reproduced"  # too few seeds
    assert sampling.noise_row([3, 4, 5, 3, 4], "x")[5] == "reproduced"
    row = sampling.noise_row([3, -2, 1, 0, 2], "x")  # mean 0.8, s.e. 0.86: the interval holds 0
    assert row[5] == "not reproduced" and "mean 0.8" in row[1]
    recs = [{"correct": True, "matched_class": "a", "index_count": 0}, {"correct": True, "matched_class": "b",
            "index_count": 0}, {"correct": False, "matched_class": "c", "index_count": 2}]
    assert sampling.distinct(recs) == (2, 1)
    assert sampling.NOISE_SEEDS["quick"] is None and len(sampling.NOISE_SEEDS["full"][0]) >= 3
