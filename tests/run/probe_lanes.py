"""Measure what changes a run's result: which lane counts give bit-identical runs (docs/design.md,
"One run id, one result").  A measurement script, not a test (pytest does not collect it)::

    PYTHONPATH=. python -m tests.run.probe_lanes dlae 6 100 1,2,3,4,6,8
    PYTHONPATH=. python -m tests.run.probe_lanes quartic 6 100 1,2,3,4,6,8

Solves runs ``0 .. N-1`` (seed 0, Newton-MR defaults) in lockstep blocks padded to ``L`` rows for each
``L``, and once in ``N`` refilling lanes, then prints the classes of bit-identical layouts (theta
bytes, ``n_iter``, ``hvps``) and each layout's distance from one lane.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from cases import get_case
from harness.run.initial_points import initial_points
from harness.solvers import Problem, get_solver


def main(argv: list[str]) -> None:
    name, n, max_iter = argv[0], int(argv[1]), int(argv[2])
    lanes = [int(v) for v in (argv[3] if len(argv) > 3 else "1,2,4").split(",")]
    case = get_case(name)
    solver = get_solver("newton-mr")
    problem = Problem(case.loss_fn, case.data, case.dim)
    x = initial_points(case, 0, range(n))
    res: dict[str, list[tuple[np.ndarray, int, int]]] = {}
    for L in lanes:
        t, out = time.time(), []
        for s in range(0, n, L):
            idx = list(range(s, min(s + L, n)))
            t0 = np.concatenate([x[idx], np.repeat(x[idx[-1:]], L - len(idx), 0)])
            r = solver.solve(problem, t0, max_iter=max_iter, tol=1e-10)
            out += [(r.theta[j], int(r.n_iter[j]), int(r.hvps[j])) for j in range(len(idx))]
        res[f"lockstep {L}"] = out
        print(f"lockstep L={L}: n_iter {[o[1] for o in out]} hvps {[o[2] for o in out]} ({time.time() - t:.0f}s)",
              flush=True)
    r = solver.solve_refill(problem, x, max_iter=max_iter, tol=1e-10, lanes=n, runs=n)
    res[f"refill {n}"] = [(r.theta[j], int(r.n_iter[j]), int(r.hvps[j])) for j in range(n)]
    same = lambda a, b: all(p[0].tobytes() == q[0].tobytes() and p[1:] == q[1:] for p, q in zip(res[a], res[b]))  # noqa: E731
    for a in res:
        print(f"{a}: bit-identical to {[b for b in res if same(a, b)]}")
    ref = res[next(iter(res))]
    for b in list(res)[1:]:
        dth = max(float(np.max(np.abs(p[0] - q[0]))) for p, q in zip(ref, res[b]))
        dh = max(abs(p[2] - q[2]) / max(q[2], 1) for p, q in zip(ref, res[b]))
        differ = sum(p[0].tobytes() != q[0].tobytes() for p, q in zip(ref, res[b]))
        print(f"{b} vs first: runs differing {differ}/{n}, max|dtheta| {dth:.1e}, max rel HVP diff {dh:.0%}")


if __name__ == "__main__":
    main(sys.argv[1:])
