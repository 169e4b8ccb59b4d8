"""Certificate of the deep linear autoencoder's ground truth (thesis Sec. 3.2, Theorem 3.2).

The claims under test are the closed forms of ``cases/dlae.py`` (overridable
here, so a perturbed formula can be shown to be rejected): for the class ``S``
(``|S| = r <= p``, indices into the descending eigenvalues ``λ`` of
``Σ = X X^T / n``),

* loss ``(1/k) Σ_{j∉S} λ_j``;
* index count ``Σ_{i∈S} #{j∉S : λ_j > λ_i} + (p - r)(k - r)``;
* nullity ``r (2p - r)``;
* ``Σ_{r<=p} C(k, r)`` classes.

Two methods.

``"sympy"`` (exact; chosen automatically when ``2 p k <= 16``, e.g. ``k <= 4,
p <= 2``): ``Σ = R diag(λ) R^T`` with ``λ`` the spectrum converted *exactly* to
rationals and ``R = I`` (or, with ``rotation=True``, an exactly orthogonal
rational Cayley transform ``(I - A)(I + A)^{-1}`` of a small integer skew ``A``).
The loss ``(1/k) tr((I - W2 W1) Σ (I - W2 W1)^T)`` is expanded as a polynomial in
the ``2pk`` weights and differentiated symbolically; for every subset ``S`` the
exact rational representative point (``W1`` rows ``u_i^T``, ``W2 = W1^T``) is
substituted: the gradient must vanish identically, the loss must equal the
claim, and the exact inertia of the rational Hessian (characteristic polynomial
plus Descartes' rule, exact for real-rooted polynomials) must equal
``(index, nullity, dim - index - nullity)``.  It also checks that the data-matrix
loss ``mean((X - W2 W1 X)^2)`` equals the Gram form as a polynomial identity
(for a small integer ``X``), and that :class:`cases.dlae.DLAEGroundTruth` built
from the floating-point ``λ, R`` lists exactly these classes.

``"dense-numpy"`` (any size; the thesis instance ``k = 16, p = 4``): the case is
built by the factory; the class count is compared with the binomial sum (2517),
the origin's loss with ``tr(Σ)/k`` (exactly ``mean(spectrum)`` = 8.5 with
``exact=True``, checked in rationals) and its index fraction with 1/2; then on a
deterministic sample of classes (origin, global minimum, the top-index class and
random ones) the JAX gradient must satisfy ``||∇L||^2 < 1e-20`` and the inertia
of the dense Hessian (``numpy.linalg.eigvalsh``; zero means
``|e| <= 1e-8 max|e|``) must equal the claim, with the spectral gap reported.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy as sp

from cases._core import Case

from ._base import Certificate, Check
from ._exact_inertia import exact_inertia

IndexFormula = Callable[[Sequence[int], Sequence[Any], int], int]
LossFormula = Callable[[Sequence[int], Sequence[Any]], Any]
NullityFormula = Callable[[Sequence[int], int], int]

#: ``method="auto"`` uses SymPy when ``2 p k`` is at most this.
SYMPY_MAX_DIM = 16


def _cayley_rotation(k: int, seed: int) -> sp.Matrix:
    """An exactly orthogonal rational matrix ``(I - A)(I + A)^{-1}``, ``A`` integer skew."""
    rng = np.random.default_rng(seed)
    a = sp.zeros(k, k)
    for i in range(k):
        for j in range(i + 1, k):
            v = int(rng.integers(-2, 3))
            a[i, j], a[j, i] = v, -v
    eye = sp.eye(k)
    return (eye - a) * (eye + a).inv()


@functools.lru_cache(maxsize=8)
def _symbolic_loss(k: int, p: int, sigma: sp.ImmutableMatrix) -> tuple[Any, tuple[sp.Symbol, ...], Any, Any]:
    w1 = sp.Matrix(p, k, sp.symbols(f"w1_0:{p * k}"))
    w2 = sp.Matrix(k, p, sp.symbols(f"w2_0:{p * k}"))
    syms = tuple(w1) + tuple(w2)  # row-major: the flat θ layout
    e = sp.eye(k) - w2 * w1
    loss = sp.expand((e * sp.Matrix(sigma) * e.T).trace() / k)
    grad = sp.Matrix([loss.diff(s) for s in syms])
    hess = sp.hessian(loss, syms)
    return loss, syms, grad, hess


def _exact_point(subset: Sequence[int], u: sp.Matrix, p: int) -> list[sp.Rational]:
    k = u.rows
    w1 = sp.zeros(p, k)
    for row, i in enumerate(sorted(subset)):
        w1[row, :] = u[:, i].T
    return list(w1) + list(w1.T)


def _defaults(index_formula: Any, loss_formula: Any, nullity_formula: Any) -> tuple[Any, Any, Any]:
    from cases import dlae as d

    return (
        index_formula or d.class_index_count,
        loss_formula or d.class_loss,
        nullity_formula or d.class_nullity,
    )


def _certify_sympy(
    k: int, p: int, spectrum: Sequence[float], seed: int, rotation: bool, formulas: tuple[Any, Any, Any]
) -> list[Check]:
    from cases.dlae import DLAEGroundTruth, subset_label

    index_f, loss_f, null_f = formulas
    checks: list[Check] = []
    spec = [sp.Rational(float(v)) for v in (spectrum if len(spectrum) else np.linspace(1, k, k))]
    order = sorted(range(k), key=lambda i: -spec[i])
    lam = [spec[i] for i in order]
    rot = _cayley_rotation(k, seed) if rotation else sp.eye(k)
    checks.append(Check("R^T R == I (exact)", rot.T * rot == sp.eye(k)))
    u = rot[:, order]
    sigma = sp.ImmutableMatrix(rot * sp.diag(*spec) * rot.T)
    loss, syms, grad, hess = _symbolic_loss(k, p, sigma)
    dim = 2 * p * k

    # mean((X - M X)^2) == (1/k) tr((I-M) XX^T/n (I-M)^T) as polynomials (small integer X).
    rng = np.random.default_rng(seed + 1)
    nx = k + 1
    xm = sp.Matrix(k, nx, [int(v) for v in rng.integers(-3, 4, size=k * nx)])
    w1 = sp.Matrix(p, k, syms[: p * k])
    w2 = sp.Matrix(k, p, syms[p * k :])
    res = xm - w2 * w1 * xm
    data_loss = sum(v**2 for v in res) / (k * nx)
    e = sp.eye(k) - w2 * w1
    gram_loss = (e * (xm * xm.T / nx) * e.T).trace() / k
    ident = sp.expand(data_loss - gram_loss)
    checks.append(Check("mean((X-MX)^2) == tr((I-M)Σ(I-M)^T)/k (identity)", ident == 0, str(ident)[:80]))

    gt = DLAEGroundTruth([float(v) for v in lam], np.array(u.evalf(30).tolist(), dtype=float), p)
    gt_labels = [c.label for c in gt.classes]
    subsets = [s for r in range(p + 1) for s in itertools.combinations(range(k), r)]
    n_expect = sum(math.comb(k, r) for r in range(p + 1))
    checks.append(Check("number of classes == Σ C(k,r)", len(subsets) == n_expect, f"{len(subsets)} vs {n_expect}"))
    checks.append(
        Check(
            "ground truth lists every class once",
            sorted(gt_labels) == sorted(subset_label(s) for s in subsets) and len(set(gt_labels)) == len(gt_labels),
            f"{len(gt_labels)} labels",
        )
    )
    for s in subsets:
        label = subset_label(s)
        pt = _exact_point(s, u, p)
        rep = dict(zip(syms, pt))
        g = grad.xreplace(rep)
        checks.append(Check(f"grad({label}) == 0", all(v == 0 for v in g), str([v for v in g if v != 0][:3])))
        val = loss.xreplace(rep)
        claim_loss = loss_f(s, lam)
        same_loss = sp.simplify(val - sp.sympify(claim_loss)) == 0
        checks.append(Check(f"loss({label})", same_loss, f"exact {val}, claimed {claim_loss}"))
        neg, zero, pos = exact_inertia(hess.xreplace(rep))
        ci, cn = int(index_f(s, lam, p)), int(null_f(s, p))
        checks.append(
            Check(
                f"inertia({label})",
                (neg, zero, pos) == (ci, cn, dim - ci - cn),
                f"exact (neg, zero, pos) = {(neg, zero, pos)}, claimed index {ci}, nullity {cn}",
            )
        )
        c = gt.class_for_subset(s)
        pt_f = np.array([float(v) for v in pt])
        same = (
            c.label == label
            and c.index_count == ci
            and c.nullity == cn
            and abs(c.loss - float(claim_loss)) <= 1e-12 * max(1.0, abs(float(claim_loss)))
            and c.point is not None
            and np.allclose(c.point, pt_f, atol=1e-12)
        )
        checks.append(Check(f"ground truth class {label} == certified", same, f"{c.to_json()}"))
    return checks


@functools.lru_cache(maxsize=4)
def _jitted(loss_fn: Any) -> tuple[Any, Any]:
    import jax

    return jax.jit(jax.value_and_grad(loss_fn)), jax.jit(jax.hessian(loss_fn))


def _certify_dense(case: Case, n_sample: int, formulas: tuple[Any, Any, Any]) -> list[Check]:
    import jax.numpy as jnp

    from cases.dlae import DLAEGroundTruth, subset_label

    index_f, loss_f, null_f = formulas
    params = case.params
    gt = case.ground_truth
    assert isinstance(gt, DLAEGroundTruth)
    k, p, dim = gt.k, gt.p, case.dim
    lam = list(gt.lam)
    checks: list[Check] = []
    n_expect = sum(math.comb(k, r) for r in range(p + 1))
    labels = [c.label for c in gt.classes]
    checks.append(
        Check(
            "number of classes == Σ C(k,r)",
            len(labels) == n_expect == len(set(labels)),
            f"{len(labels)} listed, {n_expect} expected",
        )
    )
    vg, hess = _jitted(case.loss_fn)
    origin = gt.class_for_subset(())
    if "x" in case.data:
        x = np.asarray(case.data["x"])
        sigma = x @ x.T / x.shape[1]
    else:
        sigma = np.asarray(case.data["sigma"])
    tr_k = float(np.trace(sigma)) / k
    checks.append(
        Check("origin loss == tr(Σ)/k", abs(origin.loss - tr_k) <= 1e-10 * tr_k, f"{origin.loss} vs {tr_k}")
    )
    if params.get("exact"):
        spec = params.get("spectrum") or tuple(np.linspace(1, k, k))
        exact_mean = sum(sp.Rational(float(v)) for v in spec) / k
        checks.append(
            Check(
                "origin loss == mean(spectrum) (exact)",
                all(
                    abs(sp.Rational(v) - exact_mean) <= 1e-12 * exact_mean
                    for v in (origin.loss, float(loss_f((), lam)))
                ),
                f"claimed {origin.loss}, exact {exact_mean}",
            )
        )
    frac = sp.Rational(int(index_f((), lam, p)), dim)
    checks.append(Check("origin index fraction == 1/2", frac == sp.Rational(1, 2), f"{frac}"))

    rng = np.random.default_rng(params.get("seed", 0) + 12345)
    top = tuple(range(k - p, k))  # captures the p smallest eigenvalues: the largest index
    sample: list[tuple[int, ...]] = [(), tuple(range(p)), top]
    while len(sample) < max(n_sample, 3):
        r = int(rng.integers(0, p + 1))
        s = tuple(sorted(int(v) for v in rng.choice(k, size=r, replace=False)))
        if s not in sample:
            sample.append(s)
        if len(sample) >= n_expect:
            break
    for s in sample:
        label = subset_label(s)
        c = gt.class_for_subset(s)
        ci, cn, cl = int(index_f(s, lam, p)), int(null_f(s, p)), float(loss_f(s, lam))
        theta = jnp.asarray(c.point)
        val, g = vg(theta, case.data)
        g = np.asarray(g)
        gsq = float(g @ g)
        checks.append(Check(f"grad({label}) ~ 0", gsq < 1e-20, f"||grad||^2 = {gsq:.3e}"))
        ok_loss = abs(float(val) - cl) <= 1e-10 * max(1.0, abs(cl))
        checks.append(Check(f"loss({label})", ok_loss, f"{float(val)} vs claimed {cl}"))
        eigs = np.linalg.eigvalsh(np.asarray(hess(theta, case.data)))
        tol = 1e-8 * float(np.max(np.abs(eigs)))
        neg, zero = int(np.sum(eigs < -tol)), int(np.sum(np.abs(eigs) <= tol))
        nonzero = np.abs(eigs[np.abs(eigs) > tol])
        gap = float(nonzero.min()) if nonzero.size else float("inf")
        checks.append(
            Check(
                f"inertia({label})",
                (neg, zero) == (ci, cn),
                f"dense (neg, zero) = {(neg, zero)}, claimed {(ci, cn)}; min |nonzero eig| {gap:.3e}, tol {tol:.1e}",
            )
        )
        checks.append(
            Check(f"ground truth class {label} == formula", (c.index_count, c.nullity) == (ci, cn), f"{c.to_json()}")
        )
    return checks


def certify(
    case: Case,
    *,
    method: str = "auto",
    n_sample: int = 12,
    index_formula: IndexFormula | None = None,
    loss_formula: LossFormula | None = None,
    nullity_formula: NullityFormula | None = None,
) -> Certificate:
    """Certify the DLAE ground truth of ``case`` (see the module docstring).

    Args:
        case: the instance, built by :func:`cases.certificates.certify` from its parameters
            (``init``, ``noise``, ``init_scale`` do not affect the ground truth; the SymPy
            method uses ``k, p, spectrum, seed, rotation``).
        method: ``"auto"`` (SymPy when ``2pk <= 16``), ``"sympy"`` or ``"dense-numpy"``.
        n_sample: number of classes checked by the dense method.
        index_formula, loss_formula, nullity_formula: replace the closed forms of
            ``cases.dlae`` (tests inject wrong ones and expect rejection).
    """
    if method not in ("auto", "sympy", "dense-numpy"):
        raise ValueError(f"method must be 'auto', 'sympy' or 'dense-numpy', got {method!r}")
    params = dict(case.params)
    k, p, seed, rotation = int(params["k"]), int(params["p"]), int(params["seed"]), bool(params["rotation"])
    spectrum = tuple(params["spectrum"])
    formulas = _defaults(index_formula, loss_formula, nullity_formula)
    use_sympy = method == "sympy" or (method == "auto" and 2 * p * k <= SYMPY_MAX_DIM)
    if use_sympy:
        checks = _certify_sympy(k, p, tuple(spectrum), seed, rotation, formulas)
        return Certificate(case.name, params, "sympy", tuple(checks))
    checks = _certify_dense(case, n_sample, formulas)
    return Certificate(case.name, params, "dense-numpy", tuple(checks))
