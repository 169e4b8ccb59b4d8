"""SymPy certificate of the XOR critical manifolds (``xor``), symbolic in ``b_1``.

The loss is built symbolically on the four XOR points with every parameter a
symbol; on the claimed manifold (``W_1 = W_2 = 0``, ``b_2 = 1/2`` for tanh-mse;
``b_2 = (c, c)`` with symbolic ``c`` for softmax-ce at ``l2 = 0``; the origin for
``l2 > 0``) and for *symbolic* ``b_1``, it checks exactly:

* every gradient entry simplifies to 0;
* the Hessian equals the derived rank-one form (``2 v v^T`` for tanh-mse,
  ``(1/4) w w^T + 2 l2 I`` for softmax-ce; see :mod:`cases.xor`) entry by entry.
  A nonzero ``v v^T`` is PSD of rank 1, so index 0 and nullity ``dim - 1``
  (``l2 = 0``); with ``l2 > 0`` every eigenvalue is ``>= 2 l2 > 0``: index 0, nullity 0;
* the loss (``1/4`` or ``ln 2``).

Then the claimed class is compared with these facts, and a dense float64
check at a few points of the manifold (random ``b_1``) confirms the inertia.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from cases._core import Case

from ._base import Certificate, Check


def _xor_data() -> tuple[list[tuple[int, int]], list[int]]:
    return [(0, 0), (0, 1), (1, 0), (1, 1)], [0, 1, 1, 0]


def certify(case: Case, *, claimed: Any = None) -> Certificate:
    """Certify the ``xor`` instance ``case`` (its ``variant`` and ``l2``; ``claimed``: a GroundTruth
    to check instead of the case's own)."""
    from cases._numeric import dense_gradient, dense_hessian, inertia

    variant, l2 = case.params["variant"], case.params["l2"]
    gt = claimed if claimed is not None else case.ground_truth
    cls = gt.classes[0]
    xs, ys = _xor_data()
    dim = case.dim
    p = sp.symbols(f"p0:{dim}", real=True)
    b1a, b1b, cc = sp.symbols("beta1 beta2 c", real=True)
    lam = sp.Rational(float(l2))
    t = [sp.tanh(b1a), sp.tanh(b1b)]
    if variant == "tanh-mse":
        terms = []
        for (x1, x2), y in zip(xs, ys):
            h = [sp.tanh(p[0] * x1 + p[1] * x2 + p[4]), sp.tanh(p[2] * x1 + p[3] * x2 + p[5])]
            terms.append((p[6] * h[0] + p[7] * h[1] + p[8] - y) ** 2)
        loss = sp.Add(*terms) / 4
        sub = {**{p[i]: 0 for i in (0, 1, 2, 3, 6, 7)}, p[4]: b1a, p[5]: b1b, p[8]: sp.Rational(1, 2)}
        v = sp.Matrix([0, 0, 0, 0, 0, 0, t[0], t[1], 1])
        target = 2 * v * v.T
        want_loss, want = sp.Rational(1, 4), (0, dim - 1)
    else:
        terms = []
        for (x1, x2), y in zip(xs, ys):
            h = [sp.tanh(p[0] * x1 + p[1] * x2 + p[4]), sp.tanh(p[2] * x1 + p[3] * x2 + p[5])]
            z = [p[6] * h[0] + p[7] * h[1] + p[10], p[8] * h[0] + p[9] * h[1] + p[11]]
            terms.append(-z[y] + sp.log(sp.exp(z[0]) + sp.exp(z[1])))
        loss = sp.Add(*terms) / 4 + lam * sum(q**2 for q in p)
        if lam == 0:
            sub = {**{p[i]: 0 for i in range(4)}, **{p[i]: 0 for i in range(6, 10)},
                   p[4]: b1a, p[5]: b1b, p[10]: cc, p[11]: cc}
            w = sp.Matrix([0, 0, 0, 0, 0, 0, t[0], t[1], -t[0], -t[1], 1, -1])
            want = (0, dim - 1)
        else:
            sub = {q: 0 for q in p}
            w = sp.Matrix([0] * 6 + [0, 0, 0, 0, 1, -1])
            want = (0, 0)
        target = w * w.T / 4 + 2 * lam * sp.eye(dim)
        want_loss = sp.log(2)
    grads = [loss.diff(q) for q in p]
    g_at = [sp.simplify(g.xreplace(sub)) for g in grads]
    bad = []
    for i in range(dim):
        for j in range(i, dim):
            d = grads[i].diff(p[j]).xreplace(sub) - target[i, j]
            if d != 0 and sp.simplify(d) != 0:
                bad.append((i, j))
    l_at = sp.simplify(loss.xreplace(sub) - want_loss)
    manifold = "symbolic b1" + (", b2=(c,c)" if variant == "softmax-ce" and lam == 0 else "")
    checks = [
        Check(f"grad == 0 on manifold ({manifold})", all(g == 0 for g in g_at),
              f"nonzero entries {[i for i, g in enumerate(g_at) if g != 0]}"),
        Check(f"Hess == derived rank-one form (+2 l2 I) ({manifold})", not bad, f"differs at {bad[:5]}"),
        Check(f"loss == {want_loss}", l_at == 0, str(l_at)),
        Check("claimed loss", abs(cls.loss - float(want_loss)) < 1e-12, f"claimed {cls.loss}"),
        Check("claimed index", cls.index_count == want[0], f"claimed {cls.index_count}, exact {want[0]}"),
        Check("claimed nullity", cls.nullity == want[1], f"claimed {cls.nullity}, exact {want[1]}"),
        Check("claimed dim", cls.dim == dim),
    ]
    rng = np.random.default_rng(0)
    base = np.asarray(case.ground_truth.classes[0].point, dtype=float)
    for k in range(3):
        theta = base.copy()
        if lam == 0:
            theta[4:6] = rng.normal(size=2) if k else 0.0
            if variant == "softmax-ce":
                theta[10:12] = rng.normal() if k else 0.0
        gsq = float(np.sum(dense_gradient(case.loss_fn, theta, case.data) ** 2))
        neg, zero, _ = inertia(np.linalg.eigvalsh(dense_hessian(case.loss_fn, theta, case.data)))
        checks.append(Check(f"dense point {k}: |grad|^2 < 1e-24", gsq < 1e-24, f"{gsq:.3e}"))
        checks.append(Check(f"dense point {k}: inertia == claim", (neg, zero) == (cls.index_count, cls.nullity),
                            f"dense ({neg},{zero})"))
        checks.append(Check(f"dense point {k}: matched", gt.match(theta) is cls))
    checks.append(Check("match(far) is None", gt.match(base + 1.0) is None))
    return Certificate(case.name, dict(case.params), "sympy", tuple(checks))
