r"""Certificate of the SI-line case (:mod:`cases.si_line`).

Two independent parts.

1. **SymPy, exact** (:func:`check_block_identities`): for a width-1 → 2
   duplication on two symbolic data points ``x_n = (p_n, q_n)``, symbolic
   targets and an *undefined* activation ``s`` (so the identities hold for any
   smooth activation), with ``w1 = w2 = w``, ``a1 = μa``, ``a2 = (1-μ)a``:

   * ``D_diff(v)ᵀ H D_diff(v') = 2 μ(1-μ) Σ_n e_n a s''(w·x_n)(x_n·v)(x_n·v')``
     (``= 2N μ(1-μ) vᵀ Y v'``), with ``D_diff(v) = ((1-μ)v, -μv, 0, 0)``;
   * ``D_diffᵀ H E = 0``, ``D_lineᵀ H E = 0``, ``D_lineᵀ H D_line = 0`` with
     ``D_line = (0, 0, a, -a)`` and ``E`` the embedding of the width-1 space;
   * ``D_diff(v)ᵀ H D_line = v·∇_w L_1`` (the coupling ``U``: zero at a critical point);
   * ``Eᵀ H E = H_1`` (the width-1 Hessian), and ``det[E | D_diff | D_line] = -a ≠ 0``.

   Hence, at a critical point, ``H`` is congruent to ``H_1 ⊕ 2Nμ(1-μ)Y ⊕ 0``.

2. **Dense NumPy** (:func:`certify`): for every claimed class and several
   ``μ`` (or extra-neuron weights), ``||∇L|| <= 1e-12``, the loss, and the
   inertia of the dense Hessian (``numpy.linalg.eigvalsh``, thesis threshold
   1e-5) equal the claim; the claim also equals the *prediction*
   ``inertia(H_r) + inertia(μ(1-μ)Y) + 1 zero`` computed from the 12×12 base
   Hessian and the closed-form ``Y`` (:func:`cases.si_line.y_matrix`), and, on
   the teacher (``e = 0``, ``H = 2JᵀJ``), the nullity equals ``dim - rank J``
   with ``J`` the closed-form Jacobian of the network outputs.  A spectral gap
   check makes sure no eigenvalue sits near the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy as sp

from .. import si_line as S
from .._core import INDEX_EIG_TOL, Case, CriticalClass
from .._numeric import dense_gradient, dense_hessian
from ._base import Certificate, Check

DEFAULT_MUS = (-0.5, 0.3, 0.5, 2.0)
ZERO_NEURON_WS = ((0.3, 0.9), (-1.2, 0.4), (0.8, -0.1))
GRAD_TOL = 1e-12
#: Eigenvalues with ``|λ| <= ZERO_GAP * max|λ|`` are exact zeros; no eigenvalue may
#: lie in ``(ZERO_GAP * max|λ|, 10 * INDEX_EIG_TOL)`` (an unambiguous count).
ZERO_GAP = 1e-11


def check_block_identities(factor: Any = None) -> list[Check]:
    """SymPy checks of the Hessian block structure at a duplicated neuron.

    Args:
        factor: the claimed scalar in front of ``Y`` as a SymPy expression in
            the symbol ``mu`` (default ``mu*(1-mu)``); a wrong one fails.
    """
    s = sp.Function("s")
    xs = sp.Symbol("xi")
    p = sp.symbols("p1:3")
    q = sp.symbols("q1:3")
    t = sp.symbols("t1:3")
    u1, u2, v1, v2, b1, b2 = sp.symbols("u1 u2 v1 v2 b1 b2")
    w1, w2, a, mu = sp.symbols("w1 w2 a mu")
    c = sp.symbols("c1:5")
    d = sp.symbols("d1:4")
    dp = sp.symbols("dp1:4")
    factor = mu * (1 - mu) if factor is None else sp.sympify(factor, locals={"mu": mu})

    theta = [u1, u2, v1, v2, b1, b2]
    L2 = sum((b1 * s(u1 * p[n] + u2 * q[n]) + b2 * s(v1 * p[n] + v2 * q[n]) - t[n]) ** 2 for n in range(2))
    H = sp.hessian(L2, theta).subs({u1: w1, u2: w2, v1: w1, v2: w2, b1: mu * a, b2: (1 - mu) * a}).doit()
    z = [w1 * p[n] + w2 * q[n] for n in range(2)]
    e = [a * s(z[n]) - t[n] for n in range(2)]
    s2 = [sp.diff(s(xs), xs, 2).subs(xs, z[n]) for n in range(2)]
    L1 = sum((a * s(z[n]) - t[n]) ** 2 for n in range(2))
    H1 = sp.hessian(L1, [w1, w2, a])
    g1 = [sp.diff(L1, w1), sp.diff(L1, w2)]

    def Dd(vv: Sequence[Any]) -> sp.Matrix:
        return sp.Matrix([(1 - mu) * vv[0], (1 - mu) * vv[1], -mu * vv[0], -mu * vv[1], 0, 0])

    def E(dd: Sequence[Any]) -> sp.Matrix:
        return sp.Matrix([dd[0], dd[1], dd[0], dd[1], mu * dd[2], (1 - mu) * dd[2]])

    Dl = sp.Matrix([0, 0, 0, 0, a, -a])

    def q_form(x: sp.Matrix, y: sp.Matrix) -> Any:
        return (x.T * H * y)[0]

    def zero(expr: Any) -> bool:
        return sp.expand(sp.expand(expr).doit()) == 0

    v, vp = (c[0], c[1]), (c[2], c[3])
    claim_y = 2 * factor * sum(
        e[n] * a * s2[n] * (p[n] * v[0] + q[n] * v[1]) * (p[n] * vp[0] + q[n] * vp[1]) for n in range(2)
    )
    B = sp.Matrix.hstack(E((1, 0, 0)), E((0, 1, 0)), E((0, 0, 1)), Dd((1, 0)), Dd((0, 1)), Dl)
    det = sp.factor(B.det())
    checks = [
        ("sympy: D_diff' H D_diff == 2 factor(mu) sum e a s'' (x.v)(x.v')", zero(q_form(Dd(v), Dd(vp)) - claim_y)),
        ("sympy: D_diff' H E == 0", zero(q_form(Dd(v), E(d)))),
        ("sympy: D_line' H E == 0", zero(q_form(Dl, E(d)))),
        ("sympy: D_line' H D_line == 0", zero(q_form(Dl, Dl))),
        ("sympy: D_diff' H D_line == v . grad_w L_1 (U, zero at critical points)",
         zero(q_form(Dd(v), Dl) - (g1[0] * v[0] + g1[1] * v[1]))),
        ("sympy: E' H E == H_1", zero(q_form(E(d), E(dp)) - (sp.Matrix(d).T * H1 * sp.Matrix(dp))[0])),
        ("sympy: det[E | D_diff | D_line] == -a", sp.simplify(det + a) == 0),
    ]
    return [Check(name, bool(ok), "" if ok else "identity does not hold") for name, ok in checks]


def _counts(eigs: np.ndarray) -> tuple[int, int]:
    return int(np.sum(eigs < -INDEX_EIG_TOL)), int(np.sum(np.abs(eigs) <= INDEX_EIG_TOL))


def _sym_counts(eigs: np.ndarray, zero_tol: float) -> tuple[int, int]:
    """(negatives, zeros) of a small exactly-structured spectrum (zero means |λ| <= zero_tol)."""
    return int(np.sum(eigs < -zero_tol)), int(np.sum(np.abs(eigs) <= zero_tol))


def _jacobian(theta: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Closed-form Jacobian of the network outputs ``f(x_n)`` w.r.t. ``θ = (W, a)``."""
    W, a = S.unpack(theta)
    sg = S.sigmoid_np(X @ W.T)  # (N, r)
    ds = sg * (1.0 - sg) * a  # a_i σ'(w_i·x)
    JW = (ds[:, :, None] * X[:, None, :]).reshape(X.shape[0], -1)
    return np.concatenate([JW, sg], axis=1)


