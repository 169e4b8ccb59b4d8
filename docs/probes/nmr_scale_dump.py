"""Probe: dump the stored per-iteration trace of Newton-MR runs on the DLAE (gram=True).

usage: python nmr_scale_dump.py K P RUNS [opt=value ...] [init=gaussian] [max_iter=500] [every=1]
"""
import numpy as np

from _probe import parse, solve

k, p, runs, opts, case_kw, st = parse({"max_iter": 500, "every": 1, "seed": 0})
every = st["every"]
case, theta0, _, res = solve(k, p, list(range(runs)), opts, case_kw, seed=st["seed"], max_iter=st["max_iter"])
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
