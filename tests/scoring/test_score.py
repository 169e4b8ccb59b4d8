"""score_run, flatness statistics, Wilson intervals, summaries and the cutoff analysis."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cases import get_case
from harness.scoring.cutoffs import cutoff_analysis
from harness.scoring.judge import flatness_statistics, score_run
from harness.scoring.summary import summarize
from harness.stats import wilson_interval

from ._helpers import make_example11

SQ2 = math.sqrt(2.0)


@pytest.fixture(scope="module")
def quartic():
    return get_case("quartic")


def test_minimum_is_critical_and_correct(quartic):
    rec = score_run(quartic, np.array([-3.0, 0.0]), "converged", {})
    assert rec["outcome"] == "critical"
    assert rec["correct"] is True
    assert rec["index_count"] == 0 and rec["nullity"] == 0
    assert abs(rec["loss_error"]) < 1e-12
    assert rec["matched_flat_point"] is None


@pytest.mark.parametrize("x, gnorm2", [(SQ2, (9 - 4 * SQ2) ** 2), (-SQ2, (9 + 4 * SQ2) ** 2)])
def test_quartic_strict_gradient_flat_points(quartic, x, gnorm2):
    rec = score_run(quartic, np.array([x, 0.0]), "stalled", {})
    assert rec["outcome"] == "gradient-flat"
    assert rec["final_r"] > 0.9 and rec["final_r_H"] < 5e-4
    assert rec["final_grad_norm_sq"] == pytest.approx(gnorm2, rel=1e-12)
    assert rec["correct"] is False
    flat = quartic.ground_truth.match_flat(np.array([x, 0.0]))
    assert rec["matched_flat_point"] == flat.label
    assert np.allclose(flat.point, [x, 0.0])


def test_generic_point_is_other(quartic):
    rec = score_run(quartic, np.array([0.0, 1.0]), "max_iter", {})
    assert rec["outcome"] == "other" and rec["correct"] is False
    assert rec["final_r"] < 0.9


def test_diverged_by_status_and_by_nan(quartic):
    assert score_run(quartic, np.array([-3.0, 0.0]), 3, {})["outcome"] == "diverged"
    rec = score_run(quartic, np.array([np.nan, 0.0]), "max_iter", {})
    assert rec["outcome"] == "diverged" and rec["correct"] is False and rec["final_loss"] is None


def test_scorer_recomputes_gradient_instead_of_trusting_solver(quartic):
    # A solver that reports convergence (trace ||g||^2 = 1e-20) at a perturbed point.
    theta = np.array([-3.0 + 1e-3, 0.0])
    rec = score_run(quartic, theta, "converged", {"grad_norm_sq": np.array([1.0, 1e-20])})
    assert rec["outcome"] == "other"
    assert rec["correct"] is False
    assert rec["final_grad_norm_sq"] > 1e-6


def test_wrong_index_or_loss_is_not_correct():
    origin = np.zeros(2)
    assert score_run(make_example11(), origin, "converged", {})["correct"] is True
    wrong_index = score_run(make_example11(origin_index=0), origin, "converged", {})
    assert wrong_index["outcome"] == "critical" and wrong_index["correct"] is False
    assert wrong_index["index_error_count"] == 1
    wrong_loss = score_run(make_example11(origin_loss=1.0 + 1e-4), origin, "converged", {})
    assert wrong_loss["correct"] is False
    assert wrong_loss["loss_error"] == pytest.approx(-1e-4)
    # within the documented relative tolerance 1e-6 it is correct
    assert score_run(make_example11(origin_loss=1.0 + 1e-8), origin, "converged", {})["correct"] is True


def test_example11_origin_index_half():
    case = get_case("example-1.1")
    rec = score_run(case, np.zeros(2), "converged", {})
    assert rec["index_count"] == 1 and rec["index_fraction"] == 0.5 and rec["correct"] is True


def test_trace_flatness_is_only_solver_reported(quartic):
    """A trace claiming r > 0.9, r_H < 5e-4 at some iterate is reported, never verified:
    no point the harness evaluated (the final one, no snapshots) is flat."""
    trace = {"r": np.array([np.nan, 0.95, 0.2]), "r_H": np.array([np.nan, 1e-5, 0.3])}
    rec = score_run(quartic, np.array([0.0, 1.0]), "max_iter", trace)
    assert rec["outcome"] == "other" and rec["ever_gradient_flat"] is False
    assert rec["reported_ever_gradient_flat"] is True and rec["flat_checked_points"] == 1
    assert rec["max_r"] == 0.95 and rec["min_r_H"] == 1e-5
    trace2 = {"r": np.array([np.nan, 0.95, 0.2]), "r_H": np.array([np.nan, 0.3, 1e-5])}
    assert score_run(quartic, np.array([0.0, 1.0]), "max_iter", trace2)["reported_ever_gradient_flat"] is False


def test_ever_flat_verified_at_a_snapshot_while_final_is_other(quartic):
    """The harness recomputes r, r_H densely at the cutoff snapshots: (sqrt 2, 0) is a
    strict gradient-flat point of the quartic (hand-derived, REFERENCE.md), (0, 1) is not."""
    nan = [np.nan, np.nan]
    snaps = np.array([nan, [SQ2, 0.0], nan])
    rec = score_run(quartic, np.array([0.0, 1.0]), "max_iter", {}, snapshots=snaps)
    assert rec["outcome"] == "other" and rec["ever_gradient_flat"] is True
    assert rec["reported_ever_gradient_flat"] is False and rec["flat_checked_points"] == 2
    not_flat = score_run(quartic, np.array([0.0, 1.0]), "max_iter", {}, snapshots=np.array([nan, [0.0, 2.0], nan]))
    assert not_flat["ever_gradient_flat"] is False and not_flat["flat_checked_points"] == 2


def test_large_case_trace_flatness_is_not_verified(quartic):
    """Above dense_max_dim the harness measures r, r_H matrix-free (issue 22); the solver's
    trace still only feeds the solver-reported columns, and snapshots are not checked."""
    trace = {"r": np.array([np.nan, 0.5, 0.97]), "r_H": np.array([np.nan, 0.1, 1e-4])}
    rec = score_run(quartic, np.array([0.0, 1.0]), "max_iter", trace, dense_max_dim=1,
                    snapshots=np.array([[SQ2, 0.0]] * 3))
    assert rec["flatness_source"] == "matrix-free" and rec["ever_gradient_flat"] is False
    assert rec["flat_checked_points"] == 1 and rec["reported_ever_gradient_flat"] is True


def test_large_case_measures_flatness_matrix_free(quartic):
    """At (0, 1) the quartic's Hessian diag(-6, 20.8) is nonsingular: the exact step solves
    H p = -g, so r ~ 0 (dense value) and the trace's fabricated flatness is not believed."""
    trace = {"r": np.array([np.nan, 0.5, 0.97]), "r_H": np.array([np.nan, 0.1, 1e-4])}
    rec = score_run(quartic, np.array([0.0, 1.0]), "max_iter", trace, dense_max_dim=1)
    dense = score_run(quartic, np.array([0.0, 1.0]), "max_iter", trace)
    assert rec["flatness_source"] == "matrix-free" and rec["outcome"] == "other" == dense["outcome"]
    assert rec["final_r"] == pytest.approx(dense["final_r"], abs=1e-8)
    assert rec["index_count"] is None  # not critical: no class, no closed-form index


