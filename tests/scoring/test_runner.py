"""The runner: keys, reproducible initial points, batching, resume, timing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cases import get_case
from harness.run.limits import DEFAULT_TIME_LIMIT
from harness.run.initial_points import initial_points
from harness.run.keys import solver_key
from harness.run.runner import RunSpec, run_spec
from harness.results.store import load_arrays, load_records

GD = "tests.scoring._helpers:GD"
WRONG = "tests.scoring._helpers:ReturnsStart"


def _spec(runs, **kw):
    kw.setdefault("batch_size", 3)
    return RunSpec("quartic", {}, GD, {"lr": 0.02}, runs, 7, max_iter=kw.pop("max_iter", 300), **kw)


def test_runspec_validation():
    for bad in ({"runs": 0}, {"seed": -1}, {"max_iter": -2}, {"tol": float("nan")}, {"batch_size": 0},
                {"threads": 0}):
        args = dict(case="quartic", case_params={}, solver="gnm", solver_options={}, runs=1, seed=0)
        args.update(bad)
        with pytest.raises(ValueError, match=next(iter(bad))):
            RunSpec(**args)


def test_initial_points_do_not_depend_on_run_count():
    case = get_case("quartic")
    all10 = initial_points(case, 3, range(10))
    assert np.array_equal(initial_points(case, 3, [5, 70]),
                          np.stack([all10[5], initial_points(case, 3, range(71))[70]]))
    assert np.array_equal(all10, case.initial_points(3, 64)[:10])
    assert not np.array_equal(all10, initial_points(case, 4, range(10)))


def test_keys_change_with_budget():
    assert solver_key("gnm", {}, 100, 1e-10) != solver_key("gnm", {}, 200, 1e-10)
    assert solver_key("gnm", {"a": 1}, 100, 1e-10) == solver_key("gnm", {"a": 1}, 100, 1e-10)


def test_run_records_and_arrays(tmp_path):
    recs = run_spec(_spec(5), tmp_path)
    assert [r["run_index"] for r in recs] == list(range(5))
    assert len({r["run_id"] for r in recs}) == 5
    r0 = recs[0]
    assert r0["run_id"] == f"{r0['case_key']}/{r0['solver_key']}/7/0"
    assert {r["outcome"] for r in recs} <= {"critical", "gradient-flat", "other", "diverged"}
    # compile time only on the first batch; per-run seconds positive
    first = [r for r in recs if r["batch_id"] == r0["batch_id"]]
    assert all(r["compile_seconds"] > 0 for r in first)
    assert all(r["compile_seconds"] == 0 for r in recs if r["batch_id"] != r0["batch_id"])
    assert all(r["seconds"] > 0 for r in recs)
    for r in recs:
        arr = load_arrays(tmp_path, r["batch_id"])
        assert arr["run_index"][r["batch_row"]] == r["run_index"]
        assert np.array_equal(arr["theta0"][r["batch_row"]], initial_points(get_case("quartic"), 7, [r["run_index"]])[0])
        assert arr["grad_norm_sq"].shape[1] == 301  # trace fields under their own names, (n, T + 1)
        assert arr["theta"].shape[0] == len([x for x in recs if x["batch_id"] == r["batch_id"]])
        assert arr["n_iter"][r["batch_row"]] == r["n_iter"]
    for key in ("provenance", "final_r", "max_r", "index_count", "correct", "matched_class"):
        assert key in r0


def test_resume_no_duplicates_identical_results(tmp_path):
    full = run_spec(_spec(10), tmp_path / "full")
    part = run_spec(_spec(4), tmp_path / "resumed")
    assert len(part) == 4
    resumed = run_spec(_spec(10), tmp_path / "resumed")
    stored = load_records(tmp_path / "resumed")
    assert len(stored) == 10 and len({r["run_id"] for r in stored}) == 10
    for a, b in zip(full, resumed):
        assert a["run_id"] == b["run_id"] and a["outcome"] == b["outcome"]
        assert a["n_iter"] == b["n_iter"]
        assert a["final_loss"] == pytest.approx(b["final_loss"], rel=1e-9, abs=1e-12)
    # a third invocation does nothing new
    again = run_spec(_spec(10), tmp_path / "resumed")
    assert [r["batch_id"] for r in again] == [r["batch_id"] for r in resumed]


def test_wrong_solver_scored_as_failing(tmp_path):
    spec = RunSpec("quartic", {}, WRONG, {}, 4, 0, max_iter=10)
    recs = run_spec(spec, tmp_path)
    assert all(r["status"] == "converged" for r in recs)  # what the solver claims
    assert all(r["outcome"] != "critical" and r["correct"] is False for r in recs)


def test_threaded_blocks_store_the_same_results_as_sequential(tmp_path):
    """threads=3 over one-run blocks: every run stored once, results equal to threads=1."""
    seq = run_spec(_spec(7, batch_size=1, threads=1), tmp_path / "seq")
    par = run_spec(_spec(7, batch_size=1, threads=3), tmp_path / "par")
    assert [r["run_index"] for r in par] == list(range(7))
    assert len(load_records(tmp_path / "par")) == 7
    for a, b in zip(seq, par):
        for key in ("run_id", "batch_id", "status", "n_iter", "hvps", "final_loss", "final_grad_norm_sq", "outcome"):
            assert a[key] == b[key], key
        xa = load_arrays(tmp_path / "seq", a["batch_id"])["theta"]
        xb = load_arrays(tmp_path / "par", b["batch_id"])["theta"]
        np.testing.assert_array_equal(xa, xb)


def test_inline_backend_gives_the_process_pool_records_and_refuses_plugins(tmp_path):
    """The explicit in-process back end (trusted built-ins only) stores what the worker pool stores."""
    from harness.run.pool import InlineBackend
    from harness.solvers import SolverError

    spec = RunSpec("quartic", {}, "newton-mr", {}, 5, 3, max_iter=40, batch_size=2)
    pooled = run_spec(spec, tmp_path / "pool")
    inline = run_spec(spec, tmp_path / "inline", backend=InlineBackend())
    keys = ("run_id", "outcome", "n_iter", "hvps", "grads", "final_loss", "final_grad_norm_sq")
    assert [[r[k] for k in keys] for r in inline] == [[r[k] for k in keys] for r in pooled]
    for a, b in zip(inline, pooled):
        np.testing.assert_array_equal(load_arrays(tmp_path / "inline", a["batch_id"])["theta"][a["batch_row"]],
                                      load_arrays(tmp_path / "pool", b["batch_id"])["theta"][b["batch_row"]])
    assert {r["time_limit"] for r in inline} == {None} and {r["time_limit"] for r in pooled} == {DEFAULT_TIME_LIMIT}
    with pytest.raises(SolverError, match="built-in solvers only"):
        run_spec(_spec(2), tmp_path / "plugin", backend=InlineBackend())


class _FakeBackend:
    """A back end (the interface of harness.run.pool) that solves nothing: each task 'dies'.
    ``interrupt_after`` raises KeyboardInterrupt from the n-th wait, as a Ctrl-C would."""

    def __init__(self, slots, interrupt_after=None):
        self.n, self.interrupt_after, self.waits = slots, interrupt_after, 0
        self.running, self.submitted, self.abandoned = {}, [], False

    def slots(self):
        return self.n

    def ensure(self, n):
        pass

    def describe(self, solver_ref):
        return {"error": "not used"}

    def free(self):
        return self.n - len(self.running)

    def submit(self, task, time_limit):
        ticket = len(self.submitted)
        self.submitted.append(task)
        self.running[ticket] = task
        return ticket

    def wait(self, timeout):
        self.waits += 1
        if self.waits == self.interrupt_after:
            raise KeyboardInterrupt
        done = [(t, ("died", f"fake death of runs {task.indices}")) for t, task in self.running.items()]
        self.running = {}
        return done

    def abandon(self):
        self.abandoned = True

    def close(self):
        pass


def test_execute_with_a_custom_backend_and_ctrl_c_stores_blocks_in_flight(tmp_path):
    """Ctrl-C: nothing new starts, the blocks in flight are stored, then KeyboardInterrupt."""
    from harness.results.store import ResultStore
    from harness.run.execute import execute
    from harness.run.plan import Plan
    from harness.run.cell import CaseRef, Points, SolverRef, resolve
    from harness.run.pool import InlineBackend

    theta0 = initial_points(get_case("quartic"), 0, range(6))
    store = ResultStore(tmp_path)

    def plan():  # lockstep one-run blocks, two in flight; a built-in, described in-process
        cell = resolve(Points(CaseRef("quartic"), SolverRef("newton-mr"), theta0, 0, max_iter=10, tol=1e-10,
                              batch=1), backend=InlineBackend(), store=store)
        return dataclasses.replace(cell, threads=2)

    cell = plan()
    assert [b.indices for b in cell.blocks] == [(i,) for i in range(6)]
    fake = _FakeBackend(2, interrupt_after=1)
    with pytest.raises(KeyboardInterrupt):
        execute(Plan((cell,), time_limit=5.0), store, backend=fake)
    recs = sorted(load_records(tmp_path), key=lambda r: r["run_index"])
    assert [r["run_index"] for r in recs] == [0, 1]  # the two in flight, stored; no new block started
    assert len(fake.submitted) == 2 and not fake.abandoned
    assert all(r["outcome"] == "error" and r["error"].startswith("fake death") and r["time_limit"] == 5.0
               for r in recs)
    # Resume: only the four missing runs are planned and run.
    cell = plan()
    assert [b.indices for b in cell.blocks] == [(i,) for i in range(2, 6)]
    out = execute(Plan((cell,)), store, backend=_FakeBackend(2))[0]
    assert [r["run_index"] for r in out] == list(range(6))
