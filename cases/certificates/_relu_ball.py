r"""Ball-arithmetic (python-flint / Arb) kernel and *verifier* of the ReLU teacher-student certificates.

The loss (Tian, ICML 2017; Safran & Shamir, ICML 2018) of ``x -> Σ_i relu(w_i·x)`` against the
teacher ``V = I_k`` with ``x ~ N(0, I_k)`` is

.. math::  F(W) = ½ Σ_{i,j} f(w_i, w_j) - Σ_{i,j} f(w_i, e_j) + ½ Σ_{i,j} f(e_i, e_j),
           f(u, v) = E[relu(u·x) relu(v·x)] = ‖u‖‖v‖ (sin θ + (π - θ) cos θ) / (2π),

``θ = ∠(u, v)``, ``f(u, u) = ‖u‖²/2``.  Its derivatives (Brutzkus & Globerson 2017; Safran & Shamir
2018, Appendix; written with ``û = u/‖u‖``, ``c = cos θ``, ``n_{uv} = (û - c v̂)/sin θ``):

* ``∇_u f = ((‖v‖ sin θ / ‖u‖) u + (π - θ) v) / (2π)``;
* ``∂²_{uu} f = ‖v‖ sin θ / (2π ‖u‖) · (I - ûûᵀ + n_{vu} n_{vu}ᵀ)``;
* ``∂²_{uv} f = ((π - θ) I + n_{uv} v̂ᵀ + n_{vu} ûᵀ) / (2π)``.

So ``∇_{w_i} F = w_i/2 + Σ_{j≠i} ∇_u f(w_i, w_j) - Σ_j ∇_u f(w_i, e_j)``, the Hessian's diagonal
block is ``I/2 + Σ_{j≠i} ∂²_{uu} f(w_i, w_j) - Σ_j ∂²_{uu} f(w_i, e_j)`` and its off-diagonal block
``(i, j)`` is ``∂²_{uv} f(w_i, w_j)``.  Every formula is evaluated in Arb balls, so each value is an
enclosure, valid for *every* point of the input box; a pair whose ``cos θ`` ball is not strictly
inside ``(-1, 1)`` (parallel or zero neurons) makes the evaluation fail loudly (``BallError``).
At ``W = I`` the teacher pair ``(e_i, e_i)`` is parallel; there ``F`` is only C² and the limits
``∇_u f(u, u) = u/2``, ``∂²_{uu} f(u, u) = 0`` are used (the exact Gauss-Newton form of the Hessian,
``E[1{x_i>0} 1{x_j>0} x xᵀ]``, has the same entries ½, ¼ and 1/(2π)).

**Fixed spaces** (Arjevani & Field, NeurIPS 2020/2021).  The loss is invariant under ``W -> P W Q``
(``P, Q`` permutations: student units, and input coordinates together with the teacher's units).
For a partition of ``{0..k-1}`` into consecutive blocks of sizes ``n_1..n_m`` the subgroup
``Δ(S_{n_1} × ... × S_{n_m})`` (the same permutation on rows and columns) fixes the matrices that
are constant on: the diagonal of block ``r`` (unknown ``d_r``), the off-diagonal of block ``r``
(``o_r``, if ``n_r ≥ 2``) and each off-diagonal block ``(r, s)`` (``b_rs``).  Type A
(``ΔS_{k-1}``) is the partition ``(1, k-1)`` with the 5 unknowns ``(a, b, c, d, e) = (d_0, b_01,
b_10, d_1, o_1)``; ``ΔS_k`` is ``(k,)`` (2 unknowns).  By the principle of symmetric criticality the
gradient at a fixed point lies in the fixed space, so the reduced system is the gradient at one
representative entry of each orbit, and its zeros are critical points of ``F`` in all ``k²``
dimensions.

**A certificate** (verified by :func:`verify_point` from the JSON alone):

1. *Krawczyk*: with ``X = z̃ + [-r, r]^n``, ``Y ≈ J(z̃)^{-1}`` (floating point, any matrix),
   ``K(X) = z̃ - Y R(z̃) + (I - Y J(X)) (X - z̃)``; ``K(X) ⊂ int X`` proves that the reduced
   gradient ``R`` has exactly one zero in ``X`` (Krawczyk 1969; Moore; Rump 1983).
2. *Inertia over the box*: the interval Hessian ``H(X)`` (every Hessian at every point of ``X``),
   ``A = Qᵀ H(X) Q`` with ``Q`` the floating eigenvectors of ``mid H``; ``‖QᵀQ - I‖_∞ ≤ ε < 1``
   proves ``Q`` nonsingular, so by Sylvester's law of inertia ``A`` and ``H`` have the same inertia.
   Gershgorin discs of ``A`` that all exclude 0 give the nullity 0 and the index (the discs in the
   negative half-line; each connected component of the union holds as many eigenvalues as discs).
   By Ostrowski's theorem ``λ_i(H) = λ_i(A)/t_i`` with ``t_i ∈ [1-ε, 1+ε]``, which gives the
   eigenvalue enclosures and their multiplicities (one component = one cluster).
3. *Loss*: ``F(X)`` in ball arithmetic.

This module imports python-flint and NumPy only; the generator lives in :mod:`cases.certificates.relu`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from flint import arb, arb_mat, ctx

from cases._relu_layout import Layout

#: Working precision (bits) of every ball evaluation.
PREC = 192


class BallError(ArithmeticError):
    """A ball evaluation that cannot be enclosed (a parallel or zero-norm pair inside the box)."""


# --------------------------------------------------------------------------- pair kernel
class _Pair:
    """Quantities of one pair ``(u, v)`` in balls (``v`` may be a teacher unit ``e_j``)."""

    __slots__ = ("nu", "nv", "c", "sin", "theta", "uh", "vh", "d")

    def __init__(self, u: list[arb], v: list[arb] | None, vj: int | None, nu: arb, nv: arb) -> None:
        d = len(u)
        p = u[vj] if v is None else sum((a * b for a, b in zip(u, v)), arb(0))
        c = p / (nu * nv)
        if not (c > -1 and c < 1):
            raise BallError("a pair whose cos(angle) ball is not inside (-1, 1): parallel or zero neurons")
        self.nu, self.nv, self.c, self.d = nu, nv, c, d
        self.sin = (1 - c * c).sqrt()
        self.theta = c.acos()
        self.uh = [a / nu for a in u]
        self.vh = [arb(1) if t == vj else arb(0) for t in range(d)] if v is None else [a / nv for a in v]

    def f(self) -> arb:
        return self.nu * self.nv * (self.sin + (arb.pi() - self.theta) * self.c) / (2 * arb.pi())

    def grad_u(self) -> list[arb]:
        pi = arb.pi()
        a = self.nv * self.sin  # (‖v‖ sin θ / ‖u‖) u = ‖v‖ sin θ û
        b = (pi - self.theta) * self.nv
        return [(a * x + b * y) / (2 * pi) for x, y in zip(self.uh, self.vh)]

    def _n(self, x: list[arb], y: list[arb]) -> arb_mat:
        return arb_mat([[(a - self.c * b) / self.sin] for a, b in zip(x, y)])

    def h_uu(self) -> arb_mat:
        u = arb_mat([[a] for a in self.uh])
        n = self._n(self.vh, self.uh)
        m = arb_mat(self.d, self.d)
        for t in range(self.d):
            m[t, t] = arb(1)
        coef = self.nv * self.sin / (2 * arb.pi() * self.nu)
        return (m - u * u.transpose() + n * n.transpose()) * coef

    def h_uv(self) -> arb_mat:
        pi = arb.pi()
        u = arb_mat([[a] for a in self.uh])
        v = arb_mat([[a] for a in self.vh])
        m = arb_mat(self.d, self.d)
        for t in range(self.d):
            m[t, t] = pi - self.theta
        return (m + self._n(self.uh, self.vh) * v.transpose() + self._n(self.vh, self.uh) * u.transpose()) / (2 * pi)


def _norms(W: list[list[arb]]) -> list[arb]:
    out = []
    for w in W:
        n2 = sum((a * a for a in w), arb(0))
        if not n2 > 0:
            raise BallError("a neuron whose norm ball contains 0")
        out.append(n2.sqrt())
    return out


def _parallel_teacher(W: list[list[arb]], i: int, j: int, exact_identity: bool) -> bool:
    return exact_identity and i == j


def gradient_rows(W: list[list[arb]], rows: Sequence[int], *, exact_identity: bool = False) -> dict[int, list[arb]]:
    """``∇_{w_i} F`` for the neurons ``rows`` (balls)."""
    k, d = len(W), len(W[0])
    nrm = _norms(W)
    out = {}
    for i in rows:
        g = [a / 2 for a in W[i]]
        for j in range(k):
            if j != i:
                pg = _Pair(W[i], W[j], None, nrm[i], nrm[j]).grad_u()
                g = [a + b for a, b in zip(g, pg)]
        for j in range(d):
            if _parallel_teacher(W, i, j, exact_identity):
                pg = [a / 2 for a in W[i]]  # limit ∇_u f(u, u) = u/2
            else:
                pg = _Pair(W[i], None, j, nrm[i], arb(1)).grad_u()
            g = [a - b for a, b in zip(g, pg)]
        out[i] = g
    return out


def hessian_blocks(W: list[list[arb]], rows: Sequence[int], *, exact_identity: bool = False
                   ) -> dict[tuple[int, int], arb_mat]:
    """Hessian blocks ``(i, j)`` (``d x d`` ball matrices) for ``i`` in ``rows`` and every ``j``."""
    k, d = len(W), len(W[0])
    nrm = _norms(W)
    eye_half = arb_mat(d, d)
    for t in range(d):
        eye_half[t, t] = arb(1) / 2
    out: dict[tuple[int, int], arb_mat] = {}
    for i in rows:
        diag = eye_half
        for j in range(k):
            if j == i:
                continue
            pair = _Pair(W[i], W[j], None, nrm[i], nrm[j])
            diag = diag + pair.h_uu()
            out[(i, j)] = pair.h_uv()
        for j in range(d):
            if _parallel_teacher(W, i, j, exact_identity):
                continue  # limit ∂²_uu f(u, u) = 0 (F is C² there)
            diag = diag - _Pair(W[i], None, j, nrm[i], arb(1)).h_uu()
        out[(i, i)] = diag
    return out


def full_hessian(W: list[list[arb]], *, exact_identity: bool = False) -> arb_mat:
    """The ``k d x k d`` Hessian (row-major ``W``), in balls."""
    k, d = len(W), len(W[0])
    blocks = hessian_blocks(W, range(k), exact_identity=exact_identity)
    H = arb_mat(k * d, k * d)
    for (i, j), B in blocks.items():
        rows = B.tolist()
        for a in range(d):
            ra = rows[a]
            for b in range(d):
                H[i * d + a, j * d + b] = ra[b]
    return H


def loss(W: list[list[arb]], *, exact_identity: bool = False) -> arb:
    """``F(W)`` in balls."""
    k, d = len(W), len(W[0])
    nrm = _norms(W)
    pi = arb.pi()
    total = sum((n * n / 4 for n in nrm), arb(0))
    for i in range(k):
        for j in range(i + 1, k):
            total += _Pair(W[i], W[j], None, nrm[i], nrm[j]).f()
        for j in range(d):
            if _parallel_teacher(W, i, j, exact_identity):
                total -= nrm[i] * nrm[i] / 2
            else:
                total -= _Pair(W[i], None, j, nrm[i], arb(1)).f()
    return total + arb(k) / 4 + arb(k * (k - 1)) / (4 * pi)


# --------------------------------------------------------------------------- reduced system
def reduced_gradient(layout: Layout, z: Sequence[arb]) -> list[arb]:
    W = layout.matrix(list(z))
    reps = [layout.representative(m) for m in range(len(layout.unknowns))]
    g = gradient_rows(W, sorted({i for i, _ in reps}))
    return [g[i][j] for i, j in reps]


def reduced_jacobian(layout: Layout, z: Sequence[arb]) -> arb_mat:
    """``J[m, m'] = Σ_{(j,b) in orbit m'} ∂² F / ∂W[rep m] ∂W[j, b]`` (balls)."""
    W = layout.matrix(list(z))
    n = len(layout.unknowns)
    reps = [layout.representative(m) for m in range(n)]
    blocks = hessian_blocks(W, sorted({i for i, _ in reps}))
    om = layout.orbit_matrix()
    k = layout.k
    J = arb_mat(n, n)
    for m, (i, a) in enumerate(reps):
        acc = [arb(0)] * n
        for j in range(k):
            row = blocks[(i, j)].tolist()[a]
            for b in range(k):
                acc[int(om[j, b])] += row[b]
        for mm in range(n):
            J[m, mm] = acc[mm]
    return J


def krawczyk(layout: Layout, center: Sequence[arb], radius: arb, Y: np.ndarray) -> tuple[bool, str]:
    """Krawczyk's test on ``X = center + [-radius, radius]^n``; ``(passed, detail)``."""
    X = [arb(c.mid(), radius) for c in center]
    R = reduced_gradient(layout, [arb(c.mid()) for c in center])
    return krawczyk_core(R, reduced_jacobian(layout, X), Y, radius)


