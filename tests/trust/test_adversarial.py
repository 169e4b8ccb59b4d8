"""Adversarial solvers: nothing a solver under test does may make it score (issue 12).

Every attack is a plug-in used as a user would use one -- ``module:attr`` of
:mod:`tests.trust._attackers`, built with the NumPy adapter or as a custom
class with ``solve`` -- run through :func:`harness.run.runner.run_spec` or the CLI.
Each must score zero successes or be rejected with a one-line reason.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from cases import get_case
from harness.cli import main
from harness.run.initial_points import initial_points
from harness.run.runner import run_spec
from harness.run.spec import RunSpec
from harness.run.worker import isolated_data
from harness.results.store import load_arrays, load_records
from tests.trust import _attackers
from tests.trust.conftest import error_lines

A = "tests.trust._attackers:"
DLAE = ("dlae", {"k": 6, "p": 2, "n": 500, "exact": True})
QUARTIC = ("quartic", {})


def _run(tmp_path, case, solver, *, runs=4, batch=None, max_iter=20, options=None, seed=0):
    spec = RunSpec(case[0], case[1], A + solver, options or {}, runs, seed, max_iter=max_iter, batch_size=batch)
    return run_spec(spec, tmp_path / "out")


def _no_success(recs):
    assert recs, "no records"
    assert not [r["run_index"] for r in recs if r["outcome"] == "critical"], "an attack scored a success"
    assert not any(r.get("correct") for r in recs)


def _rejected(recs, outcome, *needles):
    _no_success(recs)
    for r in recs:
        assert r["outcome"] == outcome, r
        reason = r["invalid_reason" if outcome == "invalid" else "error"]
        assert reason and "\n" not in reason
        for needle in needles:
            assert needle in reason, reason
        assert r["final_loss"] is None and r["matched_class"] is None
        assert r["correct"] is False  # both test cases have exact ground truth: judged, not correct


# --------------------------------------------------------------------------- malformed theta
@pytest.mark.parametrize(
    ("case", "solver", "needle"),
    [
        (DLAE, "five_entries", "shape (5,)"),  # a p = 0 DLAE: zero gradient, used to score 8/8 critical
        (QUARTIC, "five_entries", "shape (5,)"),  # used to crash with a JAX traceback
        (QUARTIC, "one_too_many", "shape (3,)"),  # dim + 1, used to pass silently
        (DLAE, "ShapeLiar", "theta has shape (4, 25)"),  # custom class, dim + 1
        (QUARTIC, "MissingFields", "no 'status'"),
        (QUARTIC, "float32_theta", "dtype float32"),
        (QUARTIC, "integer_theta", "dtype int64"),
        (QUARTIC, "Float32Class", "dtype float32"),
    ],
)
def test_malformed_theta_is_invalid_never_a_success(tmp_path, case, solver, needle):
    recs = _run(tmp_path, case, solver)
    _rejected(recs, "invalid", needle)
    assert [r["run_id"] for r in load_records(tmp_path / "out")] == [r["run_id"] for r in recs]


def test_plus_inf_is_diverged(tmp_path):
    recs = _run(tmp_path, QUARTIC, "plus_inf")
    _no_success(recs)
    assert {r["outcome"] for r in recs} == {"diverged"}


def test_nan_in_one_run_leaves_the_others_alone(tmp_path):
    target = _attackers.point_option(initial_points(get_case("quartic"), 0, [1])[0])
    recs = _run(tmp_path, QUARTIC, "nan_on_target", runs=4, batch=4, max_iter=50, options={"target": target})
    assert [r["outcome"] for r in recs] == ["critical", "diverged", "critical", "critical"]


# --------------------------------------------------------------------------- isolation
def test_solver_zeroing_its_data_scores_nothing(tmp_path):
    before = np.array(get_case(*DLAE[:1], **DLAE[1]).data["x"])
    recs = _run(tmp_path, DLAE, "DataZeroer", runs=4, batch=2)
    _no_success(recs)
    assert all(r["outcome"] == "other" and r["final_loss"] > 1e-3 for r in recs)
    np.testing.assert_array_equal(np.array(get_case(*DLAE[:1], **DLAE[1]).data["x"]), before)


def test_isolated_data_is_a_read_only_copy():
    data = {"x": np.arange(3.0), "y": get_case("quartic").data["a"]}
    copy = isolated_data(data)
    assert copy is not data and copy["x"] is not data["x"] and copy["y"] is not data["y"]
    with pytest.raises(ValueError):
        copy["x"][0] = 7.0
    copy["x"] = None
    assert data["x"][0] == 0.0 and data["x"].flags.writeable


def test_solver_gets_copies_and_points_are_scored_on_a_rebuilt_case(tmp_path, sandboxed):
    """Sandboxed: the Spy reports what it saw as its iteration count (1: fresh, read-only)."""
    spec = RunSpec("dlae", DLAE[1], A + "Spy", {}, 3, 0, max_iter=5, batch_size=1, threads=1)
    recs = run_spec(spec, tmp_path / "out")
    assert [r["run_index"] for r in recs] == [0, 1, 2]
    assert [r["n_iter"] for r in recs] == [1, 1, 1], "a solver saw zeroed or writeable data"
    _no_success(recs)


def test_solver_gets_copies_and_points_are_scored_on_a_rebuilt_case_unsandboxed(tmp_path, unsandboxed):
    """Each layer on its own: the solver's data is a fresh read-only copy on every call (warm-up
    included), its initial points are read-only, and scoring uses a case it never held."""
    log = tmp_path / "spy.jsonl"
    spec = RunSpec("dlae", DLAE[1], A + "Spy", {"log": str(log)}, 3, 0, max_iter=5, batch_size=1, threads=1)
    recs = run_spec(spec, tmp_path / "out")
    assert [r["run_index"] for r in recs] == [0, 1, 2]
    seen = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(seen) == 4  # one worker: warm-up + 3 one-run shards
    for call in seen:
        assert not call["zeroed"], "a solver saw data zeroed by an earlier call: not a fresh copy"
        assert not call["writeable"]
    _no_success(recs)


def test_mutated_options_are_not_what_is_recorded(tmp_path):
    recs = _run(tmp_path, QUARTIC, "OptionMutator", runs=4, batch=2)
    _no_success(recs)
    assert [r["solver_options"] for r in recs] == [{"step": 0.5, "schedule": [1, 2]}] * 4
    assert len({r["solver_key"] for r in recs}) == 1


# --------------------------------------------------------------------------- failures are results
def test_solver_exception_is_an_error_result_with_global_run_and_seed(tmp_path, capsys):
    target = _attackers.point_option(initial_points(get_case("quartic"), 0, [3])[0])
    out = tmp_path / "out"
    code = main(["run", "--case", "quartic", "--solver", A + "raise_on_target", "--option", f"target={target}",
                 "--runs", "6", "--batch-size", "2", "--max-iter", "50", "--out", str(out), "--quiet"])
    cap = capsys.readouterr()
    assert code == 1
    assert "quartic × " in cap.out  # the summary was printed
    err = cap.err.strip().splitlines()
    assert len(err) == 1 and "run 3" in err[0] and "seed 0" in err[0] and "RuntimeError: boom" in err[0]
    recs = sorted(load_records(out), key=lambda r: r["run_index"])
    assert [r["outcome"] for r in recs] == ["critical"] * 3 + ["error"] + ["critical"] * 2
    assert recs[3]["error"] == "run 3 (seed 0): RuntimeError: boom on the targeted run"


def test_custom_solver_exception_fails_its_shards_and_exit_1(tmp_path, capsys):
    recs = _run(tmp_path, QUARTIC, "Raiser", runs=3, batch=2)
    _rejected(recs, "error", "seed 0", "ValueError: custom solver exploded")
    assert recs[0]["error"].startswith("solver raised on runs 0-1 (one batch)")
    assert recs[2]["error"].startswith("solver raised on run 2 ")
    code = main(["run", "--case", "quartic", "--solver", A + "Raiser", "--runs", "2", "--out",
                 str(tmp_path / "cli"), "--quiet"])
    assert code == 1 and "custom solver exploded" in capsys.readouterr().err


def test_honest_solver_exits_0(tmp_path, capsys):
    code = main(["run", "--case", "quartic", "--solver", A + "newton", "--runs", "2", "--max-iter", "50",
                 "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 0 and capsys.readouterr().err == ""


# --------------------------------------------------------------------------- lies
def test_initial_point_with_a_converged_trace_is_not_a_success(tmp_path):
    recs = _run(tmp_path, DLAE, "initial_point")
    _no_success(recs)
    assert all(r["final_grad_norm_sq"] > 1e-10 for r in recs)


def test_certified_critical_point_of_another_instance_is_not_a_success(tmp_path):
    other = get_case("dlae", **{**DLAE[1], "rotation": True, "seed": 1})
    best = min((c for c in other.ground_truth.classes if c.point is not None), key=lambda c: c.loss)
    point = np.asarray(best.point, dtype=np.float64)
    # Premise: it is critical for its own instance (gradient in float64 by central differences).
    eps, f = 1e-6, lambda t: float(other.loss(t))
    g = np.array([(f(point + eps * e) - f(point - eps * e)) / (2 * eps) for e in np.eye(point.size)])
    assert g @ g < 1e-8
    recs = _run(tmp_path, DLAE, "foreign_point", options={"point": _attackers.point_option(point)})
    _no_success(recs)


def test_fabricated_flatness_trace_does_not_fool_ever_gradient_flat(tmp_path):
    recs = _run(tmp_path, QUARTIC, "fake_flatness")
    _no_success(recs)
    assert not any(r["ever_gradient_flat"] for r in recs)


def test_hvps_are_the_harness_counts_or_labelled_solver_reported(tmp_path):
    recs = _run(tmp_path / "a", QUARTIC, "hides_hvps", runs=2)
    _no_success(recs)
    # counted by the NumPy adapter's oracles, but in the plug-in's own process: reported, not vouched for
    assert [(r["hvps"], r["grads"], r["cost_source"]) for r in recs] == [(7, 3, "reported")] * 2
    assert all(r["judge_cpu_seconds"] > 0 and r["judge_wall_seconds"] > 0 for r in recs)
    recs = _run(tmp_path / "b", QUARTIC, "HvpUnderreporter", runs=2)
    assert [(r["hvps"], r["cost_source"]) for r in recs] == [(0, "reported")] * 2


# --------------------------------------------------------------------------- the maximally flat iterate (Fig. 3.6D)
def test_forged_max_r_iterate_of_wrong_shape_is_invalid(tmp_path):
    recs = _run(tmp_path, QUARTIC, "ForgedMaxR", options={"mode": "shape"})
    _rejected(recs, "invalid", "max_r_theta has shape (4, 3)")


@pytest.mark.parametrize("mode", ["point", "iter"])
def test_forged_max_r_iterate_changes_no_verdict_and_is_left_out_of_fig_3_6d(tmp_path, mode):
    from harness.reproduce import field

    def points(recs, d):
        arrays = {b: load_arrays(d, b) for b in {str(r["batch_id"]) for r in recs}}
        return field.max_r_points("quartic", {}, recs, arrays)

    honest = _run(tmp_path / "h", QUARTIC, "ForgedMaxR", options={"mode": "none"}, max_iter=60)
    forged = _run(tmp_path / "f", QUARTIC, "ForgedMaxR", options={"mode": mode}, max_iter=60)
    keys = ("outcome", "status", "n_iter", "final_loss", "final_grad_norm_sq", "index_count", "correct",
            "matched_class", "max_r", "ever_gradient_flat", "reported_ever_gradient_flat")
    assert [{k: r[k] for k in keys} for r in forged] == [{k: r[k] for k in keys} for r in honest]
    # the judge: the honest points match the stored trace; the forged ones do not and are left out
    good = points(honest, tmp_path / "h" / "out")
    assert good and all(p["consistent"] for p in good.values()), good
    bad = points(forged, tmp_path / "f" / "out")
    assert not any(p["consistent"] for p in bad.values()), bad
    assert field.fig36d_counts(bad, 40.0)["kept"] == (0, 4)


# --------------------------------------------------------------------------- the result directory
def test_solver_cannot_write_into_the_result_directory_in_the_sandbox(tmp_path, sandboxed):
    out = tmp_path / "out"
    recs = _run(tmp_path, QUARTIC, "vandal", runs=4, batch=2, options={"out_dir": str(out)})
    _no_success(recs)  # its writes failed, or went to the sandbox's own /tmp: never to the store
    assert "forged" not in (out / "runs.jsonl").read_text() and not (out / "arrays" / "forged.npz").exists()
    assert {r["sandbox"] for r in recs} == {"bwrap"}


def test_solver_writing_into_the_result_directory(tmp_path, capsys, unsandboxed):
    out = tmp_path / "out"
    recs = _run(tmp_path, QUARTIC, "vandal", runs=4, batch=2, options={"out_dir": str(out)})
    _no_success(recs)
    assert [r["run_index"] for r in recs] == [0, 1, 2, 3] and "forged" not in {r["run_id"] for r in recs}
    # The harness's own arrays are intact (written after the solve, atomically).
    x0 = initial_points(get_case("quartic"), 0, range(4))
    for r in recs:
        np.testing.assert_array_equal(load_arrays(out, r["batch_id"])["theta0"][r["batch_row"]], x0[r["run_index"]])
    # The foreign line is never counted: it has no index entry; score says so in one line.
    assert main(["score", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    err = captured.err
    n_forged = (out / "runs.jsonl").read_text().count('"run_id": "forged"')
    assert n_forged >= 1
    assert f"ignored {n_forged} lines in runs.jsonl not written by critbench ({n_forged} with no index entry)" in err
    assert len(error_lines(err)) == 1 and json.loads(captured.out)[0]["runs"] == 4
    lines = (out / "runs.jsonl").read_text().splitlines()
    stored = [json.loads(line)["run_id"] for line in lines]
    assert "forged" in stored and {r["run_id"] for r in recs} <= set(stored)  # the harness stored all of its runs
