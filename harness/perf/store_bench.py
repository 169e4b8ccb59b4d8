"""Store scale measurements: synthetic result stores of 10^4 .. 10^6 runs.

``python -m harness.perf.store_bench --sizes 10000,100000,1000000 --dir results/store-scale``
builds (once, reused) a synthetic store per size -- realistic records (~1.6 kB
of JSON each: nested options and provenance) in 64-run batches, written as the
store writes them, with its run index -- and prints one row per size:

* ``append 64``: median wall time of appending one 64-run shard (the index is
  open, as in a sweep or the runner; arrays included);
* ``open+resume``: opening the store (loading ``runs.index``) and checking 64
  run ids -- what a resumed cell costs;
* ``full parse``: :func:`harness.results.store.load_records` -- what *each* append cost
  before the index (twice per append);
* ``compact``: writing the Parquet snapshot from scratch;
* ``score (parquet)`` / ``score (jsonl)``: ``critbench score``'s work
  (:func:`harness.results.columnar.load_columns` of :data:`~harness.results.columnar.SCORE_FIELDS`
  + :func:`harness.scoring.summary.summarize`) with and without the snapshot;
* ``report``: :func:`harness.report.render_report` (reads runs.jsonl and arrays).

Steps whose memory grows with the store beyond ``--max-full`` records (the
full JSONL parse, the JSONL score, the report: ~5 kB of Python objects per
record) are skipped and shown as ``-``.  Synthetic records carry no arrays
except the appended shards.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from harness.results.store import INDEX_FILE, RUNS_FILE, ResultStore, load_records

__all__ = ["make_synthetic_store", "measure", "synthetic_batch"]

BATCH = 64
_OPTS = {"maxit": 0, "rtol": 0.0005, "forcing": 0.5, "maxxnorm": 10000.0, "acondlim": 10000000.0,
         "trancond": 10000.0, "alpha": 1.0, "beta": 0.5, "rho": 0.0001, "rho_prime": 0.0001, "eps_min": 0.0,
         "exact_flatness": True, "hfro_estimate": "lanczos"}
_PROV = {"critbench": "0.1.0", "jax": "0.10.2", "jaxlib": "0.10.2", "numpy": "2.4.6", "scipy": "1.17.1",
         "python": "3.11.7", "device": "cpu:cpu", "git_commit": "c019c55f00d1", "hostname": "bench",
         "time": "2026-12-01T00:00:00+00:00"}
_OUTCOMES = ("critical", "critical", "gradient-flat", "other", "critical", "diverged")


def synthetic_batch(b: int, n: int = BATCH, cells: int = 16) -> tuple[str, list[dict[str, Any]]]:
    """Batch ``b``'s id and ``n`` records, spread over ``cells`` (case, solver) cells."""
    cell = b % cells
    ck, sk = f"dlae-{cell:04d}abcd", f"newton-mr-{cell % 4:04d}ef01"
    bid = f"{ck}_{sk}_s0_r{b * n}-{b * n + n - 1}"
    recs = []
    for row in range(n):
        i = b * n + row
        outcome = _OUTCOMES[(i * 7) % len(_OUTCOMES)]
        recs.append({
            "run_id": f"{ck}/{sk}/0/{i}", "batch_id": bid, "batch_row": row, "case": "dlae",
            "case_params": {"k": 4 + cell % 4, "p": 2, "n": 200, "exact": True}, "case_key": ck, "dim": 16,
            "solver": "newton-mr", "solver_name": "newton-mr", "solver_options": dict(_OPTS, forcing=0.1 * (cell % 4 + 1)),
            "solver_key": sk, "seed": 0, "run_index": i, "max_iter": 500, "tol": 1e-10, "status": "converged",
            "n_iter": 4 + i % 20, "hvps": 16 + i % 97, "grads": 9 + i % 13, "seconds": 0.0003 + 1e-6 * (i % 11),
            "compile_seconds": 6.7 if row == 0 else 0.0, "hfro_method": "lanczos", "outcome": outcome,
            "final_loss": 6.25 + 1e-3 * (i % 5), "final_grad_norm_sq": 5.6e-12, "final_r": 0.0, "final_r_H": None,
            "flatness_source": "dense", "max_r": 1.4e-16, "min_r_H": 0.359, "ever_gradient_flat": outcome == "gradient-flat",
            "index_count": 0, "index_fraction": 0.0, "nullity": 0, "matched_class": "crit[c0,c0]",
            "class_loss": 6.25, "class_index_count": 0, "class_index_fraction": 0.0,
            "loss_error": 1.35e-13 if outcome == "critical" else None, "index_error_count": 0,
            "index_error_fraction": 0.0, "correct": outcome == "critical", "matched_flat_point": None,
            "provenance": _PROV,
        })
    return bid, recs


