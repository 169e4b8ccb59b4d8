"""Sweeps on Dask: a worker killed mid-sweep loses nothing and duplicates nothing, an
external scheduler gives the same records, and both equal the single-process runner."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from harness.run.runner import run_suite
from harness.results.store import load_arrays, load_records
from harness.sweep import load_sweep, run_sweep

ROOT = Path(__file__).resolve().parents[2]
SWEEP = """
runs = 12
seeds = [0]
batch_size = 2
max_iter = 40

[[case]]
name = "quartic"

[[solver]]
name = "newton-mr"
options = { forcing = [0.1, 0.5] }
"""
#: Fields that legitimately differ between executions: timing and where it ran (the blocks and
#: their lanes are the same plan: the sweep runs on harness.run.execute like `critbench run`).
VOLATILE = {"seconds", "compile_seconds", "provenance", "batch_id", "lane_utilization", "judge_cpu_seconds",
            "judge_wall_seconds"}


def _comparable(directory: Path) -> dict[str, dict]:
    recs = load_records(directory)
    ids = [r["run_id"] for r in recs]
    assert len(ids) == len(set(ids)), "a run stored twice"
    arrays = {}
    out = {}
    for r in recs:
        bid = r["batch_id"]
        arrays.setdefault(bid, load_arrays(directory, bid))
        row = {k: v for k, v in r.items() if k not in VOLATILE}
        row["theta"] = arrays[bid]["theta"][r["batch_row"]].tolist()
        row["theta0"] = arrays[bid]["theta0"][r["batch_row"]].tolist()
        out[r["run_id"]] = row
    return out


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("sweep")
    f = d / "q.toml"
    f.write_text(SWEEP)
    return f


@pytest.fixture(scope="module")
def reference(sweep_file, tmp_path_factory) -> tuple[dict[str, dict], Path]:
    """The same cells run by the single-process runner (threads=1); also warms a compile cache."""
    d = tmp_path_factory.mktemp("ref")
    cache = d / "jax-cache"
    import dataclasses

    cells = [dataclasses.replace(c, threads=1) for c in load_sweep(sweep_file).cells]
    run_suite(cells, d / "out", compile_cache=cache)
    ref = _comparable(d / "out")
    assert len(ref) == 24
    return ref, cache


def test_worker_killed_mid_sweep_loses_and_duplicates_nothing(sweep_file, reference, tmp_path):
    from dask.distributed import Client, LocalCluster

    ref, cache = reference
    killed: list[int] = []

    def kill_first_busy(client, stop):
        """SIGKILL the first worker seen with a task (polled from the moment the sweep starts, so a
        fast machine finishing one shard before the other cannot leave nothing to kill)."""
        while not stop.is_set() and not killed:
            busy = sorted(w for w, ks in client.processing().items() if ks)
            if busy:
                pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.05)

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        stop = threading.Event()
        killer = threading.Thread(target=kill_first_busy, args=(client, stop), daemon=True)
        killer.start()
        try:
            outcome = run_sweep(load_sweep(sweep_file), tmp_path / "out", client=client, compile_cache=cache)
        finally:
            stop.set()
            killer.join(30)
    assert killed, "no worker was ever busy"
    # 2 cells x 12 runs on 2 refilling lanes: one block of 12 runs per cell (harness.run.plan)
    assert outcome.failed == 0 and outcome.failed_runs == 0 and outcome.stored == outcome.shards == 2
    got = _comparable(tmp_path / "out")
    assert got.keys() == ref.keys()
    for rid in ref:
        assert got[rid] == ref[rid], rid
    # a rerun finds everything stored: no shard is submitted
    again = run_sweep(load_sweep(sweep_file), tmp_path / "out", client=object())  # a client is never used
    assert again.shards == 0 and again.skipped_runs == 24


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_external_scheduler_gives_the_same_records(sweep_file, reference, tmp_path, capsys):
    ref, _ = reference
    port = _free_port()
    dask = str(Path(sys.executable).with_name("dask"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        addr = f"tcp://127.0.0.1:{port}"
        procs.append(subprocess.Popen([dask, "worker", addr, "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                                       "--host", "127.0.0.1"], cwd=ROOT, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 60
        from dask.distributed import Client

        while True:
            try:
                with Client(addr, timeout="2s") as c:
                    c.wait_for_workers(1, timeout=max(1, deadline - time.monotonic()))
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        rc = main(["sweep", str(sweep_file), "--out", str(tmp_path / "ext"), "--scheduler", addr, "--quiet"])
        assert rc == 0, capsys.readouterr().err
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
    got = _comparable(tmp_path / "ext")
    assert got == ref
    assert "2 stored, 0 failed" in capsys.readouterr().out


def test_unreachable_scheduler_is_a_one_line_error(sweep_file, tmp_path, capsys, monkeypatch):
    import harness.sweep.run as sweep_run

    monkeypatch.setattr(sweep_run, "CONNECT_TIMEOUT", "2s")
    rc = main(["sweep", str(sweep_file), "--out", str(tmp_path / "x"), "--scheduler", f"tcp://127.0.0.1:{_free_port()}"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "cannot connect to the Dask scheduler" in err and len(err.splitlines()) == 1


def _attacker_sweep(tmp_path: Path, attacker: str, *, target_run: int, runs: int) -> Path:
    """A sweep file: ``runs`` one-run blocks of the quartic with ``tests.trust._attackers:<attacker>``
    aimed at run ``target_run``'s initial point (seed 0)."""
    from cases import get_case
    from harness.run.initial_points import initial_points
    from tests.trust._attackers import point_option

    target = point_option(initial_points(get_case("quartic"), 0, [target_run])[0])
    f = tmp_path / f"{attacker}.toml"
    f.write_text(f'runs = {runs}\nbatch_size = 1\nmax_iter = 50\n[[case]]\nname = "quartic"\n[[solver]]\n'
                 f'name = "tests.trust._attackers:{attacker}"\noptions = {{ target = "{target}" }}\n')
    return f


