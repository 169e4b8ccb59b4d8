"""Probe (docs/scale-newton-mr.md, Q2/Q4): per-iteration anatomy of Newton-MR steps on the DLAE (gram=True).

Replays one run step by step with the solver's own ``step`` (jitted) and, with the dense Hessian
(numpy eigh; dim <= 2000), reports per iteration:
  flag/iters of MINRES-QLP, ||r||/||g|| and ||H r||/||H g|| (r = H p + g), ||p||,
  n_small = #{|lambda| < tau * max|lambda|} and the shares of p and g along those eigenvectors,
  ||g(theta+p)||^2/||g||^2 (full step), ||g(theta+p_range)||^2/||g||^2 (small-eigen part dropped),
  ||g(theta+p*)||^2/||g||^2 for p* = -H^+ g (dense pseudo-inverse, same cutoff),
  p^T H g / ||g||^2, the accepted alpha, and the distance to the final iterate split along
  range / kernel of H(theta_final).

usage: python nmr_scale_diag.py K P RUN [opt=value ...] [init=gaussian] [max_iter=500] [every=1] [tau=1e-3]
"""
import jax
import jax.numpy as jnp
import numpy as np

from _probe import oracles, parse, solve

k, p, run, opts, case_kw, st = parse({"max_iter": 500, "every": 1, "seed": 0, "tau": 1e-3})
max_iter, every, tau = st["max_iter"], st["every"], st["tau"]
case, theta0, solver, res = solve(k, p, [run], opts, case_kw, seed=st["seed"], max_iter=max_iter)
fn, data = case.loss_fn, case.data
n_it = int(res.n_iter[0])
theta_star = res.theta[0]
print(f"# k={k} p={p} dim={case.dim} run={run} opts={opts} {case_kw}: iters={n_it} status={int(res.status[0])} "
      f"hvps={int(res.hvps[0])} final g2={res.trace['grad_norm_sq'][0][n_it]:.2e} loss={res.trace['loss'][0][n_it]:.6g}")

o = oracles(case, solver)
vg, grad, step, mv, mr = o.vg, o.grad, o.step, o.mv, o.mr
hess = jax.jit(lambda th: jax.hessian(fn)(th, data))


Hs = np.asarray(hess(jnp.asarray(theta_star)))
ls, Vs = np.linalg.eigh(0.5 * (Hs + Hs.T))
ker_s = np.abs(ls) < tau * np.abs(ls).max()
print(f"# at theta_final: n_small={ker_s.sum()} (tau={tau}), eig range {ls.min():.3g}..{ls.max():.3g}, "
      f"smallest |lam| above cutoff {np.abs(ls[~ker_s]).min():.3g}, largest below {np.abs(ls[ker_s]).max():.3g}")
hdr = ("it", "g2", "flag", "kit", "r/g", "Hr/Hg", "|p|", "nsm", "p_sm", "g_sm", "full", "rng", "pinv", "|p*|",
       "pHg/g2", "alpha", "d_rng", "d_ker", "p_rng*")
print(" ".join(f"{h:>8}" for h in hdr))
theta = jnp.asarray(theta0[0])
f, g = vg(theta)
st = solver.init(fn, theta, f, g, data)
for it in range(n_it):
    if it % every == 0 or it >= n_it - 3:
        r = mr(theta, g)
        pv = np.asarray(r.x)
        gv = np.asarray(g)
        H = np.asarray(hess(theta))
        lam, V = np.linalg.eigh(0.5 * (H + H.T))
        sm = np.abs(lam) < tau * np.abs(lam).max()
        pc, gc = V.T @ pv, V.T @ gv
        resid = H @ pv + gv
        g2 = gv @ gv
        p_rng = V[:, ~sm] @ pc[~sm]
        pstar = -V[:, ~sm] @ (gc[~sm] / lam[~sm])
        m = lambda q: float(np.sum(np.asarray(grad(theta + jnp.asarray(q))) ** 2) / g2)  # noqa: E731
        d = np.asarray(theta) - theta_star
        dc = Vs.T @ d
        prow = [it, g2, int(r.flag), int(r.iters), np.linalg.norm(resid) / np.sqrt(g2),
                np.linalg.norm(H @ resid) / np.linalg.norm(H @ gv), np.linalg.norm(pv), int(sm.sum()),
                np.linalg.norm(pc[sm]) / np.linalg.norm(pv), np.linalg.norm(gc[sm]) / np.sqrt(g2), m(pv), m(p_rng),
                m(pstar), np.linalg.norm(pstar), (pv @ H @ gv) / g2]
        out = step(theta, f, g, st)
        prow += [float(out[2].step_size), np.linalg.norm(dc[~ker_s]), np.linalg.norm(dc[ker_s]),
                 np.linalg.norm((Vs.T @ pv)[~ker_s]) / max(np.linalg.norm(pv), 1e-300)]
        print(" ".join(f"{v:>8d}" if isinstance(v, int) else f"{v:8.2e}" for v in prow), flush=True)
    else:
        out = step(theta, f, g, st)
    theta, st = out[0], out[1]
    f, g = vg(theta)
