"""The judge apart from the accused (issue 20): a solver runs in a worker process, and nothing it
does there -- patching the scorer, exiting, dying, hanging, failing to import -- changes a verdict
or loses another run.  Each attack runs through ``run_spec`` or ``critbench run`` on the quartic
(4 one-run blocks, so the attacked block is one of several), and must end with the attacked runs
scored zero or recorded ``error``/``timeout`` (exit 1), and every other run of the cell stored.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import harness.scoring.judge as judge
from cases import get_case
from harness.cli import main
from harness.run.initial_points import initial_points
from harness.run.runner import run_spec
from harness.run.spec import RunSpec
from harness.results.store import load_records
from tests.trust import _attackers
from tests.trust.conftest import error_lines

A = "tests.trust._attackers:"
ROOT = Path(__file__).resolve().parents[2]


def _target(run: int) -> str:
    return _attackers.point_option(initial_points(get_case("quartic"), 0, [run])[0])


def _spec(solver: str, options: dict | None = None, runs: int = 4) -> RunSpec:
    return RunSpec("quartic", {}, solver, options or {}, runs, 0, max_iter=50, batch_size=1)


def _others_stored(out: Path, bad: int, runs: int = 4) -> list[dict]:
    recs = sorted(load_records(out), key=lambda r: r["run_index"])
    assert [r["run_index"] for r in recs] == list(range(runs)), "every run of the cell is stored, once"
    assert [r["outcome"] for i, r in enumerate(recs) if i != bad] == ["critical"] * (runs - 1)
    return recs


# --------------------------------------------------------------------------- (a), (b) patching the scorer
def test_patching_the_scorer_inside_solve_changes_no_verdict(tmp_path):
    before = judge.score_run
    recs = run_spec(_spec(A + "patch_scorer"), tmp_path / "out")
    honest = run_spec(_spec(A + "initial_point"), tmp_path / "ref")  # returns its initial point too, unpatched
    assert [r["outcome"] for r in recs] == [r["outcome"] for r in honest]
    assert not any(r["outcome"] == "critical" or r["correct"] for r in recs)
    assert all(r["final_grad_norm_sq"] > 1e-10 for r in recs)
    assert judge.score_run is before  # this process (the judge) was never touched


def test_patching_the_scorer_at_plugin_import_time_changes_no_verdict(tmp_path):
    before = judge.score_run
    recs = run_spec(_spec("tests.trust._patch_on_import:solver"), tmp_path / "out")
    assert not any(r["outcome"] == "critical" or r["correct"] for r in recs)
    assert all(r["final_grad_norm_sq"] > 1e-10 for r in recs)
    assert "tests.trust._patch_on_import" not in sys.modules, "the judge imported plug-in code"
    assert judge.score_run is before


# --------------------------------------------------------------------------- (c), (d), (f) a worker that ends
@pytest.mark.parametrize(
    ("solver", "reason"),
    [
        ("exit_on_target", "worker exited with code 0 during run 2 (seed 0)"),  # SystemExit in solve
        ("os_exit_on_target", "worker exited with code 0 during run 2 (seed 0)"),  # os._exit(0)
        ("sigkill_on_target", "worker killed by SIGKILL during run 2 (seed 0)"),  # hard kill
    ],
)
def test_a_worker_that_exits_or_dies_fails_its_block_only(tmp_path, capsys, solver, reason):
    out = tmp_path / "out"
    code = main(["run", "--case", "quartic", "--solver", A + solver, "--option", f"target={_target(2)}",
                 "--runs", "4", "--batch-size", "1", "--max-iter", "50", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and reason in err[0] and "Traceback" not in err[0]
    recs = _others_stored(out, bad=2)
    assert recs[2]["outcome"] == "error" and recs[2]["error"] == reason
    assert recs[2]["final_loss"] is None and recs[2]["correct"] is False


# --------------------------------------------------------------------------- (e) a hang
def test_a_hang_past_the_time_limit_is_a_timeout(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["run", "--case", "quartic", "--solver", A + "hang_on_target", "--option", f"target={_target(3)}",
                 "--runs", "4", "--batch-size", "1", "--max-iter", "50", "--out", str(out), "--quiet",
                 "--time-limit", "10"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "timeout" in err[0]
    recs = _others_stored(out, bad=3)
    assert recs[3]["outcome"] == "timeout"
    assert recs[3]["error"] == "time limit 10 s exceeded during run 3 (seed 0); worker killed"
    assert {r["time_limit"] for r in recs} == {10.0}


# --------------------------------------------------------------------------- (g) a plug-in that cannot load
def test_a_plugin_with_a_syntax_error_is_one_line_exit_2(tmp_path):
    (tmp_path / "badplug.py").write_text("def solver(:\n    pass\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--case", "quartic", "--solver",
                           "badplug:solver", "--runs", "2", "--out", str(tmp_path / "out"), "--quiet"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.strip().splitlines()
    err = error_lines(proc.stderr)
    assert len(err) == 1 and "syntax" in err[0].lower() and "badplug" in err[0], proc.stderr
    assert not (tmp_path / "out" / "runs.jsonl").exists()


# --------------------------------------------------------------------------- (h) the parent is killed
def _children(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return {int(x) for x in out.split()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_busy_worker_exits_when_its_parent_is_killed(tmp_path, unsandboxed):
    """SIGKILL of the command while a worker is inside a (hanging) solve: the worker goes too,
    instead of holding a core until its solve ends."""
    import signal
    import time

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    marker = tmp_path / "solving"
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", "--case", "quartic", "--solver",
                             A + "hang_with_marker", "--option", f"marker={marker}", "--runs", "1",
                             "--batch-size", "1", "--max-iter", "50", "--out", str(tmp_path / "out"), "--quiet"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not (marker.exists() and marker.read_text()):
            assert proc.poll() is None, "the command ended before the solve started"
            time.sleep(0.5)
        worker = int(marker.read_text())
        assert worker in _children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and _alive(worker):
            time.sleep(0.5)
        assert not _alive(worker), "the worker outlived its killed parent"
    finally:
        if proc.poll() is None:
            proc.kill()
        if worker is not None and _alive(worker):
            os.kill(worker, signal.SIGKILL)