def krawczyk_core(R: Sequence[arb], J: arb_mat, Y: np.ndarray, radius: arb) -> tuple[bool, str]:
    """``K(X) - z = -Y R(z) + (I - Y J(X)) [-r, r]^n`` strictly inside ``[-r, r]^n``? ``R`` at the centre,
    ``J`` over the box ``X``, ``Y`` any (floating) matrix."""
    n = len(R)
    Ym = arb_mat(np.asarray(Y, dtype=float).tolist())
    I = arb_mat(n, n)
    for t in range(n):
        I[t, t] = arb(1)
    M = I - Ym * J
    YR = Ym * arb_mat([[r] for r in R])
    dX = arb_mat([[arb(0, radius)] for _ in range(n)])
    K = M * dX - YR  # K(X) - center
    worst = 0.0
    for t in range(n):
        kt = K[t, 0]
        if not (kt.abs_upper() < radius):
            return False, (f"Krawczyk inclusion fails in coordinate {t}: |K(X)_{t} - z_{t}| <= {float(kt.abs_upper()):.3e} "
                           f"is not < r = {float(radius):.3e}")
        worst = max(worst, float(kt.abs_upper() / radius))
    return True, f"K(X) - z <= {worst:.3e} r in every coordinate"


# --------------------------------------------------------------------------- inertia
def _rigorous_upper(x: arb) -> float:
    """A float ``>= every point of x`` (outward)."""
    return math.nextafter(float(x.upper()), math.inf)


