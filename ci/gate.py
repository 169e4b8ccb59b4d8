#!/usr/bin/env python3
"""CI validation gate: run the quick suite and compare it with the committed baseline.

Usage::

    python ci/gate.py                    # run into results/gate/, compare with ci/baseline/gate.json
    python ci/gate.py --update-baseline  # run and (re)write ci/baseline/gate.json
    python ci/gate.py --jobs 1           # cells one after another (default: 2 processes)

The quick suite (``ci-gate`` in the suite registry, :data:`harness.run.suite.CI_GATE`)
is three solvers (Newton-MR, damped Newton, BTLS-GNM) on three certified cases (thesis Eq. 3.35 quartic,
Example 1.1, a small exact DLAE) plus damped Newton on the deep linear net,
64 runs each from seed 0 (``--runs``/``--seed`` to change it for experiments).
Results go to a fresh ``results/gate/`` (wiped first: the runner resumes by
key, and a code change does not change the key).  The comparison is
:func:`harness.gate.compare.compare` at family-wise ``alpha = 0.01`` (Holm): paired
on ``(seed, run_index)`` -- run ``i`` starts from the same initial point in
the baseline and now -- with exact McNemar tests on success and correct and an
exact sign test on HVPs (median pair ratio >= 1.5); on failure it lists the
runs whose verdict changed and the largest HVP changes.  A baseline cell
missing from the new results fails the gate too.  What this catches and how
often it cries wolf is measured in ``docs/gate-power.md`` (64 runs per cell
chosen there).

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
RUNS = 64
SEED = 0
#: The quick suite's name in the suite registry (:data:`harness.run.suite.SUITES`).
SUITE = "ci-gate"


def gate_specs(runs: int = RUNS, seed: int = SEED) -> list:
    """The quick suite (``ci-gate``, looked up by name) as :class:`harness.run.spec.RunSpec` objects, with
    ``runs`` runs from ``seed`` per cell."""
    import dataclasses

    from harness.run.suite import get_suite

    return [dataclasses.replace(c, runs=runs, seed=seed).spec() for c in get_suite(SUITE).cells]


def run_gate_suite(out: Path, *, jobs: int = 2, runs: int = RUNS, seed: int = SEED) -> list[dict]:
    """Run the quick suite into a fresh ``out`` and return its records."""
    from harness.run.runner import run_suite

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
    p.add_argument("--runs", type=int, default=RUNS, help=f"runs per cell (default {RUNS})")
    p.add_argument("--seed", type=int, default=SEED, help=f"seed of every cell (default {SEED})")
    p.add_argument("--changes", type=int, default=20, help="changed runs listed per cell on failure (default 20)")
    p.add_argument("--compile-cache", default=None, metavar="DIR|off",
                   help="JAX persistent compilation cache (default: $CRITBENCH_COMPILE_CACHE, else the user cache dir)")
    a = p.parse_args(argv)
    if a.runs < 1 or a.seed < 0:
        print("gate: error: --runs must be >= 1 and --seed >= 0", file=sys.stderr)
        return 2

    from harness.jitcache.compile_cache import enable_compile_cache

    enable_compile_cache(a.compile_cache)

    from harness.gate.compare import CompareError, load_cells, write_baseline

    baseline = Path(a.baseline)
    if not a.update_baseline and not baseline.is_file():
        print(f"gate: error: no baseline at {baseline}; create it with `python ci/gate.py --update-baseline`",
              file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    records = run_gate_suite(Path(a.out), jobs=max(1, a.jobs), runs=a.runs, seed=a.seed)
    wall = time.perf_counter() - t0
    print(f"gate: {len(records)} runs in {wall:.0f} s -> {a.out}")
    if a.update_baseline:
        from harness.run import provenance

        prov = provenance.collect()
        write_baseline(records, baseline, created=prov.get("time"), critbench=prov.get("critbench"),
                       git_commit=prov.get("git_commit"), runs=a.runs, seed=a.seed,
                       note="quick suite of ci/gate.py; regenerate with `python ci/gate.py --update-baseline`")
        print(f"gate: baseline written to {baseline}")
        return 0
    try:
        status, text = judge(load_cells(baseline), records, alpha=a.alpha, min_effect=a.min_effect, changes=a.changes)
    except CompareError as exc:
        print(f"gate: error: {exc}", file=sys.stderr)
        return 2
    print(text)
    return status


def judge(baseline: list, records: list, *, alpha: float = 0.01, min_effect: float = 1.5,
          changes: int = 20) -> tuple[int, str]:
    """Compare ``records`` with the baseline cells: (exit status, text: table, changed runs on failure, verdict)."""
    from harness.gate.compare import compare, format_changes

    report = compare(baseline, records, alpha=alpha, min_effect=min_effect)
    lines = [report.format()]
    if report.only_base:
        lines.append("gate: FAIL: baseline cells missing from this run: " + ", ".join(c.label for c in report.only_base))
        return 1, "\n".join(lines)
    if not report.ok:
        lines.append("\ngate: runs that changed (same initial point in the baseline and now):")
        lines.append(format_changes(report, limit=changes))
        lines.append("gate: FAIL: significant regression (see above)")
        return 1, "\n".join(lines)
    lines.append("gate: PASS")
    return 0, "\n".join(lines)


if __name__ == "__main__":
    if Path(sys.prefix).resolve() != (ROOT / ".venv").resolve() and not os.environ.get("CRITBENCH_GATE_NO_VENV"):
        sys.path.insert(0, str(ROOT / "ci"))
        from _venv import ensure_venv, run

        sys.exit(run(ensure_venv(), str(Path(__file__).resolve()), *sys.argv[1:],
                     env={"CRITBENCH_GATE_NO_VENV": "1"}))
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
