r"""Separable quartics in rotated coordinates, with thesis Eq. 3.35 as default.

.. math::

    f(x) = \sum_{i=1}^{n} \Big(\frac{a_i}{4} u_i^4 + \frac{b_i}{2} u_i^2 + c_i u_i\Big) + \mathrm{const},
    \qquad u = Q^\top x,

with ``Q`` orthogonal.  The defaults ``a = (1, 3.6), b = (-6, 10), c = (9, 0),
const = 40, Q = I`` give thesis Eq. 3.35,
``f(x, y) = x^4/4 - 3x^2 + 9x + 0.9y^4 + 5y^2 + 40``.

Ground truth (derivation).  Write ``f_i(u) = a_i u^4/4 + b_i u^2/2 + c_i u``, so
``f_i' = a_i u^3 + b_i u + c_i``, ``f_i'' = 3a_i u^2 + b_i``, ``f_i''' = 6 a_i u``.  In
``u``-coordinates ``∇f = (f_i'(u_i))_i`` and ``Hess f = diag(f_i''(u_i))``; in ``x``,
``∇_x f = Q ∇_u f`` and ``Hess_x f = Q Hess_u f Q^T`` (same inertia, same norms).

* Critical points: every combination of real roots of the cubics ``f_i'``.
  The index is the number of coordinates with ``f_i'' < 0`` (the middle root of
  a cubic with three real roots); nullity 0 under the validation below.
* Gradient-flat points: ``Hess f ∇f = (f_i'' f_i')_i = 0``, i.e. in *each*
  coordinate ``f_i' = 0`` or ``f_i'' = 0`` (``u_i = ±sqrt(-b_i / 3a_i)``, real only
  when ``b_i < 0``); strict when at least one coordinate has ``f_i' ≠ 0``.
* ``G = ||∇f||^2 = Σ f_i'(u_i)^2`` is separable with
  ``Hess G = diag(2(f_i''^2 + f_i' f_i'''))``: at a strict gradient-flat point a
  critical coordinate contributes ``2 f_i''^2 > 0`` and an inflection coordinate
  ``12 a_i u_i f_i'(u_i) ≠ 0``; all positive: a minimum of ``G``; mixed: a saddle;
  all negative: a maximum.

Eq. 3.35: ``f_1' = x^3 - 6x + 9 = (x + 3)(x^2 - 3x + 3)``, so the only critical
point is ``(-3, 0)`` (a minimum); the strict gradient-flat points are
``(±√2, 0)`` with ``||∇f||^2 = (9 ∓ 4√2)^2`` (≈ 11.18, a minimum of ``G``;
≈ 214.8, a saddle of ``G``).

Certified exactly in :mod:`cases.certificates.quartic`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

from . import _x64  # noqa: F401  (float64 before any JAX array)
import jax.numpy as jnp
import numpy as np

from ._core import Case, CriticalClass, GradientFlatPoint, GroundTruth
from .registry import CaseSpec

EQ_335 = {"a": (1.0, 3.6), "b": (-6.0, 10.0), "c": (9.0, 0.0), "const": 40.0}
MAX_DIM = 4
MAX_COEF = 1e3
#: Reject coefficients whose cubic ``f_i'`` is within this relative distance of
#: a double root (discriminant ``-4ab^3 - 27a^2c^2`` relative to its terms).
DEGENERACY_RTOL = 1e-6


def loss_fn(theta: jnp.ndarray, data: dict[str, Any]) -> jnp.ndarray:
    """``Σ_i (a_i u_i^4/4 + b_i u_i^2/2 + c_i u_i) + const`` with ``u = Q^T θ``."""
    u = data["Q"].T @ theta
    return jnp.sum(data["a"] * u**4 / 4 + data["b"] * u**2 / 2 + data["c"] * u) + data["const"]


def _validate(a: Sequence[float], b: Sequence[float], c: Sequence[float], const: float,
              angle: float, rotation_seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a_, b_, c_ = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (a, b, c))
    if a_.ndim != 1 or not (a_.shape == b_.shape == c_.shape) or not 1 <= a_.size <= MAX_DIM:
        raise ValueError(f"a, b, c must be sequences of one common length 1..{MAX_DIM}")
    for name, v in (("a", a_), ("b", b_), ("c", c_)):
        if not np.all(np.isfinite(v)) or np.any(np.abs(v) > MAX_COEF):
            raise ValueError(f"{name} must be finite with |{name}_i| <= {MAX_COEF:g}")
    if np.any(a_ <= 0):
        raise ValueError("a must be positive (a_i > 0 makes f coercive)")
    if np.any(b_ == 0):
        raise ValueError("b must be nonzero (b_i = 0 makes f_i'' vanish to second order)")
    disc = 4 * b_**3 + 27 * a_ * c_**2
    if np.any(np.abs(disc) <= DEGENERACY_RTOL * (4 * np.abs(b_) ** 3 + 27 * a_ * c_**2)):
        raise ValueError("b, c: f_i' = a_i u^3 + b_i u + c_i has a (near-)double root; degenerate critical point")
    if not math.isfinite(const):
        raise ValueError("const must be finite")
    if not math.isfinite(angle):
        raise ValueError("angle must be finite")
    if angle != 0.0 and a_.size != 2:
        raise ValueError("angle is only defined in 2-D; use rotation_seed")
    if rotation_seed < -1:
        raise ValueError("rotation_seed must be -1 (no random rotation) or a seed >= 0")
    if rotation_seed >= 0 and angle != 0.0:
        raise ValueError("angle and rotation_seed are exclusive; set one")
    return a_, b_, c_


def rotation(n: int, angle: float = 0.0, rotation_seed: int = -1) -> np.ndarray:
    """The orthogonal ``Q``: identity, a 2-D rotation by ``angle``, or Haar-random from ``rotation_seed``."""
    if rotation_seed >= 0:
        z = np.random.default_rng(rotation_seed).standard_normal((n, n))
        q, r = np.linalg.qr(z)
        return q * np.sign(np.diag(r))
    if angle != 0.0:
        cs, sn = math.cos(angle), math.sin(angle)
        return np.array([[cs, -sn], [sn, cs]])
    return np.eye(n)


def _real_roots(a: float, b: float, c: float) -> np.ndarray:
    """Sorted real roots of ``a u^3 + b u + c``, polished by Newton steps."""
    three = -4 * a * b**3 - 27 * a * a * c * c > 0
    r = np.roots([a, 0.0, b, c])
    roots = np.sort(r.real) if three else np.array([r[np.argmin(np.abs(r.imag))].real])
    for _ in range(3):
        fp = a * roots**3 + b * roots + c
        fpp = 3 * a * roots**2 + b
        roots = roots - fp / fpp
    return roots


def _ground_truth(a: np.ndarray, b: np.ndarray, c: np.ndarray, const: float, q: np.ndarray) -> GroundTruth:
    n = a.size
    f = [lambda u, i=i: a[i] * u**4 / 4 + b[i] * u**2 / 2 + c[i] * u for i in range(n)]
    f1 = [lambda u, i=i: a[i] * u**3 + b[i] * u + c[i] for i in range(n)]
    f2 = [lambda u, i=i: 3 * a[i] * u**2 + b[i] for i in range(n)]
    # per coordinate: (code, u, is_critical_coordinate)
    options: list[list[tuple[str, float, bool]]] = []
    for i in range(n):
        opts = [(f"c{k}", float(r), True) for k, r in enumerate(_real_roots(a[i], b[i], c[i]))]
        if b[i] < 0:
            s = math.sqrt(-b[i] / (3 * a[i]))
            opts += [("i-", -s, False), ("i+", s, False)]
        options.append(opts)
    classes, flats = [], []
    for combo in itertools.product(*options):
        u = np.array([o[1] for o in combo])
        codes = ",".join(o[0] for o in combo)
        loss = float(sum(f[i](u[i]) for i in range(n)) + const)
        x = q @ u
        if all(o[2] for o in combo):
            index = sum(1 for i in range(n) if f2[i](u[i]) < 0)
            typ = "minimum" if index == 0 else ("maximum" if index == n else "saddle")
            classes.append(CriticalClass(f"crit[{codes}]", loss, index, 0, n, x, {"type": typ, "u": u.tolist()}))
        else:
            g = np.array([0.0 if combo[i][2] else f1[i](u[i]) for i in range(n)])
            hg = np.array([2 * f2[i](u[i]) ** 2 if combo[i][2] else 12 * a[i] * u[i] * g[i] for i in range(n)])
            typ = "minimum" if np.all(hg > 0) else ("maximum" if np.all(hg < 0) else "saddle")
            flats.append(GradientFlatPoint(f"flat[{codes}]", x, loss, float(g @ g), typ))
    return GroundTruth(classes, flats, kind="exact")


def make_family(
    a: tuple[float, ...] = EQ_335["a"],
    b: tuple[float, ...] = EQ_335["b"],
    c: tuple[float, ...] = EQ_335["c"],
    const: float = EQ_335["const"],
    angle: float = 0.0,
    rotation_seed: int = -1,
) -> Case:
    """A separable quartic ``Σ_i (a_i u_i^4/4 + b_i u_i^2/2 + c_i u_i) + const``, ``u = Q^T x``.

    Args (valid ranges; violations raise ``ValueError`` naming the parameter):
        a: positive coefficients, one per coordinate; ``n = len(a)`` in ``1..4``,
            ``0 < a_i <= 1e3`` (``f`` coercive).
        b: nonzero, ``|b_i| <= 1e3``; inflection points (hence gradient-flat
            points) exist in coordinate ``i`` iff ``b_i < 0``.
        c: ``|c_i| <= 1e3``; together with ``b`` the cubic ``f_i'`` must be
            non-degenerate: ``|4b^3 + 27ac^2| > 1e-6 (4|b|^3 + 27ac^2)``.
        const: additive constant (finite).
        angle: 2-D only: ``Q`` is the rotation by ``angle`` radians.
        rotation_seed: ``-1`` (no random rotation) or a seed ``>= 0`` for a
            Haar-random ``Q`` (any ``n``); exclusive with ``angle``.

    ``sample_init`` draws ``x = Q u`` with independent Gaussian ``u_i`` centred at
    the midpoint of the interval spanned by coordinate ``i``'s critical roots and
    inflection points, with standard deviation ``max(1, half its width)``.
    """
    return _build("quartic-family", a, b, c, const, angle, rotation_seed)


def _build(name: str, a: Sequence[float], b: Sequence[float], c: Sequence[float], const: float,
           angle: float, rotation_seed: int) -> Case:
    a_, b_, c_ = _validate(a, b, c, float(const), float(angle), int(rotation_seed))
    n = a_.size
    q = rotation(n, float(angle), int(rotation_seed))
    gt = _ground_truth(a_, b_, c_, float(const), q)
    centre, scale = np.zeros(n), np.ones(n)
    for i in range(n):
        pts = [cl.info["u"][i] for cl in gt.classes]
        if b_[i] < 0:
            s = math.sqrt(-b_[i] / (3 * a_[i]))
            pts += [-s, s]
        lo, hi = min(pts), max(pts)
        centre[i], scale[i] = (lo + hi) / 2, max(1.0, (hi - lo) / 2)

    def sample_init(rng: np.random.Generator, m: int) -> np.ndarray:
        u = centre + scale * rng.standard_normal((m, n))
        return u @ q.T

    params = {"a": tuple(a_.tolist()), "b": tuple(b_.tolist()), "c": tuple(c_.tolist()),
              "const": float(const), "angle": float(angle), "rotation_seed": int(rotation_seed)}
    if name == "quartic":
        params = {"angle": float(angle)}
    data = {"a": jnp.asarray(a_), "b": jnp.asarray(b_), "c": jnp.asarray(c_),
            "const": jnp.asarray(float(const)), "Q": jnp.asarray(q)}
    return Case(
        name=name,
        params=params,
        dim=n,
        loss_fn=loss_fn,
        data=data,
        sample_init=sample_init,
        ground_truth=gt,
        description=f"separable quartic in {n}-D (rotated); {len(gt.classes)} critical, "
                    f"{len(gt.flat_points)} strict gradient-flat points",
    )


def make_quartic(angle: float = 0.0) -> Case:
    """Thesis Eq. 3.35, ``x^4/4 - 3x^2 + 9x + 0.9y^4 + 5y^2 + 40``, optionally rotated by ``angle``."""
    return _build("quartic", EQ_335["a"], EQ_335["b"], EQ_335["c"], EQ_335["const"], angle, -1)


CASE = CaseSpec(
    "quartic",
    make_quartic,
    description="Thesis Eq. 3.35: one minimum (-3,0), strict gradient-flat points (±√2,0)",
    ground_truth_kind="exact",
    small_params={},
    certificate="cases.certificates.quartic:certify",
)
FAMILY = CaseSpec(
    "quartic-family",
    make_family,
    description="Separable quartics in rotated coordinates (n <= 4); exact critical and gradient-flat points",
    ground_truth_kind="exact",
    small_params={"a": (1.0, 2.0, 0.5), "b": (-6.0, -3.0, 1.0), "c": (1.0, 0.5, -1.0), "rotation_seed": 0},
    certificate="cases.certificates.quartic:certify",
)