def test_a_solver_that_exits_in_a_sweep_fails_its_block_only(tmp_path):
    """`sys.exit` inside a plug-in's solve used to hang a sweep: now that block's run is an
    `error` record naming it, every other run of the cell is stored and scored by the client."""
    from dask.distributed import Client, LocalCluster

    f = _attacker_sweep(tmp_path, "exit_on_target", target_run=2, runs=4)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        outcome = run_sweep(load_sweep(f), tmp_path / "out", client=client)
    recs = sorted(load_records(tmp_path / "out"), key=lambda r: r["run_index"])
    assert [r["run_index"] for r in recs] == [0, 1, 2, 3]
    assert recs[2]["outcome"] == "error" and "exited with code 0 during run 2 (seed 0)" in recs[2]["error"]
    assert [r["outcome"] for i, r in enumerate(recs) if i != 2] == ["critical"] * 3
    assert outcome.failed_runs == 1 and outcome.stored == outcome.shards == 4
    # the plug-in ran in a subprocess of the Dask worker (sandboxed where bubblewrap works), never in the
    # Dask worker's own process (which here is this process: processes=False)
    from harness.run.sandbox import probe

    assert {r["sandbox"] for r in recs} == {probe().kind}
    assert all(r["judge_wall_seconds"] > 0 for r in recs)


def test_a_hang_in_a_sweep_is_a_timeout_and_the_sweep_goes_on(tmp_path):
    """A solver that never returns used to hang a sweep: past ``time_limit`` its block is cancelled,
    its Dask worker restarted, and its run stored as ``timeout``; the other runs are stored."""
    from dask.distributed import Client, LocalCluster

    f = _attacker_sweep(tmp_path, "hang_on_target", target_run=1, runs=3)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        outcome = run_sweep(load_sweep(f), tmp_path / "out", client=client, time_limit=15)
    recs = sorted(load_records(tmp_path / "out"), key=lambda r: r["run_index"])
    assert [r["run_index"] for r in recs] == [0, 1, 2]
    assert recs[1]["outcome"] == "timeout" and "time limit 15 s exceeded during run 1 (seed 0)" in recs[1]["error"]
    assert [recs[0]["outcome"], recs[2]["outcome"]] == ["critical", "critical"]
    assert outcome.failed == 1 and outcome.failed_runs == 1 and all(r["time_limit"] == 15 for r in recs)
