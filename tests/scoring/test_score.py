"""score_run, flatness statistics, Wilson intervals, summaries and the cutoff analysis."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cases import get_case
from harness.score import (
    cutoff_analysis,
    flatness_statistics,
    score_run,
    summarize,
    wilson_interval,
)

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


def test_ever_flat_from_trace_while_final_is_other(quartic):
    trace = {"r": np.array([np.nan, 0.95, 0.2]), "r_H": np.array([np.nan, 1e-5, 0.3])}
    rec = score_run(quartic, np.array([0.0, 1.0]), "max_iter", trace)
    assert rec["outcome"] == "other" and rec["ever_gradient_flat"] is True
    assert rec["max_r"] == 0.95 and rec["min_r_H"] == 1e-5
    trace2 = {"r": np.array([np.nan, 0.95, 0.2]), "r_H": np.array([np.nan, 0.3, 1e-5])}
    assert score_run(quartic, np.array([0.0, 1.0]), "max_iter", trace2)["ever_gradient_flat"] is False


def test_large_case_falls_back_to_trace(quartic):
    trace = {"r": np.array([np.nan, 0.5, 0.97]), "r_H": np.array([np.nan, 0.1, 1e-4])}
    rec = score_run(quartic, np.array([0.0, 1.0]), "max_iter", trace, dense_max_dim=1)
    assert rec["flatness_source"] == "trace" and rec["outcome"] == "gradient-flat"
    assert rec["index_count"] is None


def test_flatness_statistics_by_hand():
    h = np.diag([2.0, 0.0])
    s = flatness_statistics(h, np.array([0.0, 3.0]))  # g in ker H
    assert s["r"] == pytest.approx(1.0) and s["r_H"] == pytest.approx(0.0)
    s = flatness_statistics(h, np.array([3.0, 0.0]))  # g in range H: exact solve
    assert s["r"] == pytest.approx(0.0) and s["hfro"] == pytest.approx(2.0)
    s = flatness_statistics(np.diag([2.0, 1.0]), np.array([1.0, 1.0]))
    assert s["r"] == pytest.approx(0.0)


def test_wilson_interval_hand_computed():
    # k = 8, n = 10, z = 1.959964: centre = (8 + z^2/2)/(10 + z^2) = 0.716738,
    # half = z sqrt(1.6 + z^2/4)/(10 + z^2) = 0.226578.
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.490162, abs=1e-5)
    assert hi == pytest.approx(0.943315, abs=1e-5)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


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
    z = rows[1]
    assert z["successes"] == 0 and z["ert_hvps"] is None and z["correct"] is None


def test_cutoff_analysis_loose_cutoff_has_larger_error(quartic):
    mins = np.array([-3.0, 0.0])
    # snapshot axis order (1e-4, 1e-6, 1e-10); each farther from the minimum for looser cutoffs
    snaps = np.stack([mins + [3e-3, 0.0], mins + [3e-4, 0.0], mins + [1e-7, 0.0]])[None]
    arrays = {"b": {"theta": mins[None], "snapshots": snaps}}
    recs = [{"run_id": "r0", "batch_id": "b", "batch_row": 0}]
    rows = {r["cutoff"]: r for r in cutoff_analysis(quartic, recs, arrays)}
    assert set(rows) == {1e-10, 1e-6, 1e-4, math.inf}
    assert all(rows[c]["n_points"] == 1 for c in rows)
    errs = [rows[c]["mean_abs_loss_error"] for c in (math.inf, 1e-10, 1e-6, 1e-4)]
    assert errs == sorted(errs) and errs[-1] > 1e-6 and errs[0] < 1e-12
    assert rows[1e-4]["fraction_correct_index"] == 1.0
    # a run that never got below 1e-10 contributes no point there
    arrays["b"]["snapshots"][0, 2] = np.nan
    rows = {r["cutoff"]: r for r in cutoff_analysis(quartic, recs, arrays)}
    assert rows[1e-10]["n_points"] == 0 and rows[1e-10]["mean_abs_loss_error"] is None


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