def _dense_check(cls: CriticalClass, theta: np.ndarray, data: Any, tag: str, predicted: tuple[int, int] | None) -> list[Check]:
    out = []
    g = dense_gradient(S.loss_fn, theta, data)
    gn = float(np.linalg.norm(g))
    out.append(Check(f"{cls.label}[{tag}]: ||grad|| <= {GRAD_TOL}", gn <= GRAD_TOL, f"||grad|| = {gn:.3e}"))
    loss = float(S.loss_fn(theta, data))
    out.append(Check(f"{cls.label}[{tag}]: loss", abs(loss - cls.loss) <= 1e-12 * max(1.0, abs(cls.loss)),
                     f"loss {loss!r} vs claimed {cls.loss!r}"))
    eigs = np.linalg.eigvalsh(dense_hessian(S.loss_fn, theta, data))
    neg, zer = _counts(eigs)
    out.append(Check(f"{cls.label}[{tag}]: dense inertia == claim", (neg, zer) == (cls.index_count, cls.nullity),
                     f"dense (index, nullity) = {(neg, zer)}, claimed {(cls.index_count, cls.nullity)}"))
    scale = float(np.max(np.abs(eigs)))
    ambiguous = int(np.sum((np.abs(eigs) > ZERO_GAP * scale) & (np.abs(eigs) < 10 * INDEX_EIG_TOL)))
    out.append(Check(f"{cls.label}[{tag}]: spectral gap around the threshold", ambiguous == 0,
                     f"{ambiguous} eigenvalue(s) with {ZERO_GAP * scale:.1e} < |λ| < {10 * INDEX_EIG_TOL:.0e}"))
    if predicted is not None:
        out.append(Check(f"{cls.label}[{tag}]: duplication formula == claim",
                         predicted == (cls.index_count, cls.nullity),
                         f"predicted (index, nullity) = {predicted}, claimed {(cls.index_count, cls.nullity)}"))
    return out