def _rigorous_lower(x: arb) -> float:
    return math.nextafter(float(x.lower()), -math.inf)


def inertia(H: arb_mat, Hmid: np.ndarray) -> dict[str, Any]:
    """Congruence by the floating eigenvectors of ``Hmid`` + Gershgorin: index, nullity, clusters.

    Returns ``{"ok", "detail", "index", "nullity", "eps", "clusters": [(lo, hi, mult), ...]}``;
    ``ok`` is False (with the failed inequality in ``detail``) when ``‖QᵀQ - I‖_∞ < 1`` or the
    exclusion of 0 by every disc cannot be proved.
    """
    n = H.nrows()
    _, Q = np.linalg.eigh((Hmid + Hmid.T) / 2)
    Qa = arb_mat(Q.tolist())
    QT = Qa.transpose()
    E = QT * Qa
    El = E.tolist()
    e = 0.0
    for i in range(n):
        row = sum(((El[i][j] - (1 if i == j else 0)).abs_upper() for j in range(n)), arb(0))
        e = max(e, _rigorous_upper(row))
    if not e < 0.5:
        return {"ok": False, "detail": f"||Q^T Q - I||_inf <= {e:.3e} is not < 1/2", "index": None,
                "nullity": None, "eps": None, "clusters": []}
    A = (QT * H * Qa).tolist()
    discs = []
    for i in range(n):
        c = A[i][i]
        r = sum((A[i][j].abs_upper() for j in range(n) if j != i), arb(0))
        lo, hi = c - r, c + r
        discs.append((_rigorous_lower(lo), _rigorous_upper(hi)))
        if not (hi < 0 or lo > 0):
            return {"ok": False, "detail": f"Gershgorin disc {i} [{float(lo.lower()):.3e}, {float(hi.upper()):.3e}] "
                                           f"contains 0", "index": None, "nullity": None, "eps": None, "clusters": []}
    discs.sort()
    comps: list[list[float]] = []
    for lo, hi in discs:
        if comps and lo <= comps[-1][1]:
            comps[-1][1] = max(comps[-1][1], hi)
            comps[-1][2] += 1
        else:
            comps.append([lo, hi, 1])
    clusters = []
    for lo, hi, m in comps:  # Ostrowski: λ(H) = λ(A)/t, t in [1-e, 1+e]
        cands = [lo / (1 - e), lo / (1 + e), hi / (1 - e), hi / (1 + e)]
        clusters.append((math.nextafter(min(cands), -math.inf), math.nextafter(max(cands), math.inf), int(m)))
    index = sum(m for lo, hi, m in comps if hi < 0)
    return {"ok": True, "detail": f"{n} discs exclude 0, ||Q^T Q - I||_inf <= {e:.3e}", "index": index, "nullity": 0,
            "eps": e, "clusters": clusters}


