"""SymPy certificate of the separable quartic family (thesis Eq. 3.35 by default).

Independent of the factory (which uses ``numpy.roots``), this re-derives the
ground truth in exact arithmetic, in the unrotated coordinates ``u``:

1. The coefficients are the exact binary values of the float parameters
   (``sympy.Rational(float)``), so the polynomial certified is the one the
   float64 loss evaluates.
2. Polynomial identities in ``u_1..u_n``: ``Hess f = diag(f_i'')``,
   ``Hess f ∇f = (f_i' f_i'')_i`` and ``Hess ||∇f||^2 = diag(2(f_i''^2 + f_i' f_i'''))``.
   So gradient-flat points are exactly the products of real roots of
   ``f_i' f_i''`` (per coordinate), critical points those using roots of ``f_i'`` only.
3. Non-degeneracy exactly: ``gcd(f_i', f_i'') = 1`` (no double root of ``f_i'``, so
   ``f_i'' ≠ 0`` at critical coordinates and ``f_i' ≠ 0`` at inflection points)
   and ``b_i ≠ 0`` (``f_i''' ≠ 0`` at inflection points).  Real roots are exact
   ``CRootOf``/radical numbers (``sympy.real_roots``); the *signs* of the quantities
   just proven nonzero are read off 50-digit evaluations.
4. Each exact critical point / strict gradient-flat point is compared with the
   claim after mapping the claimed ``x`` to ``u = Q^T x`` (``Q`` checked
   orthogonal): point (1e-9), loss and ``||∇f||^2`` (relative 1e-10), index,
   nullity, stationary type of ``||∇f||^2``; the counts must agree (completeness).
5. For the Eq. 3.35 coefficients, additionally the decimal polynomial
   ``x^4/4 - 3x^2 + 9x + 9/10 y^4 + 5y^2 + 40`` is checked in closed form:
   critical set ``{(-3, 0)}``, flat points ``(±√2, 0)``, ``||∇f||^2 = (9 ∓ 4√2)^2``.
6. Dense float64 check in ``x``: ``|∇f|^2 < 1e-20`` at claimed critical points and
   dense-Hessian inertia equal to the claim.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import sympy as sp

from cases._core import Case

from ._base import Certificate, Check

_DIGITS = 50


def _eq335_closed_form() -> list[Check]:
    x, y = sp.symbols("x y", real=True)
    f = x**4 / 4 - 3 * x**2 + 9 * x + sp.Rational(9, 10) * y**4 + 5 * y**2 + 40
    g = sp.Matrix([f.diff(x), f.diff(y)])
    H = sp.hessian(f, (x, y))
    crit = [s for s in sp.solve_poly_system(list(g), x, y) if all(v.is_real for v in s)]
    out = [Check("Eq3.35 critical set == {(-3,0)}", crit == [(-3, 0)], str(crit))]
    out.append(Check("Eq3.35 Hess(-3,0) > 0", all(e > 0 for e in H.subs({x: -3, y: 0}).eigenvals())))
    hg = [sp.factor(e) for e in H * g]
    flat = sorted({s for s in sp.solve_poly_system(hg, x, y) if all(v.is_real for v in s)} - {(-3, 0)},
                  key=lambda s: float(s[0]))
    out.append(Check("Eq3.35 strict flat points == (±√2, 0)", flat == [(-sp.sqrt(2), 0), (sp.sqrt(2), 0)], str(flat)))
    G = (g.T * g)[0]
    HG = sp.hessian(G, (x, y))
    for s, val, typ in (((sp.sqrt(2), 0), (9 - 4 * sp.sqrt(2)) ** 2, "minimum"),
                        ((-sp.sqrt(2), 0), (9 + 4 * sp.sqrt(2)) ** 2, "saddle")):
        sub = {x: s[0], y: s[1]}
        ok_val = sp.simplify(G.subs(sub) - val) == 0
        eig = [sp.simplify(e) for e in HG.subs(sub).eigenvals()]
        t = "minimum" if all(e > 0 for e in eig) else "saddle"
        out.append(Check(f"Eq3.35 |grad|^2{s} == {val}", ok_val))
        out.append(Check(f"Eq3.35 type{s} == {typ}", t == typ, str(eig)))
    return out


def certify(case: Case, *, claimed: Any = None) -> Certificate:
    """Certify a ``quartic`` or ``quartic-family`` instance.

    The coefficients ``a, b, c, const`` and the rotation ``Q`` are read from the arrays the
    case's loss evaluates (``case.data``), so the certificate checks the loss that is scored.

    Args:
        case: the instance, built by :func:`cases.certificates.certify` from its parameters.
        claimed: a ``GroundTruth`` to check instead of the case's own (for tests
            that perturb a claim and expect rejection).
    """
    from cases._numeric import dense_gradient, dense_hessian, inertia
    from cases.quartic import EQ_335

    a, b, c = (tuple(float(v) for v in np.atleast_1d(np.asarray(case.data[k], dtype=float))) for k in "abc")
    const = float(np.asarray(case.data["const"], dtype=float))
    gt = claimed if claimed is not None else case.ground_truth
    q = np.asarray(case.data["Q"])
    n = case.dim
    A, B, C = ([sp.Rational(float(v)) for v in np.atleast_1d(p)] for p in (a, b, c))
    K = sp.Rational(float(const))
    u = sp.symbols(f"u1:{n + 1}")
    fi = [A[i] * u[i] ** 4 / 4 + B[i] * u[i] ** 2 / 2 + C[i] * u[i] for i in range(n)]
    f1 = [sp.diff(e, u[i]) for i, e in enumerate(fi)]
    f2 = [sp.diff(e, u[i], 2) for i, e in enumerate(fi)]
    f3 = [sp.diff(e, u[i], 3) for i, e in enumerate(fi)]
    F = sum(fi) + K
    g = sp.Matrix([F.diff(v) for v in u])
    H = sp.hessian(F, u)
    G = sp.expand((g.T * g)[0])
    checks: list[Check] = [
        Check("Q orthogonal", bool(np.allclose(q.T @ q, np.eye(n), atol=1e-13))),
        Check("Hess f == diag(f_i'')", sp.expand(H - sp.diag(*f2)) == sp.zeros(n, n)),
        Check("Hess f grad f == (f_i' f_i'')", sp.expand(H * g - sp.Matrix([f1[i] * f2[i] for i in range(n)])) == sp.zeros(n, 1)),
        Check("Hess |grad f|^2 == diag(2(f''^2 + f' f'''))",
              sp.expand(sp.hessian(G, u) - sp.diag(*[2 * (f2[i] ** 2 + f1[i] * f3[i]) for i in range(n)])) == sp.zeros(n, n)),
    ]
    opts: list[list[tuple[Any, bool]]] = []
    for i in range(n):
        p1, p2 = sp.Poly(f1[i], u[i]), sp.Poly(f2[i], u[i])
        checks.append(Check(f"gcd(f_{i}', f_{i}'') == 1", sp.gcd(p1, p2).degree() == 0))
        checks.append(Check(f"b_{i} != 0", B[i] != 0))
        opts.append([(r, True) for r in sp.real_roots(p1)] + [(r, False) for r in sp.real_roots(p2)])

    def num(expr: Any) -> sp.Float:
        return sp.N(expr, _DIGITS)

    # per-coordinate exact values at every option, evaluated once
    vals = [[{"u": num(r), "f": num(fi[i].subs(u[i], r)), "f1": num(f1[i].subs(u[i], r)),
              "f2": num(f2[i].subs(u[i], r)), "f3": num(f3[i].subs(u[i], r)), "crit": cr}
             for r, cr in opts[i]] for i in range(n)]
    exact_crit, exact_flat = [], []
    for combo in itertools.product(*vals):
        upt = np.array([float(v["u"]) for v in combo])
        loss = float(sum(v["f"] for v in combo) + K)
        if all(v["crit"] for v in combo):
            exact_crit.append((upt, loss, sum(1 for v in combo if v["f2"] < 0)))
        else:
            gn = float(sum(v["f1"] ** 2 for v in combo if not v["crit"]))
            diag = [2 * (v["f2"] ** 2 + v["f1"] * v["f3"]) for v in combo]
            typ = "minimum" if all(d > 0 for d in diag) else ("maximum" if all(d < 0 for d in diag) else "saddle")
            exact_flat.append((upt, loss, gn, typ))

    claimed_crit = [(q.T @ np.asarray(cl.point, dtype=float), cl) for cl in gt.classes]
    claimed_flat = [(q.T @ np.asarray(fp.point, dtype=float), fp) for fp in gt.flat_points]
    checks.append(Check("number of critical classes", len(claimed_crit) == len(exact_crit),
                        f"claimed {len(claimed_crit)}, exact {len(exact_crit)}"))
    checks.append(Check("number of strict gradient-flat points", len(claimed_flat) == len(exact_flat),
                        f"claimed {len(claimed_flat)}, exact {len(exact_flat)}"))

    def rel(x: float, y: float) -> bool:
        return abs(x - y) <= 1e-10 * max(1.0, abs(y))

    for upt, loss, index in exact_crit:
        hits = [cl for uc, cl in claimed_crit if np.allclose(uc, upt, rtol=0, atol=1e-9 * max(1, np.abs(upt).max()))]
        name = f"crit u={np.round(upt, 6).tolist()}"
        checks.append(Check(f"{name} claimed once", len(hits) == 1, f"{len(hits)} claims"))
        for cl in hits[:1]:
            checks.append(Check(f"{name} loss", rel(cl.loss, loss), f"claimed {cl.loss}, exact {loss}"))
            checks.append(Check(f"{name} index", cl.index_count == index, f"claimed {cl.index_count}, exact {index}"))
            checks.append(Check(f"{name} nullity", cl.nullity == 0 and cl.dim == n, f"claimed {cl.nullity}, dim {cl.dim}"))
            theta = np.asarray(cl.point, dtype=float)
            gsq = float(np.sum(dense_gradient(case.loss_fn, theta, case.data) ** 2))
            neg, zero, _ = inertia(np.linalg.eigvalsh(dense_hessian(case.loss_fn, theta, case.data)))
            checks.append(Check(f"{name} dense |grad|^2 < 1e-20", gsq < 1e-20, f"{gsq:.3e}"))
            checks.append(Check(f"{name} dense inertia", (neg, zero) == (cl.index_count, cl.nullity), f"dense ({neg},{zero})"))
    for upt, loss, gn, typ in exact_flat:
        hits = [fp for uc, fp in claimed_flat if np.allclose(uc, upt, rtol=0, atol=1e-9 * max(1, np.abs(upt).max()))]
        name = f"flat u={np.round(upt, 6).tolist()}"
        checks.append(Check(f"{name} claimed once", len(hits) == 1, f"{len(hits)} claims"))
        for fp in hits[:1]:
            checks.append(Check(f"{name} loss", rel(fp.loss, loss), f"claimed {fp.loss}, exact {loss}"))
            checks.append(Check(f"{name} |grad|^2", rel(fp.grad_norm_sq, gn), f"claimed {fp.grad_norm_sq}, exact {gn}"))
            checks.append(Check(f"{name} type", fp.stationary_type == typ, f"claimed {fp.stationary_type}, exact {typ}"))

    if tuple(map(float, a)) == EQ_335["a"] and tuple(map(float, b)) == EQ_335["b"] and \
            tuple(map(float, c)) == EQ_335["c"] and float(const) == EQ_335["const"]:
        checks.extend(_eq335_closed_form())
    return Certificate(case.name, dict(case.params), "sympy", tuple(checks))