def certify(
    case: Case,
    *,
    mus: Sequence[float] = DEFAULT_MUS,
    classes: Sequence[CriticalClass] | None = None,
    y_factor: Any = None,
    symbolic: bool = True,
) -> Certificate:
    """Certify the SI-line ground truth.

    Args:
        case: the instance (its ``width``, ``mu``, ``match_tol``), built by
            :func:`cases.certificates.certify` from its parameters.
        mus: the splits at which every duplication class is checked (each
            one-sided class only at the ``μ`` on its side).
        classes: the claims to check (default: the case's classes); pass
            perturbed copies to see the certificate reject them.
        y_factor: the claimed factor of ``Y`` in the SymPy check (default ``μ(1-μ)``).
        symbolic: run the SymPy block identities.
    """
    width = int(case.params["width"])
    assert case.ground_truth is not None
    claims = tuple(case.ground_truth.classes if classes is None else classes)
    data = case.data
    X = np.asarray(data["x"])
    y = np.asarray(data["y"])
    N = X.shape[0]
    table = S.CLASS_TABLE_5 if width == 5 else S.CLASS_TABLE_4
    checks: list[Check] = []
    if symbolic:
        checks += check_block_identities(y_factor)

    base_eigs = {}
    for base in ("teacher", "local-A"):
        W, a = S._base(base)
        th = S.pack(W, a)
        base_eigs[base] = np.linalg.eigvalsh(dense_hessian(S.loss_fn, th, data))
        gn = float(np.linalg.norm(dense_gradient(S.loss_fn, th, data)))
        checks.append(Check(f"base {base} (width 4): ||grad|| <= {GRAD_TOL}", gn <= GRAD_TOL, f"{gn:.3e}"))
        rank = int(np.linalg.matrix_rank(_jacobian(th, X)))
        checks.append(Check(f"base {base}: Jacobian full rank", rank == 12, f"rank {rank}"))
    t_loss = float(S.loss_fn(S.pack(S.TEACHER_W, S.TEACHER_A), data))
    checks.append(Check("base teacher: loss 0 (round-off)", abs(t_loss) < 1e-25, f"loss {t_loss:.3e}"))
    checks.append(Check("base local-A: non-global (loss > 0.1)",
                        float(S.loss_fn(S.pack(S.LOCAL_A_W, S.LOCAL_A_A), data)) > 0.1))

    for cls in claims:
        if cls.label not in table:
            checks.append(Check(f"{cls.label}: known class", False, "label not in the class table"))
            continue
        base, j, side, _, _ = table[cls.label]
        W, a = S._base(base)
        b_neg, b_zero = _counts(base_eigs[base])
        if width == 4:
            checks += _dense_check(cls, S.pack(W, a), data, "base", (b_neg, b_zero))
            continue
        if j is None:  # teacher + zero neuron: H = 2 J'J, nullity = dim - rank J
            for wn in ZERO_NEURON_WS:
                th = S.add_zero_neuron(W, a, np.array(wn))
                rank = int(np.linalg.matrix_rank(_jacobian(th, X)))
                checks += _dense_check(cls, th, data, f"w'={wn}", (0, th.size - rank))
            continue
        Y = S.y_matrix(W, a, j, X, y)
        y_eigs = np.linalg.eigvalsh(Y)
        y_zero_tol = 1e-12 * max(1.0, float(np.max(np.abs(base_eigs[base]))) / N)
        for m in mus:
            inner = 0.0 < m < 1.0
            if (side == "inner" and not inner) or (side == "outer" and inner) or m in (0.0, 1.0):
                continue
            th = S.duplicate(W, a, j, m)
            y_neg, y_zero = _sym_counts(m * (1.0 - m) * y_eigs, y_zero_tol)
            predicted = (b_neg + y_neg, b_zero + y_zero + 1)
            if base == "teacher":
                rank = int(np.linalg.matrix_rank(_jacobian(th, X)))
                checks.append(Check(f"{cls.label}[mu={m}]: nullity == dim - rank J", th.size - rank == cls.nullity,
                                    f"dim - rank J = {th.size - rank}, claimed {cls.nullity}"))
            checks += _dense_check(cls, th, data, f"mu={m}", predicted)
        if cls.point is not None:
            checks += _dense_check(cls, np.asarray(cls.point), data, "representative", None)
    return Certificate(
        case=case.name,
        params={**case.params, "mus": list(mus)},
        method="sympy+dense-numpy",
        checks=tuple(checks),
    )
