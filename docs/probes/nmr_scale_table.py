"""Probe (docs/scale-newton-mr.md, Q1/Q3): Newton-MR iterations on the DLAE (gram=True) vs k, p, options.

usage: python nmr_scale_table.py K P RUNS [opt=value ...] [init=gaussian] [max_iter=500]
"""
import sys
import time

import numpy as np

from cases import get_case
from harness.run.initial_points import initial_points
from harness.solvers import Problem, get_solver

k, p, runs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
opts, case_kw, max_iter, seed = {}, {}, 500, 0
for a in sys.argv[4:]:
    key, val = a.split("=")
    if key == "init":
        case_kw["init"] = val
    elif key == "max_iter":
        max_iter = int(val)
    elif key == "seed":
        seed = int(val)
    else:
        opts[key] = {"True": True, "False": False}.get(val, val)
        if isinstance(opts[key], str):
            try:
                opts[key] = float(val)
            except ValueError:
                pass
case = get_case("dlae", k=k, p=p, gram=True, **case_kw)
theta0 = initial_points(case, seed, list(range(runs)))
solver = get_solver("newton-mr", **opts)
prob = Problem(case.loss_fn, case.data, case.dim)
t = time.time()
res = solver.solve(prob, theta0, max_iter=max_iter, tol=1e-10)
dt = time.time() - t
names = {0: "conv", 1: "maxit", 2: "stalled", 3: "diverged"}
for i in range(runs):
    tr = {kk: v[i] for kk, v in res.trace.items()}
    n = int(res.n_iter[i])
    g2 = tr["grad_norm_sq"][: n + 1]
    loss = tr["loss"][n]
    m = case.ground_truth.match(res.theta[i])
    print(f"k={k} p={p} dim={case.dim} run={i} opts={opts} {case_kw} iters={n} hvps={int(res.hvps[i])} "
          f"grads={int(res.grads[i])} status={int(res.status[i])} g2={g2[-1]:.2e} loss={loss:.6g} "
          f"class={m.label if m else None} t={dt:.1f}s", flush=True)