# --------------------------------------------------------------------------- verifier
def _ball(mid: str, rad: str = "0") -> arb:
    return arb(mid) + arb(0, arb(rad))


def point_matrix(point: dict[str, Any], box: bool = True) -> tuple[list[list[arb]], Layout | None]:
    """The ball matrix ``W(X)`` of a stored point (the box, or its centre with ``box=False``)."""
    if point["kind"] == "identity":
        k = int(point["k"])
        return [[arb(1 if i == j else 0) for j in range(k)] for i in range(k)], None
    layout = Layout(tuple(int(n) for n in point["blocks"]))
    rad = arb(point["radius"]) if box else arb(0)
    z = [arb(arb(s).mid(), rad.upper()) if box else arb(arb(s).mid()) for s in point["z"]]
    return layout.matrix(z), layout


def outward_interval(F: arb) -> dict[str, str]:
    """``{"lo", "hi", "mid"}``: 25-digit decimal bounds of the ball ``F`` (outward) and its float mid."""
    return {"lo": _outward(F, False), "hi": _outward(F, True), "mid": repr(float(F.mid()))}


def _outward(x: arb, up: bool) -> str:
    """A 25-digit decimal string that is a rigorous lower (``up=False``) or upper bound of ``x``."""
    b = x.upper() if up else x.lower()
    widen = b.abs_upper() * arb("1e-22") + arb("1e-60")
    s = (b + widen if up else b - widen).str(25, radius=False)
    t = arb(s)
    if not ((t.lower() >= b) if up else (t.upper() <= b)):
        raise BallError(f"decimal bound {s} of {b} is not outward")
    return s


