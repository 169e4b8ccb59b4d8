#!/usr/bin/env python3
"""CI validation gate: run the quick suite and compare it with the committed baseline.

Usage::

    python ci/gate.py                    # run into results/gate/, compare with ci/baseline/gate.json
    python ci/gate.py --update-baseline  # run and (re)write ci/baseline/gate.json
    python ci/gate.py --jobs 1           # cells one after another (default: 2 processes)

The quick suite (:data:`GATE_SPECS`) is three solvers (Newton-MR, damped
Newton, BTLS-GNM) on three certified cases (thesis Eq. 3.35 quartic,
Example 1.1, a small exact DLAE), 16 runs each from seed 0.  Results go to a
fresh ``results/gate/`` (wiped first: the runner resumes by key, and a code
change does not change the key).  The comparison is
:func:`harness.compare.compare` at family-wise ``alpha = 0.01`` (Holm), cost
regressions need a median HVP ratio >= 1.5; a baseline cell missing from the
new results fails the gate too.

Exit status: 0 pass, 1 regression (or missing cell), 2 bad input / no baseline.
If run with the system Python it re-executes itself in ``.venv`` (``ci/_venv.py``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "ci" / "baseline" / "gate.json"
OUT = ROOT / "results" / "gate"
RUNS = 16
SEED = 0
DLAE_SMALL = {"k": 4, "p": 2, "n": 50, "exact": True}
#: (case, case_params, solver, max_iter) cells of the quick suite.
CELLS = (
    ("quartic", {}, "newton-mr", 200),
    ("quartic", {}, "damped-newton", 200),
    ("quartic", {}, "btls-gnm", 500),
    ("example-1.1", {}, "newton-mr", 200),
    ("example-1.1", {}, "damped-newton", 200),
    ("example-1.1", {}, "btls-gnm", 500),
    ("dlae", DLAE_SMALL, "newton-mr", 200),
    ("dlae", DLAE_SMALL, "damped-newton", 200),
    ("dlae", DLAE_SMALL, "btls-gnm", 500),
    # damped Newton on the depth-3 linear net: over-damping (one large gamma
    # for every candidate) shows here as ~3.7x HVPs per success.
    ("deep-linear", {}, "damped-newton", 200),
)


def gate_specs(runs: int = RUNS, seed: int = SEED) -> list:
    """The quick suite as :class:`harness.runner.RunSpec` objects."""
    from harness.runner import RunSpec

    return [RunSpec(case, dict(params), solver, {}, runs, seed, max_iter=mi) for case, params, solver, mi in CELLS]


def run_gate_suite(out: Path, *, jobs: int = 2, runs: int = RUNS, seed: int = SEED) -> list[dict]:
    """Run the quick suite into a fresh ``out`` and return its records."""
    from harness.runner import run_suite

    specs = gate_specs(runs, seed)
    if out.exists():
        shutil.rmtree(out)
    # longest cells first so the workers finish together
    order = sorted(specs, key=lambda s: (s.solver != "damped-newton", s.case != "dlae"))
    return run_suite(order, out, command=["ci/gate.py", *sys.argv[1:]], jobs=jobs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--update-baseline", action="store_true", help="rewrite ci/baseline/gate.json from this run")
    p.add_argument("--baseline", default=str(BASELINE))
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--alpha", type=float, default=0.01)
    p.add_argument("--min-effect", type=float, default=1.5)
    p.add_argument("--compile-cache", default=None, metavar="DIR|off",
                   help="JAX persistent compilation cache (default: $CRITBENCH_COMPILE_CACHE, else the user cache dir)")
    a = p.parse_args(argv)

    from harness.compile_cache import enable_compile_cache

    enable_compile_cache(a.compile_cache)

    from harness.compare import CompareError, compare, load_cells, write_baseline

    baseline = Path(a.baseline)
    if not a.update_baseline and not baseline.is_file():
        print(f"gate: error: no baseline at {baseline}; create it with `python ci/gate.py --update-baseline`",
              file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    records = run_gate_suite(Path(a.out), jobs=max(1, a.jobs))
    wall = time.perf_counter() - t0
    print(f"gate: {len(records)} runs in {wall:.0f} s -> {a.out}")
    if a.update_baseline:
        from harness import provenance

        prov = provenance.collect()
        write_baseline(records, baseline, created=prov.get("time"), critbench=prov.get("critbench"),
                       git_commit=prov.get("git_commit"), runs=RUNS, seed=SEED,
                       note="quick suite of ci/gate.py; regenerate with `python ci/gate.py --update-baseline`")
        print(f"gate: baseline written to {baseline}")
        return 0
    try:
        report = compare(load_cells(baseline), records, alpha=a.alpha, min_effect=a.min_effect)
    except CompareError as exc:
        print(f"gate: error: {exc}", file=sys.stderr)
        return 2
    print(report.format())
    if report.only_base:
        print("gate: FAIL: baseline cells missing from this run: " + ", ".join(c.label for c in report.only_base))
        return 1
    if not report.ok:
        print("gate: FAIL: significant regression (see above)")
        return 1
    print("gate: PASS")
    return 0


if __name__ == "__main__":
    if Path(sys.prefix).resolve() != (ROOT / ".venv").resolve() and not os.environ.get("CRITBENCH_GATE_NO_VENV"):
        sys.path.insert(0, str(ROOT / "ci"))
        from _venv import ensure_venv, run

        sys.exit(run(ensure_venv(), str(Path(__file__).resolve()), *sys.argv[1:],
                     env={"CRITBENCH_GATE_NO_VENV": "1"}))
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
