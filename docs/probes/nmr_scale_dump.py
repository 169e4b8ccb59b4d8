"""Probe: dump the stored per-iteration trace of Newton-MR runs on the DLAE (gram=True).

usage: python nmr_scale_dump.py K P RUNS [opt=value ...] [init=gaussian] [max_iter=500] [every=1]
"""
import sys

import numpy as np

from cases import get_case
from harness.run.initial_points import initial_points
from harness.solvers import Problem, get_solver

k, p, runs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
opts, case_kw, max_iter, every, seed = {}, {}, 500, 1, 0
for a in sys.argv[4:]:
    key, val = a.split("=")
    if key == "init":
        case_kw["init"] = val
    elif key in ("max_iter", "every", "seed"):
        globals()[key] = int(val)
    else:
        try:
            opts[key] = float(val)
        except ValueError:
            opts[key] = {"True": True, "False": False}.get(val, val)
case = get_case("dlae", k=k, p=p, gram=True, **case_kw)
theta0 = initial_points(case, seed, list(range(runs)))
res = get_solver("newton-mr", **opts).solve(Problem(case.loss_fn, case.data, case.dim), theta0, max_iter=max_iter,
                                             tol=1e-10)
gt = case.ground_truth
for i in range(runs):
    n = int(res.n_iter[i])
    tr = {kk: v[i] for kk, v in res.trace.items()}
    print(f"# run {i}: iters={n} status={int(res.status[i])} hvps={int(res.hvps[i])} grads={int(res.grads[i])}")
    print("   it        loss        g2   ratio  kit flag    alpha")
    for t in range(1, n + 1):
        if t % every == 0 or t > n - 3:
            print(f"{t:5d} {tr['loss'][t]:.8g} {tr['grad_norm_sq'][t]:9.2e} {tr['grad_norm_sq'][t] / tr['grad_norm_sq'][t - 1]:7.3f}"
                  f" {int(tr['krylov_iters'][t]):4d} {int(tr['krylov_flag'][t]):4d} {tr['step_size'][t]:8.4f}")
