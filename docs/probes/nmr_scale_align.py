"""Probe (docs/scale-newton-mr.md, Q2): where a slow run sits, in the eigenbasis of Sigma.

After ``t`` Newton-MR iterations, for the DLAE ``theta = (W1, W2)``: the principal angles between
span(W2) (the captured subspace) and span(u_0..u_{p-1}) and the eigen-pairs (i < p captured, j >= p not)
that carry the misalignment, with the eigenvalue gaps lambda_i - lambda_j (the curvature of a rotation
of u_i towards u_j at the minimum is proportional to (lambda_i - lambda_j)/k), plus the balance
||W1 - W2^T|| / ||W2|| (the GL(p) gauge coordinate).

usage: python nmr_scale_align.py K P RUN T1 [T2 ...]
"""
import sys

import numpy as np

from cases import get_case
from harness.run.initial_points import initial_points
from harness.solvers import Problem, get_solver

k, p, run = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
case = get_case("dlae", k=k, p=p, gram=True)
gt = case.ground_truth
lam, u = np.asarray(gt.lam) if hasattr(gt, "lam") else None, None
sigma = np.asarray(case.data["sigma"])
w, v = np.linalg.eigh(sigma)
lam, u = w[::-1], v[:, ::-1]
print(f"# k={k} p={p}: lambda_(p-3..p+2) = {np.round(lam[p - 3:p + 3], 3)}; gaps around p: "
      f"{np.round(-np.diff(lam[p - 3:p + 3]), 3)}; loss at global min {lam[p:].sum() / k:.6f}")
theta0 = initial_points(case, 0, [run])
for t in map(int, sys.argv[4:]):
    res = get_solver("newton-mr").solve(Problem(case.loss_fn, case.data, case.dim), theta0, max_iter=t, tol=1e-10)
    th = res.theta[0]
    w1, w2 = th[: p * k].reshape(p, k), th[p * k:].reshape(k, p)
    q, _ = np.linalg.qr(w2)
    c = u.T @ q  # k x p: coordinates of the captured subspace in Sigma's eigenbasis
    out = np.linalg.norm(c[p:], axis=1) ** 2  # energy on uncaptured eigvecs j >= p
    miss = 1 - np.linalg.norm(c[:p], axis=1) ** 2  # missing energy of captured eigvecs i < p
    ang = np.degrees(np.arccos(np.clip(np.linalg.svd(c[:p], compute_uv=False), -1, 1)))
    jt = np.argsort(-out)[:3] + p
    it_ = np.argsort(-miss)[:3]
    gap = (miss * lam[:p]).sum() - (out * lam[p:]).sum()
    print(f"t={t}: loss={res.trace['loss'][0][t]:.7f} g2={res.trace['grad_norm_sq'][0][t]:.2e} "
          f"max principal angle {ang.max():.3g} deg (next {np.sort(ang)[-2]:.3g}); "
          f"most missing captured i={list(it_)} ({np.round(miss[it_], 4)}), most leaked j={list(jt)} "
          f"({np.round(out[jt - p], 4)}); ||W1-W2^T||/||W2||={np.linalg.norm(w1 - w2.T) / np.linalg.norm(w2):.3g}; "
          f"sum miss*lam - leak*lam = {gap:.3g} (k x loss excess from subspace)")
