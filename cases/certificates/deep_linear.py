"""SymPy certificate of the deep linear network's origin (``deep-linear``).

Exact arithmetic on the instance's own data (dyadic rationals, converted
exactly).  The loss is expanded as a sparse polynomial over ``QQ`` in all
weight entries; its degree-1 and degree-2 parts *are* the gradient and
Hessian at the origin, so:

1. no degree-1 term  <=>  the origin is critical;
2. the Hessian ``H`` at 0 is read off the degree-2 terms exactly;
   depth >= 3: ``H == 0``;  depth 2: ``H`` equals, entry by entry, the block matrix
   ``[[0, -κ C^T], [-κ C, 0]]`` per hidden unit (``κ = 2/(n d_out)``, ``C = Y X^T``),
   and ``index = hidden · rank C`` with ``rank C`` exact;
3. depth 2, dim <= 60: exact inertia of ``H`` (characteristic polynomial +
   Descartes, :mod:`._exact_inertia`) and the identity
   ``charpoly(H) == (x^{|d_in - d_out|} det(x^2 I - κ^2 G))^hidden`` with ``G`` the
   smaller Gram matrix of ``C``;
4. the loss at 0 equals ``mean(Y^2)`` exactly;
5. dense float64: JAX gradient and Hessian at 0 versus the claim (index,
   nullity, and for depth 2 the eigenvalues ``±κ σ_i(C)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp
from sympy.polys.domains import QQ
from sympy.polys.rings import ring

from cases._core import Case

from ._base import Certificate, Check
from ._exact_inertia import exact_inertia, rational_matrix

EXACT_INERTIA_MAX_DIM = 60


def certify(case: Case, *, claimed: Any = None) -> Certificate:
    """Certify the origin class of a ``deep-linear`` instance (``claimed``: a GroundTruth to check instead)."""
    from cases._numeric import dense_gradient, dense_hessian, inertia
    from cases.deep_linear import layer_shapes

    params = dict(case.params)
    depth, d_in, hidden, d_out, n = (int(params[k]) for k in ("depth", "d_in", "hidden", "d_out", "n"))
    gt = claimed if claimed is not None else case.ground_truth
    cls = gt.classes[0]
    widths = case.data.widths
    X = rational_matrix(np.asarray(case.data.x))
    Y = rational_matrix(np.asarray(case.data.y))
    dim = case.dim
    names = [f"w{i}" for i in range(dim)]
    R, *gens = ring(",".join(names), QQ)
    mats, k = [], 0
    for r, c in layer_shapes(widths):
        mats.append([[gens[k + i * c + j] for j in range(c)] for i in range(r)])
        k += r * c
    h = [[R(QQ(int(X[i, s].p), int(X[i, s].q))) for s in range(n)] for i in range(X.rows)]
    for w in mats:
        h = [[sum((w[i][j] * h[j][s] for j in range(len(h))), R(0)) for s in range(n)] for i in range(len(w))]
    N = n * d_out
    loss = sum(((R(QQ(int(Y[i, s].p), int(Y[i, s].q))) - h[i][s]) ** 2 for i in range(d_out) for s in range(n)), R(0))
    loss = loss * QQ(1, N)
    H = sp.zeros(dim, dim)
    grad_terms, const = 0, sp.Integer(0)
    for mon, coeff in loss.terms():
        deg = sum(mon)
        cf = sp.Rational(int(coeff.numerator), int(coeff.denominator))
        if deg == 0:
            const = cf
        elif deg == 1:
            grad_terms += 1
        elif deg == 2:
            idx = [i for i, e in enumerate(mon) for _ in range(e)]
            if idx[0] == idx[1]:
                H[idx[0], idx[0]] = 2 * cf
            else:
                H[idx[0], idx[1]] = H[idx[1], idx[0]] = cf
    checks = [
        Check("loss(0) == mean(Y^2) exactly", const == sum(v**2 for v in Y) / N),
        Check("claimed loss == loss(0)", abs(cls.loss - float(const)) <= 1e-12 * max(1, abs(float(const))),
              f"claimed {cls.loss}, exact {const}"),
        Check("grad(0) == 0 (no degree-1 terms)", grad_terms == 0, f"{grad_terms} terms"),
        Check("claimed point is the origin", cls.point is not None and not np.any(cls.point) and cls.dim == dim),
    ]
    C = Y * X.T
    rank = C.rank()
    if depth >= 3:
        checks.append(Check("Hess(0) == 0 exactly (depth >= 3)", H == sp.zeros(dim, dim)))
        neg, zero = 0, dim
    else:
        kappa = sp.Rational(2, N)
        block = sp.zeros(dim, dim)
        n1 = hidden * d_in
        for hh in range(hidden):
            for i in range(d_out):
                for j in range(d_in):
                    a, b = hh * d_in + j, n1 + i * hidden + hh  # W1[hh, j], W2[i, hh]
                    block[a, b] = block[b, a] = -kappa * C[i, j]
        checks.append(Check("Hess(0) == per-unit [[0,-κC^T],[-κC,0]] (depth 2)", H == block))
        neg, zero = hidden * rank, hidden * (d_in + d_out - 2 * rank)
        if dim <= EXACT_INERTIA_MAX_DIM:
            ex = exact_inertia(H)
            checks.append(Check("exact inertia == (hidden·rank C, nullity, hidden·rank C)",
                                ex == (neg, zero, neg), f"exact {ex}"))
            x = sp.Symbol("x")
            gram = C * C.T if d_out <= d_in else C.T * C
            per_unit = x ** abs(d_in - d_out) * (x**2 * sp.eye(gram.rows) - kappa**2 * gram).det()
            checks.append(Check("charpoly(H) == (x^|d_in-d_out| det(x^2 - κ^2 G))^hidden",
                                sp.expand(H.charpoly(x).as_expr() - per_unit**hidden) == 0))
    checks.append(Check("index(origin)", cls.index_count == neg, f"claimed {cls.index_count}, exact {neg}"))
    checks.append(Check("nullity(origin)", cls.nullity == zero, f"claimed {cls.nullity}, exact {zero}"))

    theta0 = np.zeros(dim)
    g = dense_gradient(case.loss_fn, theta0, case.data)
    eig = np.linalg.eigvalsh(dense_hessian(case.loss_fn, theta0, case.data))
    dn, dz, _ = inertia(eig)
    checks.append(Check("dense grad(0) == 0", float(np.abs(g).max()) == 0.0))
    checks.append(Check("dense inertia == claim", (dn, dz) == (cls.index_count, cls.nullity), f"dense ({dn},{dz})"))
    if depth == 2:
        sv = np.linalg.svd(np.asarray(case.data.y) @ np.asarray(case.data.x).T, compute_uv=False)
        want = np.sort(np.concatenate([np.repeat(sv, hidden) * 2 / N, -np.repeat(sv, hidden) * 2 / N,
                                       np.zeros(dim - 2 * hidden * sv.size)]))
        checks.append(Check("dense eigenvalues == ±κσ_i(C)", bool(np.allclose(np.sort(eig), want, atol=1e-12))))
    checks.append(Check("match(0) == origin, match(far) is None",
                        gt.match(theta0) is cls and gt.match(np.ones(dim)) is None))
    return Certificate(case.name, params, "sympy", tuple(checks))
