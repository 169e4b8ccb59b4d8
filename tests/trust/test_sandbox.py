"""A plug-in that cannot reach the judge (issue 28): the OS sandbox, the reply protocol, resources,
costs the judge measures, and time limits that cover loading.

Each hostile plug-in of ``tests/trust/_hostile.py`` runs through ``critbench run`` (in this process,
as the judge) on the quartic.  What must hold, whatever it does: no success the judge did not
measure, no traceback, no hang past the time limit, no process left behind, no store line the
judge did not write, exit 1 for a misbehaving solver (never 0 with nothing said, never 2).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cases import get_case
from harness.cli import main
from harness.results.store import load_arrays, load_records
from harness.run.initial_points import initial_points
from harness.run.runner import run_suite
from harness.run.spec import RunSpec
from tests.trust.conftest import error_lines

H = "tests.trust._hostile:"
ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path: Path, solver: str, *extra: str, runs: int = 2, options: dict | None = None) -> tuple[int, list]:
    out = tmp_path / "out"
    argv = ["run", "--case", "quartic", "--solver", solver, "--runs", str(runs), "--batch-size", "1",
            "--max-iter", "20", "--out", str(out), "--quiet", *extra]
    for k, v in (options or {}).items():
        argv += ["--option", f"{k}={v}"]
    code = main(argv)
    recs = sorted(load_records(out), key=lambda r: r["run_index"]) if (out / "runs.jsonl").exists() else []
    return code, recs


def _one_line(capsys) -> str:
    err = error_lines(capsys.readouterr().err)
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


# --------------------------------------------------------------------------- the reply protocol
@pytest.mark.parametrize("kind", ["class", "trace", "lanes", "failure"])
def test_a_hand_written_malformed_header_is_an_error_record(tmp_path, capsys, kind):
    code, recs = _run(tmp_path, H + "forged_header", options={"kind": kind})
    assert code == 1, "a malformed reply is the solver's failure (exit 1), never exit 0 or 2"
    assert [r["outcome"] for r in recs] == ["error", "error"]
    assert all("malformed reply header" in r["error"] for r in recs), recs[0]["error"]
    _one_line(capsys)


def test_a_reply_that_stalls_mid_frame_is_a_timeout(tmp_path, capsys):
    t = time.monotonic()
    code, recs = _run(tmp_path, H + "stall", "--time-limit", "4", runs=1)
    assert time.monotonic() - t < 60, "the judge waited past the time limit for the promised bytes"
    assert code == 1 and [r["outcome"] for r in recs] == ["timeout"]
    assert "time limit 4 s exceeded" in recs[0]["error"]
    _one_line(capsys)


def test_an_extra_reply_never_shifts_runs(tmp_path):
    """Two replies to one task: a protocol error or the plug-in's own answer for that task, never
    another run's point stored under this run's id."""
    code, recs = _run(tmp_path, H + "extra_reply", runs=4)
    x0 = initial_points(get_case("quartic"), 0, range(4))
    assert [r["run_index"] for r in recs] == [0, 1, 2, 3] and code in (0, 1)
    out = tmp_path / "out"
    for r in recs:
        if r["outcome"] in ("error", "invalid"):
            continue
        theta = load_arrays(out, r["batch_id"])["theta"][r["batch_row"]]
        others = [x0[j] for j in range(4) if j != r["run_index"]]
        assert not any(np.array_equal(theta, o) for o in others), f"run {r['run_index']} stored another run's point"
    assert not any(r["outcome"] == "critical" for r in recs)


def test_a_worker_that_dies_while_idle_loses_nothing(tmp_path, capsys):
    code, recs = _run(tmp_path, H + "die_when_idle", runs=4)
    out, err = capsys.readouterr()
    assert code in (0, 1) and "results:" in out + err or code == 1
    assert [r["run_index"] for r in recs] == [0, 1, 2, 3], "every run stored once"
    assert all(r["outcome"] in ("other", "error") for r in recs)


def test_a_result_without_snapshots_is_scored(tmp_path, capsys):
    code, recs = _run(tmp_path, H + "NoSnapshots")
    assert code == 0 and [r["outcome"] for r in recs] == ["other", "other"]


@pytest.mark.parametrize(("solver", "needle"), [
    ("HugeTrace", "exceeds the task's limit"),  # 2e6 trace entries per run: not tied to max_iter
    ("HugeTheta", "exceeds the task's limit"),  # 10^7 coordinates per run: refused on the frame's header
    ("zip_bomb", "compressed"),  # a deflated member is never inflated
])
def test_oversized_replies_are_invalid_and_never_stored(tmp_path, capsys, solver, needle):
    code, recs = _run(tmp_path, H + solver, runs=1)
    assert code == 1 and [r["outcome"] for r in recs] in (["invalid"], ["error"])
    assert needle in (recs[0].get("invalid_reason") or recs[0].get("error") or ""), recs[0]
    size = sum(p.stat().st_size for p in (tmp_path / "out" / "arrays").glob("*.npz"))
    assert size < 1 << 20, "the oversized reply reached the store"
    _one_line(capsys)


# --------------------------------------------------------------------------- the OS sandbox
def test_a_plugin_cannot_write_the_store_the_cache_or_the_project(tmp_path, sandboxed):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "entry.bin").write_bytes(b"judge's")
    out = tmp_path / "out"
    pycache = ROOT / "harness" / "scoring" / "__pycache__"
    writes = [out, out / "arrays", cache, ROOT / "harness" / "scoring", pycache, Path.home()]
    reads = [cache / "entry.bin"]
    targets = [f"write={w}" for w in writes] + [f"read={r}" for r in reads]
    code = main(["--compile-cache", str(cache), "run", "--case", "quartic", "--solver", H + "Prober", "--option",
                 "targets=" + ",".join(targets), "--runs", "1", "--out", str(out), "--quiet"])
    recs = load_records(out)
    assert code == 0 and recs[0]["sandbox"] == "bwrap"
    assert not any((w / "critbench-poison.bin").exists() for w in writes), "a write escaped the sandbox"
    assert recs[0]["n_iter"] == 1 + 0, "the plug-in read the judge's compile cache"
    assert sorted(p.name for p in cache.iterdir() if p.name.startswith("entry")) == ["entry.bin"]


def test_a_plugin_has_no_network(tmp_path, sandboxed):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    try:
        port = srv.getsockname()[1]
        code, recs = _run(tmp_path, H + "Prober", runs=1, options={"targets": f"net=127.0.0.1:{port}"})
    finally:
        srv.close()
    assert code == 0 and recs[0]["n_iter"] == 1, "the plug-in reached a socket on the judge's machine"


def test_a_setsid_grandchild_dies_with_the_sandbox(tmp_path, sandboxed):
    tag = f"{os.getpid() % 1000}.{time.monotonic_ns() % 10**6}"
    code, recs = _run(tmp_path, H + "setsid_child", runs=1, options={"tag": tag})
    assert code == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = subprocess.run(["pgrep", "-f", f"sleep {tag}"], capture_output=True, text=True).stdout.split()
        if not left:
            break
        time.sleep(0.5)
    assert not left, "a process the plug-in started outlived its cell"


def test_a_plugin_cannot_sabotage_the_cells_served_after_it(tmp_path):
    """A plug-in that patches ``run_task`` in its worker: the built-in cell after it (one worker in all)
    gives the records of a clean run."""
    specs = [RunSpec("quartic", {}, H + "PatchRunTask", {}, 2, 0, max_iter=20, batch_size=1),
             RunSpec("quartic", {}, "newton-mr", {}, 8, 0, max_iter=50)]
    recs = run_suite(specs, tmp_path / "a", jobs=1)
    clean = run_suite(specs[1:], tmp_path / "b", jobs=1)
    got = [(r["outcome"], r["final_loss"]) for r in recs if r["solver"] == "newton-mr"]
    assert got == [(r["outcome"], r["final_loss"]) for r in clean]
    assert sum(o == "critical" for o, _ in got) >= 4


def test_memory_beyond_the_limit_is_the_plugins_failure(tmp_path, capsys):
    code, recs = _run(tmp_path, H + "memory_hog", "--memory-limit", "1G", runs=1, options={"gib": 3})
    assert code == 1 and [r["outcome"] for r in recs] == ["error"]
    assert "MemoryError" in recs[0]["error"] or "worker" in recs[0]["error"]


# --------------------------------------------------------------------------- costs and ground truth
def test_a_certified_point_with_no_oracle_call_is_flagged(tmp_path):
    code, recs = _run(tmp_path, H + "ground_truth_thief", runs=2)
    assert code == 0 and all(r["correct"] for r in recs)
    assert all(r["suspect"] == "reached a certified point with 0 reported oracle calls" for r in recs)
    assert all(r["cost_source"] == "reported" and r["judge_cpu_seconds"] >= 0 for r in recs)


# --------------------------------------------------------------------------- time limits
def test_loading_counts_against_the_time_limit(tmp_path, capsys):
    t = time.monotonic()
    code, recs = _run(tmp_path, "tests.trust._hang_on_import:solver", "--time-limit", "5", runs=1)
    assert time.monotonic() - t < 60 and code == 2 and recs == []
    line = _one_line(capsys)
    assert "no answer within 5 s" in line and "_hang_on_import" in line


def test_the_time_limit_is_per_run(tmp_path):
    code, recs = _run(tmp_path, "newton-mr", "--time-limit", "30", runs=3)
    assert code == 0 and {r["time_limit"] for r in recs} == {30.0}
    assert {r["sandbox"] for r in recs} == {"trusted"}


def test_the_sandbox_command_hides_what_it_must(tmp_path):
    from harness.run.sandbox import worker_command

    store = ROOT / "results" / "x"
    cmd = worker_command(["python"], hidden=[str(tmp_path)], visible=[str(tmp_path.parent)], cwd=str(ROOT))
    joined = " ".join(cmd)
    assert "--unshare-all" in cmd and "--die-with-parent" in cmd and "--new-session" in cmd
    assert f"--tmpfs {tmp_path} --remount-ro {tmp_path}" in joined  # hidden inside a visible folder
    assert f"--ro-bind {ROOT} {ROOT}" in joined and "--bind " not in joined  # nothing writable is bound
    assert str(store) not in joined
    assert cmd.index("--tmpfs") == 1, "the private /tmp comes first, under the visible folders"
    home = os.path.realpath(os.path.expanduser("~"))
    assert f"--ro-bind {home} {home}" not in joined
    assert sys.executable
