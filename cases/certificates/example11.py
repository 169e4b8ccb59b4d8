"""SymPy certificate of Example 1.1, ``L = (θ2θ1 - 1)^2`` (thesis Example 1.1).

Derivation checked exactly:

1. ``∇L - 2(θ1θ2 - 1)(θ2, θ1) ≡ 0`` (polynomial identity), so the critical set is
   exactly the hyperbola ``θ1θ2 = 1`` together with the origin.
2. On the hyperbola, parameterised as ``(t, 1/t)``: ``∇L ≡ 0``, ``L ≡ 0``, ``det H ≡ 0``
   and ``tr H = 2(t² + 1/t²) > 0``: index 0, nullity 1 at every point.
3. At the origin: ``L = 1``, ``H = [[0,-2],[-2,0]]``, exact inertia (1, 0, 1).
4. Strict gradient-flat points: all complex solutions of ``H v = 0``
   (``v = (θ2, θ1)``, since ``∇L = 2e v``) by ``solve_poly_system``; the real ones
   with ``∇L ≠ 0`` are compared with the claimed list (point, loss, ``||∇L||²``,
   stationary type from the exact eigenvalues of ``Hess ||∇L||²``).

Each claimed class (label, loss, index, nullity, a representative on the class)
and each claimed gradient-flat point is compared with these exact facts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from cases._core import Case

from ._base import Certificate, Check
from ._exact_inertia import exact_inertia


def _type_from_inertia(neg: int, zero: int, pos: int) -> str:
    if zero:
        return "degenerate"
    if neg == 0:
        return "minimum"
    if pos == 0:
        return "maximum"
    return "saddle"


def certify(case: Case, *, claimed: Any = None) -> Certificate:
    """Certify Example 1.1's ground truth (the case's ``init_scale`` does not affect it).

    Args:
        case: the instance, built by :func:`cases.certificates.certify` from its parameters.
        claimed: a ``GroundTruth`` to check instead of the case's own
            (tests pass perturbed claims here and expect rejection).
    """
    gt = claimed if claimed is not None else case.ground_truth
    a, b, t = sp.symbols("theta1 theta2 t")
    L = (b * a - 1) ** 2
    g = sp.Matrix([L.diff(a), L.diff(b)])
    H = sp.hessian(L, (a, b))
    G = sp.expand((g.T * g)[0])
    HG = sp.hessian(G, (a, b))
    checks: list[Check] = []

    ident = sp.expand(g - 2 * (a * b - 1) * sp.Matrix([b, a]))
    checks.append(Check("grad == 2(θ1θ2-1)(θ2,θ1)", ident == sp.zeros(2, 1), str(ident.T)))

    on_hyp = {a: t, b: 1 / t}
    gh = sp.simplify(g.subs(on_hyp))
    Hh = H.subs(on_hyp)
    det_h = sp.simplify(Hh.det())
    tr_h = sp.simplify(Hh.trace())
    checks.append(Check("grad == 0 on (t, 1/t)", gh == sp.zeros(2, 1), str(gh.T)))
    checks.append(Check("det H == 0 on hyperbola", det_h == 0, str(det_h)))
    tr_pos = sp.simplify(tr_h - 2 * (t**2 + t**-2)) == 0
    checks.append(Check("tr H == 2(t^2 + t^-2) > 0 on hyperbola", tr_pos, str(tr_h)))
    truth = {
        "hyperbola": (sp.simplify(L.subs(on_hyp)), (0, 1, 1)),
        "origin": (L.subs({a: 0, b: 0}), exact_inertia(H.subs({a: 0, b: 0}))),
    }
    checks.append(Check("H(origin) == [[0,-2],[-2,0]]", H.subs({a: 0, b: 0}) == sp.Matrix([[0, -2], [-2, 0]])))

    labels = {c.label for c in gt.classes}
    checks.append(Check("class labels", labels == set(truth), f"claimed {sorted(labels)}"))
    for c in gt.classes:
        if c.label not in truth:
            continue
        loss, (neg, zero, _pos) = truth[c.label]
        checks.append(Check(f"loss({c.label})", abs(c.loss - float(loss)) <= 1e-12, f"claimed {c.loss}, exact {loss}"))
        checks.append(Check(f"index({c.label})", c.index_count == neg, f"claimed {c.index_count}, exact {neg}"))
        checks.append(Check(f"nullity({c.label})", c.nullity == zero, f"claimed {c.nullity}, exact {zero}"))
        checks.append(Check(f"dim({c.label})", c.dim == 2, f"claimed {c.dim}"))
        if c.point is not None:
            p = np.asarray(c.point, dtype=float)
            on = abs(p[0] * p[1] - 1) < 1e-12 if c.label == "hyperbola" else float(np.abs(p).max()) < 1e-12
            checks.append(Check(f"point on {c.label}", bool(on), f"point {p.tolist()}"))
        if c.label == "origin":
            m = gt.match(np.array([1e-3, -2e-3]))
            checks.append(Check("match(near origin) == origin", m is not None and m.label == "origin"))
        else:
            m = gt.match(np.array([-2.0, -0.5 + 1e-4]))
            checks.append(Check("match(near hyperbola) == hyperbola", m is not None and m.label == "hyperbola"))

    exact_flats = []
    for sol in sp.solve_poly_system(list(H * sp.Matrix([b, a])), a, b):
        if not all(s.is_real for s in sol):
            continue
        sub = {a: sol[0], b: sol[1]}
        if sp.simplify(g.subs(sub)) == sp.zeros(2, 1):
            continue  # critical, not strict
        eig = HG.subs(sub).applyfunc(sp.simplify)
        exact_flats.append((sol, L.subs(sub), sp.simplify(G.subs(sub)), _type_from_inertia(*exact_inertia(eig))))
    checks.append(Check("number of strict gradient-flat points", len(gt.flat_points) == len(exact_flats),
                        f"claimed {len(gt.flat_points)}, exact {len(exact_flats)}"))
    for sol, loss, gn, typ in exact_flats:
        pt = np.array([float(s) for s in sol])
        near = [f for f in gt.flat_points if np.linalg.norm(np.asarray(f.point) - pt) < 1e-10]
        name = f"flat({pt[0]:.4f},{pt[1]:.4f})"
        checks.append(Check(f"{name} claimed", len(near) == 1))
        if near:
            f = near[0]
            checks.append(Check(f"{name} loss", abs(f.loss - float(loss)) < 1e-12, f"claimed {f.loss}, exact {loss}"))
            checks.append(Check(f"{name} |grad|^2", abs(f.grad_norm_sq - float(gn)) < 1e-12,
                                f"claimed {f.grad_norm_sq}, exact {gn}"))
            checks.append(Check(f"{name} type", f.stationary_type == typ, f"claimed {f.stationary_type}, exact {typ}"))
    return Certificate(case.name, dict(case.params), "sympy", tuple(checks))