def check_spectrum(name: str, clusters: list[tuple[float, float, int]], claimed: list) -> list[str]:
    """Each certified cluster ``[lo, hi] x m`` inside the claimed one, same multiplicities (one failure at most)."""
    if len(claimed) != len(clusters):
        return [f"{name}: spectrum: {len(clusters)} certified clusters != {len(claimed)} claimed"]
    for t, ((lo, hi, m), c) in enumerate(zip(clusters, claimed)):
        clo, chi, cm = float(c[0]), float(c[1]), int(c[2])
        if cm != m or not (clo <= lo and hi <= chi):
            return [f"{name}: spectrum cluster {t}: certified [{lo!r}, {hi!r}] x{m} not inside claimed "
                    f"[{clo!r}, {chi!r}] x{cm}"]
    return []


def check_loss(name: str, F: arb, claimed: dict[str, str]) -> list[str]:
    """The enclosure ``F`` inside the claimed ``[lo, hi]`` (itself narrower than 1e-20, its float mid within 1e-15)."""
    lo, hi = arb(claimed["lo"]), arb(claimed["hi"])
    if not (hi - lo < arb("1e-20") and abs(arb(claimed["mid"]) - (lo + hi) / 2) < arb("1e-15")):
        return [f"{name}: claimed loss interval [{claimed['lo']}, {claimed['hi']}] is wider than "
                f"1e-20 or its float mid {claimed['mid']} is off by more than 1e-15"]
    if not (F.lower() >= lo.upper() and F.upper() <= hi.lower()):
        return [f"{name}: loss enclosure [{F.lower().str(20, radius=False)}, {F.upper().str(20, radius=False)}] "
                f"is not inside claimed [{claimed['lo']}, {claimed['hi']}]"]
    return []


