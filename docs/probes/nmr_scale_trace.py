"""Probe (docs/scale-newton-mr.md, Q2): the stored trace of one Newton-MR run plus the gauge share of each step.

For the DLAE the GL(p) gauge orbit through theta = (W1, W2) has tangent space
{(A W1, -W2 A) : A in R^{p x p}} (p^2 directions; the exact Hessian kernel on the critical manifold).
Per iteration: ||g||^2, its ratio to the previous one, MINRES-QLP flag/iters, alpha, ||p||, the share of p in
the gauge tangent space (||P_gauge p|| / ||p||), ||g(theta + p)||^2 / ||g||^2 for the full step (and without the
gauge part), and MINRES-QLP's relres = ||r|| / (Anorm ||p|| + ||g||) with Anorm (Choi's rtol test is relres <= rtol).

usage: python nmr_scale_trace.py K P RUN [opt=value ...] [init=gaussian] [max_iter=500] [every=1]
"""
import jax
import jax.numpy as jnp
import numpy as np

from _probe import oracles, parse, solve

k, p, run, opts, case_kw, st = parse({"max_iter": 500, "every": 1, "seed": 0})
max_iter, every = st["max_iter"], st["every"]
case, theta0, solver, res = solve(k, p, [run], opts, case_kw, seed=st["seed"], max_iter=max_iter)
fn, data = case.loss_fn, case.data
n_it = int(res.n_iter[0])
tr = {kk: v[0] for kk, v in res.trace.items()}
print(f"# k={k} p={p} dim={case.dim} run={run} opts={opts} {case_kw}: iters={n_it} status={int(res.status[0])} "
      f"hvps={int(res.hvps[0])} grads={int(res.grads[0])} loss={tr['loss'][n_it]:.6g}")

o = oracles(case, solver)
vg, grad, step, mv, mr = o.vg, o.grad, o.step, o.mv, o.mr


def gauge_basis(th: np.ndarray) -> np.ndarray:
    """Orthonormal basis (dim x rank) of {(A W1, -W2 A)}."""
    w1 = th[: p * k].reshape(p, k)
    w2 = th[p * k:].reshape(k, p)
    cols = []
    for i in range(p):
        for j in range(p):
            a = np.zeros((p, p))
            a[i, j] = 1.0
            cols.append(np.concatenate([(a @ w1).ravel(), (-w2 @ a).ravel()]))
    q, s, _ = np.linalg.svd(np.array(cols).T, full_matrices=False)
    return q[:, s > 1e-12 * s[0]]


hdr = ("it", "g2", "g2ratio", "flag", "kit", "alpha", "|p|", "gauge", "r/g", "Hr/Hg", "full", "nongauge", "|th|", "relres", "Anorm")
print(" ".join(f"{h:>9}" for h in hdr))
theta = jnp.asarray(theta0[0])
f, g = vg(theta)
st = solver.init(fn, theta, f, g, data)
g2_prev = float(g @ g)
for it in range(n_it):
    out = step(theta, f, g, st)
    if it % every == 0 or it >= n_it - 3:
        r = mr(theta, g)
        pv, gv, th = np.asarray(r.x), np.asarray(g), np.asarray(theta)
        Q = gauge_basis(th)
        pg = Q @ (Q.T @ pv)
        g2 = float(gv @ gv)
        Hp = np.asarray(mv(theta)(r.x))
        res_ = Hp + gv
        Hres = np.asarray(mv(theta)(jnp.asarray(res_)))
        Hg = np.asarray(mv(theta)(g))
        m = lambda q: float(np.sum(np.asarray(grad(theta + jnp.asarray(q))) ** 2) / g2)  # noqa: E731
        row = [it, g2, float(tr["grad_norm_sq"][it + 1]) / g2, int(r.flag), int(r.iters), float(out[2].step_size),
               np.linalg.norm(pv), np.linalg.norm(pg) / np.linalg.norm(pv), np.linalg.norm(res_) / np.sqrt(g2),
               np.linalg.norm(Hres) / np.linalg.norm(Hg), m(pv), m(pv - pg), np.linalg.norm(th), float(r.relres), float(r.Anorm)]
        print(" ".join(f"{v:>9d}" if isinstance(v, int) else f"{v:9.2e}" for v in row), flush=True)
    theta, st = out[0], out[1]
    f, g = vg(theta)
