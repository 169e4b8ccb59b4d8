"""Certificate of the ``degenerate-mlp`` critical point (Cooper's star locus).

Two parts:

* **SymPy, exact** (``n_zero >= 3``), on the instance itself when it has at most
  ``SYMPY_MAX_DIM`` parameters, else on a tiny instance with the same
  activation, ``n_zero`` and seed (widths ``(1, 2, ..., 2, 1)``, ``n = 4``):
  the loss is built symbolically (``tanh`` or ``z/(1 + e^{-z})``), differentiated,
  and evaluated at the point (rational data and weights, so only values
  ``σ(rational)`` remain symbolic).  Checked: every gradient entry simplifies to
  0; the Hessian equals ``(2/d_out) Σ_k v_k v_k^T`` entry by entry, with ``v_k``
  ``= (σ(b_{L-1}), 1)`` on ``(W_L[k,:], b_L[k])``; these ``v_k`` have disjoint supports
  and a unit entry, so the Hessian is PSD of rank exactly ``d_out``: index 0,
  nullity ``dim - d_out``; the loss equals ``mean((y - ȳ)^2)``.
* **Dense NumPy** on the given instance (any ``n_zero``): JAX gradient
  ``|g|^2 < 1e-24``, dense-Hessian inertia equal to the claim, and for
  ``n_zero >= 3`` the single positive eigenvalue per output
  ``(2/d_out)(1 + ||σ(b_{L-1})||^2)``; for ``n_zero = 2`` that the point is a
  strict saddle (smallest eigenvalue ``< -1e-5``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from cases._core import Case

from ._base import Certificate, Check
from ._exact_inertia import to_rational

SYMPY_MAX_DIM = 25


def _sym_act(z: sp.Expr, activation: str) -> sp.Expr:
    return sp.tanh(z) if activation == "tanh" else z / (1 + sp.exp(-z))


def _sympy_checks(widths: tuple[int, ...], n_zero: int, activation: str, n: int, seed: int) -> list[Check]:
    from cases.degenerate_mlp import make_case, param_slices

    case = make_case(widths=widths, n_zero=n_zero, activation=activation, n=n, seed=seed)
    point = case.ground_truth.classes[0].point
    x = np.asarray(case.data.x)
    y = np.asarray(case.data.y)
    dim, d_out = case.dim, widths[-1]
    p = sp.symbols(f"p0:{dim}")
    layers = param_slices(widths)
    sq = []
    for s in range(n):
        h = [to_rational(v) for v in x[s]]
        for i, (ws, (r, c), bs) in enumerate(layers):
            w = [p[ws.start + j] for j in range(r * c)]
            z = [sum(w[a * c + j] * h[j] for j in range(c)) + p[bs.start + a] for a in range(r)]
            h = z if i == len(layers) - 1 else [_sym_act(v, activation) for v in z]
        sq += [(h[k] - to_rational(y[s, k])) ** 2 for k in range(d_out)]
    loss = sp.Add(*sq) / (n * d_out)
    sub = {p[i]: to_rational(v) for i, v in enumerate(point)}
    # Differentiate with every other parameter already replaced by its (exact)
    # value: the univariate restrictions collapse (zero matrices), which keeps
    # SymPy fast.  d/dp_j d/dp_i L at the point == d/dp_j [ (d/dp_i L)|_{others} ].
    grads = [loss.xreplace({k: v for k, v in sub.items() if k is not p[i]}).diff(p[i]) for i in range(dim)]
    g_at = [sp.simplify(gi.xreplace(sub)) for gi in grads]
    sig = [_sym_act(to_rational(point[j]), activation) for j in range(layers[-2][2].start, layers[-2][2].stop)]
    target = sp.zeros(dim, dim)
    ws, (r, c), bs = layers[-1]
    for k in range(d_out):
        v = sp.zeros(dim, 1)
        for j in range(c):
            v[ws.start + k * c + j] = sig[j]
        v[bs.start + k] = 1
        target += sp.Rational(2, d_out) * v * v.T
    bad = []
    for i in range(dim):
        for j in range(i, dim):
            restricted = loss.xreplace({k: v for k, v in sub.items() if k is not p[i] and k is not p[j]})
            hij = restricted.diff(p[i]).diff(p[j]).xreplace(sub)
            d = hij - target[i, j]
            if d != 0 and sp.simplify(d) != 0:
                bad.append((i, j))
    ybar = [sum(to_rational(v) for v in y[:, k]) / n for k in range(d_out)]
    l0 = sum((to_rational(y[s, k]) - ybar[k]) ** 2 for s in range(n) for k in range(d_out)) / (n * d_out)
    tag = f"sympy {activation} {widths}"
    return [
        Check(f"{tag}: grad == 0 exactly", all(v == 0 for v in g_at), f"nonzero at {[i for i, v in enumerate(g_at) if v != 0][:5]}"),
        Check(f"{tag}: Hess == (2/d_out) Σ v_k v_k^T exactly", not bad, f"differs at {bad[:5]}"),
        Check(f"{tag}: loss == mean((y - ȳ)^2)", sp.simplify(loss.xreplace(sub) - l0) == 0),
        Check(f"{tag}: b_L == ȳ exactly", [to_rational(v) for v in point[bs]] == ybar),
    ]


def certify(case: Case, *, claimed: Any = None) -> Certificate:
    """Certify a ``degenerate-mlp`` instance (``claimed``: a GroundTruth to check instead of the case's own)."""
    from cases._numeric import dense_gradient, dense_hessian, inertia

    params = dict(case.params)
    widths = tuple(int(w) for w in params["widths"])
    n_zero, activation, n, seed = int(params["n_zero"]), params["activation"], int(params["n"]), int(params["seed"])
    gt = claimed if claimed is not None else case.ground_truth
    cls = gt.classes[0]
    true_point = case.ground_truth.classes[0].point
    dim, d_out = case.dim, widths[-1]
    checks: list[Check] = [Check("claimed point == certified point", cls.point is not None
                                 and np.array_equal(np.asarray(cls.point), true_point) and cls.dim == dim)]
    method = "dense-numpy"
    if n_zero >= 3:
        method = "sympy"
        if dim <= SYMPY_MAX_DIM:
            checks += _sympy_checks(widths, n_zero, activation, n, seed)
        else:
            tiny = (1, *[2] * (n_zero - 1), 1)
            checks += _sympy_checks(tiny, n_zero, activation, 4, seed)
        checks.append(Check("index == 0", cls.index_count == 0, f"claimed {cls.index_count}"))
        checks.append(Check("nullity == dim - d_out", cls.nullity == dim - d_out, f"claimed {cls.nullity}"))
    g = dense_gradient(case.loss_fn, true_point, case.data)
    eig = np.linalg.eigvalsh(dense_hessian(case.loss_fn, true_point, case.data))
    neg, zero, pos = inertia(eig)
    gsq = float(g @ g)
    checks.append(Check("dense |grad|^2 < 1e-24", gsq < 1e-24, f"{gsq:.3e}"))
    checks.append(Check("dense inertia == claim", (neg, zero) == (cls.index_count, cls.nullity),
                        f"dense ({neg},{zero},{pos}), claimed ({cls.index_count},{cls.nullity})"))
    lval = float(case.loss(true_point))
    checks.append(Check("loss == claim", abs(lval - cls.loss) <= 1e-12 * max(1, abs(lval)), f"{lval} vs {cls.loss}"))
    if n_zero >= 3:
        from cases.degenerate_mlp import _act, param_slices
        import jax.numpy as jnp

        s = np.asarray(_act(jnp.asarray(true_point[param_slices(widths)[-2][2]]), activation))
        want = 2.0 / d_out * (1 + s @ s)
        checks.append(Check("positive eigenvalues == (2/d_out)(1+|σ(b_{L-1})|^2)",
                            bool(np.allclose(eig[-d_out:], want, rtol=1e-10)) and pos == d_out, f"{eig[-d_out:]} vs {want}"))
    else:
        checks.append(Check("n_zero=2: strict saddle (min eig < -1e-5)", eig[0] < -1e-5 and cls.index_count > 0,
                            f"min eig {eig[0]:.3e}"))
    checks.append(Check("match(point) is the class", gt.match(true_point) is cls))
    checks.append(Check("match(far point) is None", gt.match(true_point + 1.0) is None))
    return Certificate(case.name, params, method, tuple(checks))
