"""Example NumPy/SciPy plug-in: trust-region minimisation of ``||grad L||^2 / 2``.

Critical points of ``L`` are the zeros of ``G(theta) = ||grad L(theta)||^2 / 2``
(and every stationary point of ``G`` is a gradient-flat point of ``L``; thesis
Sec. 3.4).  This finder hands ``G`` to ``scipy.optimize.minimize`` with the
``trust-krylov`` method:

* ``G(theta)     = ||g||^2 / 2``                 (one gradient),
* ``grad G       = H g``                         (one HVP),
* ``Hess G @ v  ~= H (H v)``                     (Gauss-Newton: two HVPs; exact
  where ``g = 0``, since the dropped term is ``sum_i g_i Hess(g_i) v``).

It needs no JAX: ``oracles.grad`` and ``oracles.hvp`` are counting NumPy
callables supplied by the harness, and :func:`harness.solvers.numpy_adapter.numpy_solver`
turns the function into a solver factory whose keyword options (``method``,
``initial_trust_radius``) become ``--opt`` options.

Run it::

    critbench run --case quartic --solver examples.numpy_solver:trust_krylov_gnm
"""

from __future__ import annotations

import numpy as np
import scipy.optimize

from harness.solvers.numpy_adapter import numpy_solver


@numpy_solver(name="example-trust-krylov-gnm")
def trust_krylov_gnm(oracles, theta0, max_iter, tol, *, method: str = "trust-krylov",
                     initial_trust_radius: float = 1.0):
    """Minimise ``||grad L||^2 / 2`` with a SciPy trust-region Newton method (Gauss-Newton Hessian)."""
    cache: dict[bytes, np.ndarray] = {}

    def grad(theta: np.ndarray) -> np.ndarray:  # one gradient per distinct point
        key = theta.tobytes()
        if key not in cache:
            cache.clear()
            cache[key] = oracles.grad(theta)
        return cache[key]

    def fun(theta: np.ndarray) -> float:
        g = grad(theta)
        return 0.5 * float(g @ g)

    def jac(theta: np.ndarray) -> np.ndarray:
        return oracles.hvp(theta, grad(theta))

    def hessp(theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        return oracles.hvp(theta, oracles.hvp(theta, v))

    g0 = grad(theta0)
    trace = {"grad_norm_sq": [float(g0 @ g0)], "thetas": [theta0.copy()]}

    def callback(intermediate_result: scipy.optimize.OptimizeResult) -> None:
        x = np.array(intermediate_result.x, dtype=float)
        g = grad(x)
        trace["grad_norm_sq"].append(float(g @ g))
        trace["thetas"].append(x)
        if trace["grad_norm_sq"][-1] <= tol or len(trace["thetas"]) > max_iter:
            raise StopIteration  # SciPy >= 1.11: ends minimize() cleanly

    if max_iter == 0 or trace["grad_norm_sq"][0] <= tol:
        return theta0, trace
    res = scipy.optimize.minimize(
        fun, theta0, jac=jac, hessp=hessp, method=method, callback=callback,
        options={"maxiter": max_iter, "gtol": 1e-300, "initial_trust_radius": initial_trust_radius},
    )
    if not np.array_equal(res.x, trace["thetas"][-1]) and len(trace["thetas"]) <= max_iter:
        g = grad(res.x)  # minimize() ended between callbacks: record its final point too
        trace["grad_norm_sq"].append(float(g @ g))
        trace["thetas"].append(np.array(res.x, dtype=float))
    return trace["thetas"][-1], trace