def verify_point(point: dict[str, Any]) -> list[str]:
    """Recheck one stored certified point from its JSON record; returns failures (empty = verified).

    Each failure is one line naming the point and the inequality that did not hold.  (A
    ``type-A-isotypic`` record is rechecked by :func:`cases.certificates._relu_isotypic.verify_record`.)
    """
    ctx.prec = PREC
    name = point.get("label", "?")
    fails: list[str] = []
    try:
        W, layout = point_matrix(point)
        ident = point["kind"] == "identity"
        if ident:
            # W = I: the student is the teacher, so F = 0 = min F and grad F = 0 exactly (F >= 0, C^1);
            # the balls below must contain those exact values.
            k = len(W)
            g = gradient_rows(W, range(k), exact_identity=True)
            if not all(x.contains(0) for row in g.values() for x in row):
                fails.append(f"{name}: the gradient ball at W = I does not contain 0")
        else:
            Y = np.linalg.inv(np.array([[float(x.mid()) for x in row] for row in reduced_jacobian(
                layout, [arb(arb(s).mid()) for s in point["z"]]).tolist()]))
            ok, detail = krawczyk(layout, [arb(s) for s in point["z"]], arb(point["radius"]), Y)
            if not ok:
                fails.append(f"{name}: {detail}")
        H = full_hessian(W, exact_identity=ident)
        Hmid = np.array([[float(x.mid()) for x in row] for row in H.tolist()])
        inert = inertia(H, Hmid)
        if not inert["ok"]:
            fails.append(f"{name}: {inert['detail']}")
        else:
            if inert["index"] != int(point["index"]):
                fails.append(f"{name}: index: certified {inert['index']} != claimed {point['index']}")
            if inert["nullity"] != int(point["nullity"]):
                fails.append(f"{name}: nullity: certified {inert['nullity']} != claimed {point['nullity']}")
            fails += check_spectrum(name, inert["clusters"], point.get("spectrum", []))
        F = loss(W, exact_identity=ident)
        if ident:
            lo, hi = arb(point["loss"]["lo"]), arb(point["loss"]["hi"])
            if not (F.contains(0) and lo.is_zero() and hi.is_zero()):
                fails.append(f"{name}: loss at W = I: claimed [{point['loss']['lo']}, {point['loss']['hi']}] is not "
                             f"the exact 0, or the ball {F.str(5)} does not contain 0")
        else:
            fails += check_loss(name, F, point["loss"])
    except (BallError, KeyError, ValueError, TypeError, np.linalg.LinAlgError) as exc:
        fails.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    return fails