def make_synthetic_store(directory: str | Path, n_runs: int) -> Path:
    """Write a store of ``n_runs`` synthetic records (``runs.jsonl`` and ``runs.index``,
    in the store's formats) quickly; reused if it already holds ``n_runs``."""
    root = Path(directory)
    stamp = root / "synthetic.json"
    if stamp.is_file() and json.loads(stamp.read_text()) == {"runs": n_runs, "v": 3}:
        return root
    shutil.rmtree(root, ignore_errors=True)
    (root / "arrays").mkdir(parents=True)
    blank = root / "blank.npz"  # every batch's arrays file: hard links to one tiny file (the store checks they exist)
    np.savez(blank, theta=np.zeros((1, 1)))
    pos = 0
    with open(root / RUNS_FILE, "wb") as runs, open(root / INDEX_FILE, "wb") as idx:
        for b in range(-(-n_runs // BATCH)):
            bid, recs = synthetic_batch(b, min(BATCH, n_runs - b * BATCH))
            payload = ("\n".join(json.dumps(r) for r in recs) + "\n").encode()
            runs.write(payload)
            idx.write(json.dumps({"start": pos, "end": pos + len(payload), "batch_id": bid,
                                  "run_ids": [r["run_id"] for r in recs],
                                  "sha256": hashlib.sha256(payload).hexdigest()}).encode() + b"\n")
            os.link(blank, root / "arrays" / f"{bid}.npz")
            pos += len(payload)
    stamp.write_text(json.dumps({"runs": n_runs, "v": 3}))
    return root


def _t(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def measure(root: Path, n_runs: int, *, max_full: int = 100_000, appends: int = 5) -> dict[str, float | None]:
    """One row of the table (seconds) for a synthetic store of ``n_runs`` (rebuilt if changed)."""
    from harness.results.columnar import COLUMNS_DIR, SCORE_FIELDS, compact, load_columns
    from harness.scoring.summary import summarize

    make_synthetic_store(root, n_runs)
    work = root.with_name(root.name + "-work")  # appended shards go to a copy-free side store
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(root / COLUMNS_DIR, ignore_errors=True)
    row: dict[str, float | None] = {"runs": n_runs, "MB": (root / RUNS_FILE).stat().st_size / 1e6}
    base = -(-n_runs // BATCH)
    ids = synthetic_batch(0)[1]
    row["open+resume"], ok = _t(lambda: _resume_check(root, ids))
    assert ok
    st = ResultStore(root)
    st.finished_run_ids()  # index loaded once, as a sweep or the runner does
    times = []
    theta = np.zeros((BATCH, 16))
    for k in range(appends):
        bid, recs = synthetic_batch(base + k)
        dt, _ = _t(lambda: st.append_batch(recs, {"theta": theta, "theta0": theta}, f"{bid}-new"))
        times.append(dt)
    row["append 64"] = statistics.median(times)
    # undo the appends so the synthetic store stays n_runs
    _truncate_appends(root, n_runs)
    row["full parse"] = _t(lambda: load_records(root, warn=False))[0] if n_runs <= max_full else None
    row["score (jsonl)"] = (_t(lambda: summarize(load_columns(root, SCORE_FIELDS)))[0]
                            if n_runs <= max_full else None)
    row["compact"], _ = _t(lambda: compact(root))
    row["score (parquet)"], rows = _t(lambda: summarize(load_columns(root, SCORE_FIELDS)))
    assert sum(r["runs"] for r in rows) == n_runs
    if n_runs <= max_full:
        from harness.report import render_report

        row["report"] = _t(lambda: render_report(root, work / "report.html"))[0]
    else:
        row["report"] = None
    shutil.rmtree(root / COLUMNS_DIR, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    return row


def _resume_check(root: Path, recs: list[dict[str, Any]]) -> bool:
    st = ResultStore(root)  # a fresh open: loads runs.index
    return all(st.has_run(r["run_id"]) for r in recs)


def _truncate_appends(root: Path, n_runs: int) -> None:
    """Drop the benchmark's appended shards again (cut runs.jsonl / runs.index back)."""
    lines = (root / INDEX_FILE).read_bytes().split(b"\n")
    keep = lines[: -(-n_runs // BATCH)]
    end = json.loads(keep[-1])["end"] if keep else 0
    with open(root / RUNS_FILE, "r+b") as fh:
        fh.truncate(end)
    (root / INDEX_FILE).write_bytes(b"\n".join(keep) + b"\n")
    for p in (root / "arrays").glob("*-new.npz"):
        p.unlink()


COLS = ("runs", "MB", "append 64", "open+resume", "full parse", "compact", "score (parquet)", "score (jsonl)", "report")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m harness.perf.store_bench", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,100000,1000000")
    p.add_argument("--dir", default="results/store-scale")
    p.add_argument("--max-full", type=int, default=100_000)
    args = p.parse_args(argv)
    print("| " + " | ".join(COLS) + " |")
    print("|" + "---|" * len(COLS), flush=True)
    for size in args.sizes.split(","):
        n = int(float(size))
        r = measure(Path(args.dir) / f"n{n}", n, max_full=args.max_full)
        print("| " + " | ".join("-" if r.get(c) is None else (f"{r[c]:,}" if c == "runs" else f"{r[c]:.3g}")
                                for c in COLS) + " |", flush=True)
    print("(seconds; MB = size of runs.jsonl)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