def test_flatness_statistics_by_hand():
    h = np.diag([2.0, 0.0])
    s = flatness_statistics(h, np.array([0.0, 3.0]))  # g in ker H
    assert s["r"] == pytest.approx(1.0) and s["r_H"] == pytest.approx(0.0)
    s = flatness_statistics(h, np.array([3.0, 0.0]))  # g in range H: exact solve
    assert s["r"] == pytest.approx(0.0) and s["hfro"] == pytest.approx(2.0)
    s = flatness_statistics(np.diag([2.0, 1.0]), np.array([1.0, 1.0]))
    assert s["r"] == pytest.approx(0.0)


def _rec(i, outcome, hvps, seconds=1.0, correct=None, loss_error=None, solver="a", batch="b0", compile_s=2.0):
    return {"case": "c", "case_key": "c-1", "solver": solver, "solver_key": f"{solver}-1", "run_id": f"r{i}",
            "outcome": outcome, "hvps": hvps, "grads": 2 * hvps, "seconds": seconds, "correct": correct,
            "loss_error": loss_error, "index_error_count": 0 if outcome == "critical" else None,
            "ever_gradient_flat": outcome == "gradient-flat", "batch_id": batch, "compile_seconds": compile_s}


def test_summarize_counts_costs_and_ert():
    recs = [_rec(0, "critical", 10, correct=True, loss_error=1e-9),
            _rec(1, "critical", 30, correct=False, loss_error=-3e-9),
            _rec(2, "gradient-flat", 100, correct=False, batch="b1", compile_s=0.0),
            _rec(3, "diverged", 60, correct=False, batch="b1", compile_s=0.0),
            _rec(4, "other", 0, solver="z")]
    rows = summarize(recs)
    assert [r["solver"] for r in rows] == ["a", "z"]
    a = rows[0]
    assert a["runs"] == 4 and a["successes"] == 2 and a["correct"] == 1
    assert a["success_ci"] == pytest.approx(wilson_interval(2, 4))
    assert a["gradient_flat"] == 1 and a["gradient_flat_ever"] == 1 and a["diverged"] == 1
    assert a["ert_hvps"] == pytest.approx(200 / 2) and a["hvps_per_success"] == pytest.approx(100.0)
    assert a["grads_per_success"] == pytest.approx(400 / 2) and a["seconds_per_success"] == pytest.approx(2.0)
    assert a["hvps_to_success"] == [10, 30]
    assert a["mean_abs_loss_error"] == pytest.approx(2e-9)
    assert a["compile_seconds"] == pytest.approx(2.0)
    assert a["verified"] == 4 and a["correct_fraction"] == pytest.approx(1 / 4) and a["unverified"] == 0
    z = rows[1]
    assert z["successes"] == 0 and z["ert_hvps"] is None and z["correct"] is None and z["verified"] is None


