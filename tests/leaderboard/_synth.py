"""Synthetic result sets and archives for the leaderboard tests (written through the real store)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.leaderboard.archive import write_archive
from harness.run.suite import Suite, SuiteCell
from harness.results.store import ResultStore

#: A two-cell suite for synthetic result sets (only its name and fingerprint matter).
TOY = Suite("toy-v1", "two synthetic cells", (SuiteCell("quartic", {}, 20, 50), SuiteCell("xor", {}, 20, 50)),
            reference_solvers=("ref-a", "ref-b"))
TOY_V2 = Suite("toy-v2", "another version", (SuiteCell("quartic", {}, 20, 60),), reference_solvers=("ref-a",))

#: (outcome, correct, hvps) of one run.
Run = tuple[str, Any, int]


def records(solver: str, case: str, runs: Sequence[Run], *, seed: int = 0, max_iter: int = 50,
            skey: str | None = None) -> list[dict[str, Any]]:
    """Valid run records of ``solver`` on ``case``: run ``i`` is ``runs[i]``."""
    skey = skey or f"{solver}-0000000000"
    out = []
    for i, (outcome, correct, hvps) in enumerate(runs):
        crit = outcome == "critical"
        out.append({
            "run_id": f"{case}-k/{skey}/{seed}/{i}", "batch_row": i, "case": case, "case_params": {},
            "case_key": f"{case}-k", "dim": 2, "solver": solver, "solver_key": skey, "seed": seed, "run_index": i,
            "max_iter": max_iter, "tol": 1e-10, "status": "converged" if crit else "max_iter", "outcome": outcome,
            "n_iter": hvps // 3, "hvps": hvps, "grads": hvps // 3 + 1, "seconds": 0.001 * hvps,
            "compile_seconds": 0.5 if i == 0 else 0.0, "final_loss": 1.0, "final_grad_norm_sq": 1e-12 if crit else 1e-3,
            "ever_gradient_flat": outcome == "gradient-flat", "reported_ever_gradient_flat": outcome == "gradient-flat",
            "index_count": 0, "index_fraction": 0.0, "matched_class": "min" if crit else None,
            "loss_error": 0.0 if crit else None, "index_error_count": 0 if crit else None,
            "index_error_fraction": 0.0 if crit else None, "correct": correct,
        })
    return out


def write_set(root: Path, recs: Sequence[Mapping[str, Any]], suite: Suite | None = TOY) -> Path:
    """A result directory holding ``recs`` (one batch per (solver, case)), stamped with ``suite``."""
    store = ResultStore(root)
    groups: dict[tuple, list[Mapping[str, Any]]] = {}
    for r in recs:
        groups.setdefault((r["solver_key"], r["case"]), []).append(r)
    for n, (key, rs) in enumerate(sorted(groups.items())):
        B = len(rs)
        g2 = np.tile(np.logspace(1, -12, 8), (B, 1))
        store.append_batch(rs, {"theta0": np.zeros((B, 2)), "theta": np.ones((B, 2)), "grad_norm_sq": g2},
                           f"b{n}")
    if suite is not None:
        store.write_meta(**suite.stamp())
    return root


def write_toy_archive(path: Path, recs: Sequence[Mapping[str, Any]], suite: Suite = TOY) -> Path:
    return write_archive(recs, path, suite=suite, critbench="test", git_commit="deadbeef", jax="0", created="now")


def pattern(n_ok: int, n: int = 20, hvps: int = 30, fail: str = "other") -> list[Run]:
    """``n_ok`` critical-and-correct runs then failures."""
    return [("critical", True, hvps) if i < n_ok else (fail, False, 3 * hvps) for i in range(n)]
