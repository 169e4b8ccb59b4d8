"""Synthetic result directories (written with json/hashlib/numpy only, per docs/design.md and docs/store.md)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

TRACE_FIELDS = ("loss", "grad_norm_sq", "step_size", "r", "r_H", "hfro", "krylov_iters", "krylov_flag", "hvps", "grads")
INT_FIELDS = {"krylov_iters", "krylov_flag", "hvps", "grads"}
CUTOFFS = (1e-4, 1e-6, 1e-10)
PROVENANCE = {"critbench": "0.1.0", "jax": "0.10.2", "jaxlib": "0.10.2", "numpy": "2.4", "python": "3.12",
              "device": "cpu", "git_commit": "deadbeefcafe", "hostname": "testhost", "time": "2025-01-01T00:00:00"}

#: (solver, outcomes per run): 4/6 and 2/6 critical.
PLAN = {
    "solver-a": ["critical", "critical", "critical", "critical", "gradient-flat", "other"],
    "solver-b": ["critical", "critical", "gradient-flat", "gradient-flat", "diverged", "other"],
}
T = 20


def make_results(root: Path, case: str = "quartic", *, shuffle: bool = False) -> Path:
    """Write ``runs.jsonl``, ``arrays/<batch>.npz`` and ``meta.json`` under ``root``
    (records in shuffled file order if ``shuffle``; ``batch_row`` keeps them matched)."""
    rng = np.random.default_rng(0)
    (root / "arrays").mkdir(parents=True)
    lines = []
    for solver, outcomes in PLAN.items():
        bid = f"{case}-{solver}-b0"
        B = len(outcomes)
        tr = {k: (np.full((B, T + 1), -1, np.int64) if k in INT_FIELDS else np.full((B, T + 1), np.nan))
              for k in TRACE_FIELDS}
        snap_it = np.full((B, 3), -1, np.int64)
        for i, outcome in enumerate(outcomes):
            n = 5 + 2 * i
            g2 = np.logspace(2, -12 if outcome == "critical" else 0, n + 1)
            tr["grad_norm_sq"][i, : n + 1] = g2
            tr["loss"][i, : n + 1] = np.linspace(50, 13, n + 1)
            tr["hvps"][i, : n + 1] = np.arange(n + 1) * 3
            tr["grads"][i, : n + 1] = np.arange(n + 1) + 1
            for c, eps in enumerate(CUTOFFS):
                below = np.nonzero(g2 < eps)[0]
                snap_it[i, c] = below[0] if below.size else -1
            crit = outcome == "critical"
            lines.append({
                "run_id": f"{case}/{solver}/0/{i}", "batch_id": bid, "batch_row": i, "case": case, "case_params": {},
                "case_key": case, "solver": solver, "solver_options": {}, "solver_key": solver, "seed": 0,
                "run_index": i, "max_iter": T, "tol": 1e-12,
                "status": "converged" if crit else ("diverged" if outcome == "diverged" else "max_iter"),
                "outcome": outcome, "n_iter": n, "hvps": 3 * n, "grads": n + 1, "seconds": 0.01 * n,
                "final_loss": 13.0 if crit else 20.0 + i, "final_grad_norm_sq": float(g2[-1]),
                "final_r": float(rng.uniform(0, 1)), "final_r_H": 1e-3, "max_r": float(rng.uniform(0.5, 1)),
                "min_r_H": 1e-4, "index_count": 0, "index_fraction": 0.0 if crit else 0.5, "nullity": 0,
                "matched_class": "min" if crit else None, "class_loss": 13.0 if crit else None,
                "class_index_count": 0 if crit else None, "class_index_fraction": 0.0 if crit else None,
                "loss_error": 0.0 if crit else None, "index_error_count": 0 if crit else None,
                "index_error_fraction": 0.0 if crit else None, "correct": crit if i < 5 else None,
                "matched_flat_point": None, "provenance": PROVENANCE,
            })
        np.savez(root / "arrays" / f"{bid}.npz", theta0=rng.normal(size=(B, 2)), theta=rng.normal(size=(B, 2)),
                 snapshots=np.zeros((B, 3, 2)), snapshot_iter=snap_it, **tr)
    if shuffle:
        lines = [lines[i] for i in rng.permutation(len(lines))]
    write_runs(root, lines)
    (root / "meta.json").write_text(json.dumps({"command": ["critbench", "run", "--case", case],
                                                "provenance": PROVENANCE, "critbench_version": "0.1.0"}))
    return root


def write_runs(root: Path, records: list[dict]) -> None:
    """Write ``runs.jsonl`` and its ``runs.index`` (one entry per run of consecutive
    records of a batch: byte range and SHA-256 of those bytes), as critbench does."""
    data, index, pos = b"", [], 0
    for rec in records:
        line = (json.dumps(rec) + "\n").encode()
        if index and index[-1]["batch_id"] == rec["batch_id"]:
            index[-1]["end"] += len(line)
            index[-1]["run_ids"].append(rec["run_id"])
        else:
            index.append({"start": pos, "end": pos + len(line), "batch_id": rec["batch_id"], "run_ids": [rec["run_id"]]})
        data += line
        pos += len(line)
    for e in index:
        e["sha256"] = hashlib.sha256(data[e["start"]:e["end"]]).hexdigest()
    (root / "runs.jsonl").write_bytes(data)
    (root / "runs.index").write_text("".join(json.dumps(e) + "\n" for e in index))