def test_summarize_partial_ground_truth_counts_verified_and_unverified():
    """Critical runs a partial ground truth cannot judge (correct None) are counted as
    unverified and left out of correct/verified; verified runs give the fraction."""
    recs = [_rec(0, "critical", 10, correct=True), _rec(1, "critical", 10, correct=None),
            _rec(2, "critical", 10, correct=None), _rec(3, "other", 10, correct=False),
            _rec(4, "critical", 10, correct=None, solver="n")]
    a, n = summarize(recs)
    assert (a["runs"], a["successes"], a["verified"], a["correct"], a["unverified"]) == (4, 3, 2, 1, 2)
    assert a["correct_fraction"] == pytest.approx(0.5) and a["correct_ci"] == pytest.approx(wilson_interval(1, 2))
    assert n["verified"] is None and n["correct_fraction"] is None and n["unverified"] == 1
    flags = [dict(_rec(i, "other", 1), ever_gradient_flat=False, reported_ever_gradient_flat=True) for i in range(3)]
    row = summarize(flags)[0]
    assert row["gradient_flat_ever"] == 0 and row["gradient_flat_ever_reported"] == 3


def test_match_has_a_tolerance(quartic):
    """Beyond the documented distance no class (or flat point) is assigned, however near the nearest is."""
    from cases._core import MATCH_DISTANCE

    gt = quartic.ground_truth
    assert gt.match(np.array([-3.0 + 0.5 * MATCH_DISTANCE, 0.0])).label == gt.match(np.array([-3.0, 0.0])).label
    assert gt.match(np.array([-3.0 + 2 * MATCH_DISTANCE, 0.0])) is None
    assert gt.match(np.array([SQ2, 0.0])) is None  # a gradient-flat point is no critical class
    assert gt.match_flat(np.array([SQ2, 0.0])) is not None
    assert gt.match_flat(np.array([SQ2 + 2 * MATCH_DISTANCE, 0.0])) is None
    assert gt.match(np.array([np.nan, 0.0])) is None and gt.match(np.zeros(3)) is None
    ex = get_case("example-1.1").ground_truth
    assert ex.match(np.array([2.0, 0.5 + 0.5 * MATCH_DISTANCE])).label == "hyperbola"
    assert ex.match(np.array([0.3, 0.3])) is None  # 0.42 from the origin, 0.98 from the hyperbola
    rec = score_run(quartic, np.array([SQ2, 0.0]), "stalled", {})
    assert rec["matched_class"] is None and rec["loss_error"] is None and rec["index_error_count"] is None


