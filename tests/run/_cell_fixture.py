"""A small scorecard subset whose records and arrays are a labelled regression fixture.

``python -m tests.run._cell_fixture`` (with ``PYTHONPATH`` at the repository root) runs the
subset and rewrites ``tests/run/data/cell_regression.json``; ``test_cell_regression.py``
reruns it and compares field by field.  Regenerate only when records are meant to change.

What is compared: every record field except :data:`PROVENANCE_FIELDS` (facts about when,
where and how fast a run ran, not what it computed), and the SHA-256 of every stored array
(name, dtype, shape and bytes) of every batch.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

FIXTURE = Path(__file__).parent / "data" / "cell_regression.json"

#: Record fields left out of the comparison: provenance (when, where, how fast), not results.
PROVENANCE_FIELDS = (
    "provenance",          # versions, host, commit, device, timestamps
    "seconds",             # wall time per run
    "compile_seconds",     # warm-up wall time
    "judge_cpu_seconds",   # the judge's CPU time per run
    "judge_wall_seconds",  # the judge's wall time per run
    "sandbox",             # where the solver ran (bwrap / none / trusted: the machine's facts)
    "time_limit",          # the limit in effect (null with the in-process back end)
)

#: The cells: (case, case params, solver, solver options, runs, seed, max_iter).
CELLS = (
    ("quartic", {}, "newton-mr", {"forcing": 0.3}, 4, 0, 30),
    ("quartic", {}, "gnm", {}, 3, 1, 30),
    ("example-1.1", {}, "newton-mr", {}, 3, 0, 30),
    ("deep-linear", {}, "damped-newton", {}, 3, 0, 20),
)
#: A plug-in (``module:attr``): solved in a sandboxed worker.
PLUGIN_CELL = ("example-1.1", {}, "tests.scoring._helpers:GD", {"lr": 0.1}, 2, 0, 20)
#: ``harness.testing.run_records`` (runs from points, no store).
TESTING_CELL = ("quartic", {}, "newton-mr", {"forcing": 0.25}, 3, 2, 25)


def _strip(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if k not in PROVENANCE_FIELDS}


def _digest(arr: np.ndarray) -> str:
    a = np.ascontiguousarray(arr)
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.tobytes())
    return h.hexdigest()


def produce(out_dir: str | Path) -> dict[str, Any]:
    """Run the subset into ``out_dir`` (fresh) and return the comparable facts."""
    from harness.results.store import load_batch_arrays, load_records
    from harness.run.runner import RunSpec, run_suite
    from harness.testing import run_records

    specs = [RunSpec(c, p, s, o, n, seed, max_iter=t) for c, p, s, o, n, seed, t in (*CELLS, PLUGIN_CELL)]
    run_suite(specs, out_dir, write_meta=False)
    stored = sorted(load_records(out_dir), key=lambda r: (r["case"], r["solver"], r["run_index"]))
    arrays = load_batch_arrays(out_dir, sorted({str(r["batch_id"]) for r in stored}), strict=True)
    c, p, s, o, n, seed, t = TESTING_CELL
    tested = run_records(s, c, runs=n, seed=seed, max_iter=t, case_params=p, solver_options=o)
    return {
        "records": [_strip(r) for r in stored],
        "arrays": {b: {k: _digest(v) for k, v in sorted(a.items())} for b, a in sorted(arrays.items())},
        "testing_records": json.loads(json.dumps([_strip(r) for r in tested], default=_plain)),
    }


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return repr(v)


def main() -> int:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        facts = produce(Path(tmp) / "out")
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps(facts, sort_keys=True, separators=(",", ":"), default=_plain) + "\n")
    print(f"wrote {FIXTURE} ({FIXTURE.stat().st_size} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    import jax

    jax.config.update("jax_enable_x64", True)
    raise SystemExit(main())
