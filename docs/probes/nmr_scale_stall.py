"""Probe (docs/scale-newton-mr.md, Q4): why a Newton-MR run ends STALLED (line search found no step).

Runs ``newton-mr`` from ``init=gaussian`` starts; at each stalled run's final iterate recomputes the
MINRES-QLP step p and prints ||g||^2, p^T H g (sign: descent for ||g||^2 iff < 0), its size relative to
the rounding of ||g||^2 (eps ||g||^2), ||p||, the flag/iters, the loss, and the merit
||g(theta + alpha p)||^2 - ||g||^2 for alpha = 1, 1/2, ..., 2^-50 (sampled), the Armijo budget
2 rho alpha p^T H g next to it.

usage: python nmr_scale_stall.py K P RUNS [max_iter=40] [opt=value ...]
"""
import sys

import jax
import jax.numpy as jnp
import numpy as np

from cases import get_case
from harness.run.initial_points import initial_points
from harness.solvers import Problem, get_solver
from harness.solvers.minres_qlp import minres_qlp

k, p, runs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
max_iter, opts = 40, {}
for a in sys.argv[4:]:
    key, val = a.split("=")
    if key == "max_iter":
        max_iter = int(val)
    else:
        opts[key] = float(val)
case = get_case("dlae", k=k, p=p, gram=True, init="gaussian")
fn, data = case.loss_fn, case.data
solver = get_solver("newton-mr", **opts)
theta0 = initial_points(case, 0, list(range(runs)))
res = solver.solve(Problem(fn, data, case.dim), theta0, max_iter=max_iter, tol=1e-10)
grad = jax.jit(lambda th: jax.grad(fn)(th, data))
mv = lambda th: (lambda v: jax.jvp(lambda t: jax.grad(fn)(t, data), (th,), (v,))[1])  # noqa: E731


@jax.jit
def mr(th, g):
    s = solver
    return minres_qlp(mv(th), -g, rtol=s.rtol, maxit=th.shape[0], maxxnorm=s.maxxnorm, acondlim=s.acondlim,
                      trancond=s.trancond, forcing=s.forcing)


for i in range(runs):
    n = int(res.n_iter[i])
    tr = {kk: v[i] for kk, v in res.trace.items()}
    print(f"# run {i}: status={int(res.status[i])} iters={n} loss={tr['loss'][n]:.10g} g2={tr['grad_norm_sq'][n]:.3e}")
    print("  last steps (it, g2, alpha, kit, flag):",
          [(t, f"{tr['grad_norm_sq'][t]:.3e}", float(tr['step_size'][t]), int(tr['krylov_iters'][t]),
            int(tr['krylov_flag'][t])) for t in range(max(1, n - 5), n + 1)])
    th = jnp.asarray(res.theta[i])
    g = grad(th)
    s0 = float(g @ g)
    r = mr(th, g)
    pv = r.x
    pHg = float(mv(th)(pv) @ g)
    Hg = mv(th)(g)
    print(f"  g2={s0:.6e} p^T H g={pHg:.3e} (descent iff < 0) |p^T H g|/(eps g2)={abs(pHg) / (2.2e-16 * s0):.3g} "
          f"|p|={float(jnp.linalg.norm(pv)):.3e} |theta|={float(jnp.linalg.norm(th)):.3e} flag={int(r.flag)} "
          f"iters={int(r.iters)} |Hg|/|g|={float(jnp.linalg.norm(Hg)) / np.sqrt(s0):.3e} "
          f"cos(p,-g)={float(-(pv @ g) / jnp.linalg.norm(pv) / np.sqrt(s0)):.3e}")
    for j in list(range(0, 12)) + list(range(12, 52, 4)):
        a = 2.0 ** -j
        gn = grad(th + a * pv)
        print(f"    alpha=2^-{j:<2d} d(merit)={float(gn @ gn) - s0:+.3e}  armijo budget={2e-4 * a * pHg:+.3e}")