def test_quartic_newton_mr_flat_runs_are_matched_to_the_flat_point_not_a_far_class():
    """Issue 12 item 5: Newton-MR runs on the quartic that stop at (sqrt 2, 0) used to be
    stored with matched_class = the minimum (-3, 0) and loss_error ~ 41.5."""
    from harness.testing import run_records

    recs = run_records("newton-mr", "quartic", runs=16, seed=0)
    flat = [r for r in recs if r["outcome"] == "gradient-flat"]
    assert len(flat) >= 2  # seed 0: 5 of 16
    for r in flat:
        assert r["matched_class"] is None and r["loss_error"] is None and r["class_loss"] is None
        assert r["matched_flat_point"] is not None and r["ever_gradient_flat"] is True
    labels = {r["matched_flat_point"] for r in flat}
    q = get_case("quartic").ground_truth
    assert all(np.allclose([f.point for f in q.flat_points if f.label == lab][0], [SQ2, 0.0]) for lab in labels)
    assert all(r["matched_class"] is not None for r in recs if r["outcome"] == "critical")


def test_cutoff_analysis_loose_cutoff_has_larger_error(quartic):
    mins = np.array([-3.0, 0.0])
    # snapshot axis order (1e-4, 1e-6, 1e-8, 1e-10); each farther from the minimum for looser cutoffs
    snaps = np.stack([mins + [3e-3, 0.0], mins + [3e-4, 0.0], mins + [1e-5, 0.0], mins + [1e-7, 0.0]])[None]
    # eps = inf is the run's initial point theta0 (thesis Sec. 3.2.3.4: "no cutoff"), the farthest of all
    arrays = {"b": {"theta0": (mins + [3e-2, 0.0])[None], "theta": mins[None], "snapshots": snaps.copy()}}
    recs = [{"run_id": "r0", "batch_id": "b", "batch_row": 0}]
    rows = {r["cutoff"]: r for r in cutoff_analysis(quartic, recs, arrays)}
    assert set(rows) == {1e-10, 1e-8, 1e-6, 1e-4, math.inf}
    assert all(rows[c]["n_points"] == 1 for c in rows)
    errs = [rows[c]["mean_abs_loss_error"] for c in (1e-10, 1e-8, 1e-6, 1e-4)]
    assert errs == sorted(errs) and errs[-1] > 1e-6 and errs[0] < 1e-12
    # theta0 is no critical point: it matches no class, and over all points its index counts as wrong
    assert rows[math.inf]["n_matched"] == 0 and rows[math.inf]["fraction_correct_index"] == 0.0
    assert rows[1e-4]["fraction_correct_index"] == 1.0
    # a run that never got below 1e-10 contributes no point there
    arrays["b"]["snapshots"][0, 3] = np.nan
    rows = {r["cutoff"]: r for r in cutoff_analysis(quartic, recs, arrays)}
    assert rows[1e-10]["n_points"] == 0 and rows[1e-10]["mean_abs_loss_error"] is None
    # a store written before 1e-8 was added: three columns (1e-4, 1e-6, 1e-10), no 1e-8 point
    arrays["b"]["snapshots"] = snaps[:, [0, 1, 3]]
    rows = {r["cutoff"]: r for r in cutoff_analysis(quartic, recs, arrays)}
    assert rows[1e-8]["n_points"] == 0 and rows[1e-10]["n_points"] == 1
    assert rows[1e-10]["mean_abs_loss_error"] < rows[1e-6]["mean_abs_loss_error"]


def test_partial_ground_truth_unmatched_critical_is_unverified():
    from cases import Case, CriticalClass, GroundTruth

    from ._helpers import example11_loss

    class Partial(GroundTruth):
        kind = "partial"

        def match(self, theta):  # only the origin is known
            return self.classes[0] if np.linalg.norm(theta) < 1e-3 else None

    gt = Partial([CriticalClass("origin", 1.0, 1, 0, 2, point=np.zeros(2))])
    case = Case("p", {}, 2, example11_loss, {}, lambda rng, n: rng.standard_normal((n, 2)), gt)
    on_hyperbola = score_run(case, np.array([2.0, 0.5]), "converged", {})
    assert on_hyperbola["outcome"] == "critical" and on_hyperbola["correct"] is None
    # unverified, but its dense loss and index are still recorded: L = 0, index 0 on the hyperbola
    assert on_hyperbola["final_loss"] == pytest.approx(0.0, abs=1e-12) and on_hyperbola["index_count"] == 0
    assert score_run(case, np.zeros(2), "converged", {})["correct"] is True
    assert score_run(case, np.array([2.0, 0.6]), "max_iter", {})["correct"] is False


