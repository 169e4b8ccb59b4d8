"""Probe (docs/scale-newton-mr.md, Q1/Q3): Newton-MR iterations on the DLAE (gram=True) vs k, p, options.

usage: python nmr_scale_table.py K P RUNS [opt=value ...] [init=gaussian] [max_iter=500]
"""
import time

import numpy as np

from _probe import parse, solve

k, p, runs, opts, case_kw, st = parse({"max_iter": 500, "seed": 0})
t = time.time()
case, theta0, solver, res = solve(k, p, list(range(runs)), opts, case_kw, seed=st["seed"], max_iter=st["max_iter"])
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
