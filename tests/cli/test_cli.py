"""The command line: listing, one-line errors, end-to-end runs, kill-and-resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cli import main
from harness.results.store import StoreError, load_arrays, load_records

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, env=ENV, timeout=timeout)


def _one_line_error(capsys, argv, *expect):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for e in expect:
        assert e in err
    return err


@pytest.mark.parametrize(
    "argv, expect",
    [
        (["run", "--case", "nope", "--solver", "newton-mr", "--out", "X"], ("unknown case", "quartic")),
        (["run", "--case", "quartic", "--solver", "nope", "--out", "X"], ("unknown solver", "newton-mr")),
        (["run", "--case", "quartic", "--solver", "newton-mr", "--option", "bogus=1", "--out", "X"],
         ("unknown option", "bogus")),
        (["run", "--case", "quartic", "--solver", "newton-mr", "--option", "rtol=abc", "--out", "X"], ("rtol",)),
        (["run", "--case", "quartic", "--param", "angle=x", "--solver", "newton-mr", "--out", "X"], ("angle",)),
        (["run", "--case", "quartic", "--param", "k=1", "--solver", "newton-mr", "--out", "X"], ("unknown parameter",)),
        (["run", "--case", "quartic", "--solver", "newton-mr", "--runs", "0", "--out", "X"], ("runs",)),
        (["run", "--case", "quartic", "--solver", "no_such_mod:X", "--out", "X"], ("no_such_mod",)),
        (["cases", "nope"], ("unknown case",)),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, tmp_path, argv, expect):
    argv = [a if a != "X" else str(tmp_path / "out") for a in argv]
    _one_line_error(capsys, argv, *expect)
    assert not (tmp_path / "out" / "runs.jsonl").exists()


def test_malformed_results_file_exits_2(capsys, tmp_path):
    (tmp_path / "runs.jsonl").write_text('{"run_id": "a"}\nnot json\n{"run_id": "b"}\n')
    _one_line_error(capsys, ["score", str(tmp_path)], "no runs.index")  # nothing here vouched for by an index
    _one_line_error(capsys, ["store", "reindex", str(tmp_path), "--trust"], "line 1")  # not a valid run record
    _one_line_error(capsys, ["score", str(tmp_path / "missing")], "does not exist")


def test_subprocess_error_has_no_traceback():
    out = _cli("run", "--case", "quartic", "--solver", "nope", "--out", "/nonexistent/x")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().startswith("critbench: error: unknown solver")


def test_cases_lists_names(capsys):
    assert main(["cases"]) == 0
    out = capsys.readouterr().out
    for name in ("quartic", "example-1.1", "dlae"):
        assert name in out
    assert main(["cases", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"quartic", "dlae"} <= {r["name"] for r in rows}


def test_solvers_lists_options(capsys):
    assert main(["solvers"]) == 0
    out = capsys.readouterr().out
    assert "newton-mr" in out and "options:" in out


def test_cases_dlae_json_has_2517_classes(capsys):
    assert main(["cases", "dlae", "--json"]) == 0
    gt = json.loads(capsys.readouterr().out)["ground_truth"]
    assert gt["n_classes"] == 2517 and len(gt["classes"]) == 2517
    assert main(["cases", "dlae", "--param", "k=6", "--param", "p=2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ground_truth"]["n_classes"] == 1 + 6 + 15


def test_newton_mr_on_quartic_end_to_end(capsys, tmp_path):
    out = tmp_path / "q"
    assert main(["run", "--case", "quartic", "--solver", "newton-mr", "--runs", "12", "--seed", "0",
                 "--max-iter", "200", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "quartic" in printed and "newton-mr" in printed
    recs = load_records(out)
    outcomes = {r["outcome"] for r in recs}
    # Thesis Sec. 3.4: Newton-MR finds the minimum (-3, 0) from the left of x = -sqrt 2 and
    # stalls at the gradient-flat point (sqrt 2, 0) from the right.
    assert "critical" in outcomes and "gradient-flat" in outcomes
    for r in recs:
        if r["outcome"] == "critical":
            assert r["correct"] is True and abs(r["final_loss"] - 6.25) < 1e-9  # f(-3, 0) = 81/4 - 54 + 40
        if r["outcome"] == "gradient-flat":
            assert r["matched_flat_point"] is not None
            th = load_arrays(out, r["batch_id"])["theta"][r["batch_row"]]
            assert abs(th[0] - 2 ** 0.5) < 1e-2 and abs(th[1]) < 1e-2
    assert main(["score", str(out)]) == 0
    assert "newton-mr" in capsys.readouterr().out


def test_newton_mr_on_small_dlae_end_to_end(capsys, tmp_path):
    out = tmp_path / "d"
    assert main(["run", "--case", "dlae", "--param", "k=4", "--param", "p=2", "--param", "n=200",
                 "--solver", "newton-mr", "--runs", "6", "--max-iter", "300", "--out", str(out), "--quiet"]) == 0
    recs = load_records(out)
    crit = [r for r in recs if r["outcome"] == "critical"]
    assert crit, [r["outcome"] for r in recs]
    # every critical point is matched to a certified class with the same loss and index
    assert all(r["correct"] is True and r["matched_class"] for r in crit)
    assert all(r["index_error_count"] == 0 and abs(r["loss_error"]) < 1e-6 for r in crit)


def _committed(out) -> int:
    """Records a reader can count now (indexed, hash-verified) while a writer may be mid-batch."""
    try:
        return len(load_records(out, warn=False))
    except StoreError:  # not created yet
        return 0


def test_sigkill_mid_run_then_rerun_loses_nothing(tmp_path):
    """SIGKILL after some blocks are committed: what was committed stays, a batch torn by the kill
    is not counted, and the rerun completes every run exactly once.  (A refilling block stores its
    100 runs in one write; counting newlines while that write is under way saw lines of a batch the
    kill then tore, so the test waits for committed records instead.)"""
    out = tmp_path / "k"
    n = 400
    args = ["run", "--case", "quartic", "--solver", "tests.scoring._helpers:GD", "--option", "lr=0.02",
            "--runs", str(n), "--batch-size", "1", "--max-iter", "50", "--out", str(out), "--quiet"]
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", *args], cwd=ROOT, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    try:
        while time.time() < deadline and proc.poll() is None:
            if (out / "runs.jsonl").exists() and _committed(out) >= 1:
                break
            time.sleep(0.01)
        assert proc.poll() is None, "run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    done_at_kill = len(load_records(out, warn=False))
    assert 1 <= done_at_kill < n
    rerun = _cli(*args)
    assert rerun.returncode == 0, rerun.stderr
    recs = load_records(out)
    ids = [r["run_id"] for r in recs]
    assert len(ids) == n and len(set(ids)) == n
    assert sorted(r["run_index"] for r in recs) == list(range(n))
    for r in recs[:: 25]:
        assert load_arrays(out, r["batch_id"])["run_index"][r["batch_row"]] == r["run_index"]


def test_console_script_resolves_module_attr_from_the_working_directory(tmp_path):
    """`critbench run --solver examples.jax_solver:NewtonCG` from the repository root:
    the console script's sys.path lacks the working directory, the resolver adds it."""
    script = Path(sys.executable).with_name("critbench")
    if not script.exists():
        pytest.skip(f"console script not installed next to {sys.executable}")
    out = tmp_path / "plug"
    proc = subprocess.run(
        [str(script), "run", "--case", "quartic", "--solver", "examples.jax_solver:NewtonCG", "--runs", "2",
         "--max-iter", "30", "--out", str(out), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    recs = load_records(out)
    assert len(recs) == 2 and all(r["solver"] == "examples.jax_solver:NewtonCG" for r in recs)