def test_unmatched_critical_point_is_wrong_only_for_a_complete_exact_ground_truth():
    """An exact ground truth lists every class, so an unmatched critical point is an error;
    a numeric one (e.g. si-line's known lines) lists only some, so it is unverified."""
    from cases import Case, CriticalClass, GroundTruth

    from ._helpers import example11_loss

    def only_origin(kind):
        class G(GroundTruth):
            def match(self, theta):
                return self.classes[0] if np.linalg.norm(theta) < 1e-3 else None

        return G([CriticalClass("origin", 1.0, 1, 0, 2, point=np.zeros(2))], kind=kind)

    sampler = lambda rng, n: rng.standard_normal((n, 2))  # noqa: E731
    on_hyperbola = np.array([2.0, 0.5])
    exact = Case("e", {}, 2, example11_loss, {}, sampler, only_origin("exact"))
    numeric = Case("n", {}, 2, example11_loss, {}, sampler, only_origin("numeric"))
    assert score_run(exact, on_hyperbola, "converged", {})["correct"] is False
    assert score_run(numeric, on_hyperbola, "converged", {})["correct"] is None


def test_solver_fabricating_its_flatness_trace_gets_no_verified_flat():
    """Issue 12 item 4: a solver whose trace claims r = 0.99, r_H = 1e-6 at every iterate
    scores 0 verified 'ever gradient-flat'; the claim shows only as solver-reported."""
    import dataclasses

    from harness.solvers import get_solver
    from harness.testing import run_records

    class Liar:
        name = "liar"

        def __init__(self):
            self.inner = get_solver("newton-mr")

        def solve(self, problem, theta0, *, max_iter, tol):
            res = self.inner.solve(problem, theta0, max_iter=max_iter, tol=tol)
            trace = dict(res.trace)
            trace["r"] = np.full(np.shape(trace["r"]), 0.99)
            trace["r_H"] = np.full(np.shape(trace["r_H"]), 1e-6)
            return dataclasses.replace(res, trace=trace)

    theta0 = np.array([[-2.7, 0.2], [-3.2, -0.1], [-2.9, 0.3], [-3.3, 0.05]])  # basin of the minimum (-3, 0)
    recs = run_records(Liar(), "quartic", theta0=theta0)
    row = summarize(recs)[0]
    assert row["successes"] == 4 and row["gradient_flat_ever"] == 0 and row["gradient_flat"] == 0
    assert row["gradient_flat_ever_reported"] == 4


def test_kernel_fraction_is_robust_where_exact_r_collapses():
    """g almost all in the kernel, a sliver (1% of its norm) along an eigenvalue just above the
    5e-4 ||H||_F cutoff: the exact-step r collapses (the pinv step is huge) but the kernel
    fraction reads 0.99995; g in the range gives 0; a zero gradient gives NaN."""
    from harness.scoring.judge import FLAT_RH, kernel_fraction

    lam = np.array([0.0, 0.0, 1e-7, 1.0, 2.0, -3.0])
    hf = float(np.linalg.norm(lam))
    lam[3] = 1.2 * FLAT_RH * hf  # just above the cutoff (||H||_F barely changes)
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(6, 6)))
    h = q @ np.diag(lam) @ q.T
    g = q @ np.array([0.6, 0.8, 0.0, 0.01, 0.0, 0.0])
    frac = kernel_fraction(h, g)
    assert frac == pytest.approx(1 / np.sqrt(1 + 1e-4), rel=1e-9)
    assert flatness_statistics(h, g)["r"] < 0.9  # the exact-step test misses this flat point
    assert kernel_fraction(h, q @ np.array([0, 0, 0, 0, 1.0, 1.0])) == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(kernel_fraction(h, np.zeros(6)))
