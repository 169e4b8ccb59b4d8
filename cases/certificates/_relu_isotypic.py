r"""Type A (``ΔS_{k-1}``) certified at any ``k`` through the isotypic decomposition of its Hessian.

At a point ``W`` fixed by ``Γ = ΔS_{k-1}`` (permutations of the indices ``1..k-1``, ``n = k-1``, on rows
and columns together; Arjevani & Field, NeurIPS 2020/2021) the Hessian commutes with ``Γ``.  As a
``Γ``-representation ``R^k = 2·triv ⊕ std`` (``e_0``; ``Σ_{i≥1} e_i``; the standard ``(n-1)``-dimensional
part), so ``R^{k×k} = 5·triv ⊕ 5·std ⊕ [n-2, 2] ⊕ [n-2, 1, 1]`` (``std ⊗ std = triv ⊕ std ⊕ [n-2,2] ⊕
[n-2,1,1]``), and by Schur's lemma the Hessian is determined by

* ``T`` (5 x 5): on the fixed space, orthonormal basis ``1_{orbit}/sqrt(|orbit|)``; eigenvalues of
  multiplicity 1;
* ``S`` (5 x 5): ``S[a, b] = <c_a, H c_b>`` for the five equivariant images ``c_a`` of ``e_1 - e_2``
  (row 0, column 0, diagonal, off-diagonal row sums, off-diagonal column sums); with the Gram matrix
  ``G[a, b] = <c_a, c_b>`` the eigenvalues are those of ``G^{-1} S``, each of multiplicity ``k - 2``;
* ``λ_2 = <v_2, H v_2>/<v_2, v_2>`` with ``v_2`` the symmetric polytabloid ``{1,2} + {3,4} - {1,4} - {2,3}``
  (multiplicity ``(k-1)(k-4)/2``) and ``λ_3`` with ``v_3 = a_12 + a_23 + a_31``, ``a_ij = E_ij - E_ji``
  (multiplicity ``(k-2)(k-3)/2``).

``5 + 5(k-2) + (k-1)(k-4)/2 + (k-2)(k-3)/2 = k²``.  The index is ``neg(T) + (k-2) neg(G^{-1/2} S
G^{-1/2}) + [λ_2 < 0] (k-1)(k-4)/2 + [λ_3 < 0] (k-2)(k-3)/2`` (Sylvester on each block).  Every quantity is
a Hessian-vector product at five representative neurons (``0..4``: the isotropy makes the others
equal), written with the closed forms of :mod:`cases.certificates._relu_ball` in matrix-vector form
(``O(k²)`` ball operations per product, in C through ``arb_mat``), over the Krawczyk box of the
reduced system, so every enclosure holds at the certified critical point.  The loss is summed by
neuron (neuron 0 plus ``n`` times neuron 1).  This reaches ``k`` in the hundreds; the committed
certificates at ``k <= 20`` are checked to give the same inertia and eigenvalue clusters as the full
``k² x k²`` interval Hessian.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from flint import arb, arb_mat, ctx

from . import _relu_ball as B

#: Type A's unknowns in :class:`cases._relu_layout.Layout` ``(1, k-1)`` order: W[0,0], W[i,i], W[i,j], W[0,j], W[i,0].
UNKNOWNS = ("a", "d", "e", "b", "c")


def _col(xs: list[arb]) -> arb_mat:
    return arb_mat([[x] for x in xs])


def type_a_matrix(z: list[arb], k: int) -> list[list[arb]]:
    a, d, e, b, c = z
    return [[a if i == j == 0 else b if i == 0 else c if j == 0 else d if i == j else e for j in range(k)]
            for i in range(k)]


class Model:
    """Balls of one type-A box: ``W`` as an ``arb_mat`` with its row norms."""

    def __init__(self, z: list[arb], k: int) -> None:
        self.k = k
        rows = type_a_matrix(z, k)
        self.rows = rows
        self.W = arb_mat(rows)
        self.WT = self.W.transpose()
        self.norms = []
        for r in rows[:2]:
            n2 = sum((x * x for x in r), arb(0))
            if not n2 > 0:
                raise B.BallError("a neuron whose norm ball contains 0")
            self.norms.append(n2.sqrt())
        self.norms += [self.norms[1]] * (k - 2)  # rows 1..k-1 are permutations of each other
        self._nd: dict[int, dict[str, Any]] = {}

    def neuron(self, i: int) -> dict[str, Any]:
        """Per-pair quantities of neuron ``i`` against every student ``j != i`` and teacher ``e_t``."""
        if i in self._nd:
            return self._nd[i]
        k, pi = self.k, arb.pi()
        nu = self.norms[i]
        uh = [x / nu for x in self.rows[i]]
        p = (self.W * _col(uh)).entries()
        st = {"c": [], "s": [], "th": [], "a": []}
        for j in range(k):
            if j == i:
                for key in st:
                    st[key].append(arb(0))
                continue
            c = p[j] / self.norms[j]
            if not (c > -1 and c < 1):
                raise B.BallError("a parallel student pair in the box")
            s = (1 - c * c).sqrt()
            st["c"].append(c), st["s"].append(s), st["th"].append(c.acos())
            st["a"].append(self.norms[j] * s / (2 * pi * nu))
        te = {"c": [], "s": [], "th": [], "a": []}
        for t in range(k):
            c = uh[t]
            if not (c > -1 and c < 1):
                raise B.BallError("a neuron parallel to a teacher unit in the box")
            s = (1 - c * c).sqrt()
            te["c"].append(c), te["s"].append(s), te["th"].append(c.acos()), te["a"].append(s / (2 * pi * nu))
        out = {"nu": nu, "uh": uh, "st": st, "te": te}
        self._nd[i] = out
        return out

    # ---------------------------------------------------------------- loss and gradient rows
    def row_loss(self, i: int) -> arb:
        """``‖w_i‖²/4 + ½ Σ_{j≠i} f(w_i, w_j) - Σ_t f(w_i, e_t)`` (so ``F = Σ_i row_loss(i) + const``)."""
        nd, pi = self.neuron(i), arb.pi()
        nu, st, te = nd["nu"], nd["st"], nd["te"]
        out = nu * nu / 4
        for j in range(self.k):
            if j != i:
                out += nu * self.norms[j] * (st["s"][j] + (pi - st["th"][j]) * st["c"][j]) / (4 * pi)
            out -= nu * (te["s"][j] + (pi - te["th"][j]) * te["c"][j]) / (2 * pi)
        return out

    def loss(self) -> arb:
        k = self.k
        return self.row_loss(0) + (k - 1) * self.row_loss(1) + arb(k) / 4 + arb(k * (k - 1)) / (4 * arb.pi())

    def grad_row(self, i: int) -> list[arb]:
        nd, pi = self.neuron(i), arb.pi()
        uh, st, te = nd["uh"], nd["st"], nd["te"]
        ssum = sum((self.norms[j] * st["s"][j] for j in range(self.k) if j != i), arb(0))
        g = [pi - th if j != i else arb(0) for j, th in enumerate(st["th"])]
        Wg = (self.WT * _col(g)).entries()
        tsum = sum(te["s"], arb(0))
        return [x / 2 + (u * ssum + wg - u * tsum - (pi - th)) / (2 * pi)
                for x, u, wg, th in zip(self.rows[i], uh, Wg, te["th"])]

    # ---------------------------------------------------------------- Hessian-vector rows
    def hvp_rows(self, C: np.ndarray, rows: list[int]) -> dict[int, list[arb]]:
        """``(H C)_i`` for ``i`` in ``rows``; ``C`` a ``k x k`` array of small integers (exact)."""
        k, pi = self.k, arb.pi()
        Cm = arb_mat(C.astype(int).tolist())
        CT = Cm.transpose()
        nz = np.argwhere(C != 0)
        delta = [arb(0)] * k  # v̂_j · C_j
        for j, b in nz:
            delta[j] += self.rows[j][b] * int(C[j, b])
        delta = [dj / self.norms[j] for j, dj in enumerate(delta)]
        out = {}
        for i in rows:
            nd = self.neuron(i)
            uh, st, te = nd["uh"], nd["st"], nd["te"]
            uhc = _col(uh)
            x = [arb(int(v)) for v in C[i]]
            xm = _col(x)
            ux = sum((u * v for u, v in zip(uh, x)), arb(0))
            eps = (Cm * uhc).entries()  # û · C_j
            Wx = (self.W * xm).entries()
            # student pairs, ∂²_uu: A (x - û ux) + Wᵀ β - û γ
            A, gam = arb(0), arb(0)
            beta = [arb(0)] * k
            g, h1, h2 = [arb(0)] * k, [arb(0)] * k, [arb(0)] * k
            dsum, esum = arb(0), arb(0)
            for j in range(k):
                if j == i:
                    continue
                a, c, s, nv = st["a"][j], st["c"][j], st["s"][j], self.norms[j]
                t = (Wx[j] / nv - c * ux) / s
                A += a
                beta[j] = a * t / (s * nv)
                gam += a * t * c / s
                # ∂²_uv with x_j = C_j
                g[j] = pi - st["th"][j]
                h1[j] = c * delta[j] / (s * nv)
                h2[j] = eps[j] / (s * nv)
                dsum += delta[j] / s
                esum += c * eps[j] / s
            Wb = (self.WT * _col([b1 + (h2j - h1j) / (2 * pi) for b1, h1j, h2j in zip(beta, h1, h2)])).entries()
            Cg = (CT * _col(g)).entries()
            # teacher pairs, ∂²_uu: A_T (x - û ux) + (a_t τ_t / s_t)_t - û γ_T
            AT, gT = arb(0), arb(0)
            tv = []
            for t_ in range(k):
                a, c, s = te["a"][t_], te["c"][t_], te["s"][t_]
                tau = (x[t_] - c * ux) / s
                AT += a
                tv.append(a * tau / s)
                gT += a * tau * c / s
            res = []
            for b in range(k):
                base = x[b] - uh[b] * ux
                v = x[b] / 2 + A * base - uh[b] * gam + Wb[b] + (Cg[b] + uh[b] * (dsum - esum)) / (2 * pi)
                v -= AT * base + tv[b] - uh[b] * gT
                res.append(v)
            out[i] = res
        return out


# --------------------------------------------------------------------------- vectors
def orbit_vectors(k: int) -> list[np.ndarray]:
    """Indicators of the five orbits (unknown order a, d, e, b, c)."""
    n = np.zeros((5, k, k), dtype=int)
    n[0, 0, 0] = 1
    n[1, range(1, k), range(1, k)] = 1
    n[2, 1:, 1:] = 1
    n[2, range(1, k), range(1, k)] = 0
    n[3, 0, 1:] = 1
    n[4, 1:, 0] = 1
    return list(n)


def std_vectors(k: int) -> list[np.ndarray]:
    """Five equivariant images of ``e_1 - e_2`` (std of S_{k-1} on indices 1..k-1)."""
    x = np.zeros(k, dtype=int)
    x[1], x[2] = 1, -1
    out = [np.zeros((k, k), dtype=int) for _ in range(5)]
    out[0][0, :] = x
    out[1][:, 0] = x
    out[2][np.arange(k), np.arange(k)] = x
    off = np.ones((k, k), dtype=int)
    off[0, :] = off[:, 0] = 0
    np.fill_diagonal(off, 0)
    out[3] = x[:, None] * off
    out[4] = x[None, :] * off
    return out


def young_vectors(k: int) -> tuple[np.ndarray, np.ndarray]:
    """``v_2`` in ``[k-3, 2]`` (symmetric polytabloid) and ``v_3`` in ``[k-3, 1, 1]`` (curl on 1, 2, 3)."""
    v2 = np.zeros((k, k), dtype=int)
    for (i, j), sgn in (((1, 2), 1), ((3, 4), 1), ((1, 4), -1), ((2, 3), -1)):
        v2[i, j] += sgn
        v2[j, i] += sgn
    v3 = np.zeros((k, k), dtype=int)
    for i, j in ((1, 2), (2, 3), (3, 1)):
        v3[i, j] += 1
        v3[j, i] -= 1
    return v2, v3


def _pair(u: np.ndarray, Hv: dict[int, list[arb]], weights: dict[int, int]) -> arb:
    """``<u, H v>`` from the rows in ``weights`` (row -> how many rows it stands for)."""
    return sum((sum((int(u[i, b]) * Hv[i][b] for b in np.nonzero(u[i])[0]), arb(0)) * w
                for i, w in weights.items()), arb(0))


def blocks(model: Model) -> dict[str, Any]:
    """``T``, ``S``, ``G``, ``λ_2``, ``λ_3`` over the model's box."""
    k = model.k
    n = k - 1
    orb = orbit_vectors(k)
    sizes = [int(o.sum()) for o in orb]
    Hu = [model.hvp_rows(o, [0, 1]) for o in orb]
    T = arb_mat(5, 5)
    for a in range(5):
        for b in range(5):
            T[a, b] = _pair(orb[a], Hu[b], {0: 1, 1: n}) / (arb(sizes[a]) * sizes[b]).sqrt()
    cs = std_vectors(k)
    Hc = [model.hvp_rows(c, [0, 1, 2, 3]) for c in cs]
    S, G = arb_mat(5, 5), arb_mat(5, 5)
    for a in range(5):
        for b in range(5):
            S[a, b] = _pair(cs[a], Hc[b], {0: 1, 1: 1, 2: 1, 3: n - 2})
            G[a, b] = arb(int(np.sum(cs[a] * cs[b])))
    v2, v3 = young_vectors(k)
    l2 = _pair(v2, model.hvp_rows(v2, [1, 2, 3, 4]), {1: 1, 2: 1, 3: 1, 4: 1}) / int(np.sum(v2 * v2))
    l3 = _pair(v3, model.hvp_rows(v3, [1, 2, 3]), {1: 1, 2: 1, 3: 1}) / int(np.sum(v3 * v3))
    return {"T": T, "S": S, "G": G, "l2": l2, "l3": l3}


def _mid(M: arb_mat) -> np.ndarray:
    return np.array([[float(x.mid()) for x in row] for row in M.tolist()])


def _sym_congruence(S: arb_mat, G: arb_mat) -> arb_mat:
    """``L^{-1} S L^{-T}`` with ``L`` the exact-input ball Cholesky factor of ``G`` (``G = L Lᵀ``)."""
    n = G.nrows()
    L = arb_mat(n, n)
    for j in range(n):
        d = G[j, j] - sum((L[j, t] ** 2 for t in range(j)), arb(0))
        if not d > 0:
            raise B.BallError("Gram matrix of the standard copies is not positive definite")
        L[j, j] = d.sqrt()
        for i in range(j + 1, n):
            L[i, j] = (G[i, j] - sum((L[i, t] * L[j, t] for t in range(j)), arb(0))) / L[j, j]
    Li = L.inv()
    return Li * S * Li.transpose()


def inertia_from_blocks(bl: dict[str, Any], k: int) -> dict[str, Any]:
    """Index, nullity and eigenvalue clusters with multiplicities from the isotypic blocks."""
    Tin = B.inertia(bl["T"], _mid(bl["T"]))
    M = _sym_congruence(bl["S"], bl["G"])
    Sin = B.inertia(M, _mid(M))
    fails = [f"{name}: {r['detail']}" for name, r in (("trivial block", Tin), ("standard block", Sin)) if not r["ok"]]
    m2, m3 = (k - 1) * (k - 4) // 2, (k - 2) * (k - 3) // 2
    for name, lam in (("[k-3,2] eigenvalue", bl["l2"]), ("[k-3,1,1] eigenvalue", bl["l3"])):
        if not (lam > 0 or lam < 0):
            fails.append(f"{name} ball {lam.str(5)} contains 0")
    if fails:
        return {"ok": False, "detail": "; ".join(fails)}
    clusters = [(lo, hi, m) for lo, hi, m in Tin["clusters"]]
    clusters += [(lo, hi, m * (k - 2)) for lo, hi, m in Sin["clusters"]]
    for lam, m in ((bl["l2"], m2), (bl["l3"], m3)):
        if m:
            clusters.append((B._rigorous_lower(lam), B._rigorous_upper(lam), m))
    index = Tin["index"] + (k - 2) * Sin["index"] + (m2 if bl["l2"] < 0 else 0) + (m3 if bl["l3"] < 0 else 0)
    return {"ok": True, "index": index, "nullity": 0, "clusters": sorted(clusters),
            "detail": f"isotypic blocks T (5x5), S (5x5, x{k - 2}), λ2 (x{m2}), λ3 (x{m3}): every eigenvalue excludes 0"}


def reduced(model: Model) -> tuple[list[arb], arb_mat]:
    """Reduced gradient at the representative entries and reduced Jacobian (a, d, e, b, c order)."""
    reps = [(0, 0), (1, 1), (1, 2), (0, 1), (1, 0)]
    g = {i: model.grad_row(i) for i in (0, 1)}
    R = [g[i][j] for i, j in reps]
    J = arb_mat(5, 5)
    for b, o in enumerate(orbit_vectors(model.k)):
        Ho = model.hvp_rows(o, [0, 1])
        for a, (i, j) in enumerate(reps):
            J[a, b] = Ho[i][j]
    return R, J


def certify_type_a(z_mid: list[str], radius: str, k: int) -> dict[str, Any]:
    """Krawczyk + isotypic inertia + loss for type A at ``k`` from the stored centre and radius."""
    ctx.prec = B.PREC
    zc = [arb(arb(s).mid()) for s in z_mid]
    rad = arb(radius)
    X = [arb(c.mid(), rad) for c in zc]
    R, _ = reduced(Model(zc, k))
    box = Model(X, k)
    _, J = reduced(box)
    Jc = reduced(Model(zc, k))[1]
    Y = np.linalg.inv(_mid(Jc))
    ok, detail = B.krawczyk_core(R, J, Y, rad)
    out: dict[str, Any] = {"krawczyk_ok": ok, "krawczyk": detail}
    if not ok:
        return out
    inert = inertia_from_blocks(blocks(box), k)
    out.update(inertia=inert, loss=box.loss())
    return out


def refine(z: list[float], k: int, iters: int = 10) -> list[arb]:
    """Newton on the type-A reduced system at ``B.PREC`` bits (ball midpoints), from floats ``z``."""
    ctx.prec = B.PREC
    zz = [arb(float(x)) for x in z]
    for _ in range(iters):
        R, J = reduced(Model(zz, k))
        Jf = arb_mat([[arb(x.mid()) for x in row] for row in J.tolist()])
        step = Jf.solve(_col([arb(-x.mid()) for x in R]))
        zz = [arb((a + step[t, 0]).mid()) for t, a in enumerate(zz)]
    return zz


def continue_type_a(z: list[float], k_from: int, k_to: int, step: int) -> list[float]:
    """Float continuation of type A in ``k`` (each ``k`` solved by Newton at 53-bit-ish ball midpoints)."""
    k = k_from
    zf = list(z)
    while k != k_to:
        k = min(k + step, k_to) if k_to > k else max(k - step, k_to)
        zf = [float(x.mid()) for x in refine(zf, k, iters=6)]
    return zf


def loss_rate(k: int, loss: float) -> float:
    """``k · loss`` (Arjevani & Field: type A's loss decays like a constant over k)."""
    return k * loss if math.isfinite(loss) else math.nan


# --------------------------------------------------------------------------- stored records
def record(k: int, z: list[arb], radius: str, seconds: float | None = None) -> dict[str, Any]:
    """The JSON record of type A at ``k`` certified by the isotypic route (raises AssertionError on failure)."""
    res = certify_type_a([x.mid().str(45, radius=False) for x in z], radius, k)
    assert res["krawczyk_ok"], f"typeA k={k}: {res['krawczyk']}"
    inert = res["inertia"]
    assert inert["ok"], f"typeA k={k}: {inert['detail']}"
    rec = {"label": "typeA", "family": f"Δ(S_1 x S_{k - 1})", "kind": "type-A-isotypic", "k": k,
           "blocks": [1, k - 1], "isotropy": f"ΔS_{k - 1}", "unknowns": list(UNKNOWNS),
           "z": [x.mid().str(45, radius=False) for x in z], "radius": radius, "krawczyk": res["krawczyk"],
           "loss": B.outward_interval(res["loss"]), "index": inert["index"], "nullity": inert["nullity"],
           "lambda_min": min(min(abs(lo), abs(hi)) for lo, hi, _ in inert["clusters"]),
           "spectrum": [[repr(lo), repr(hi), m] for lo, hi, m in inert["clusters"]],
           "inertia_proof": inert["detail"]}
    if seconds is not None:
        rec["seconds"] = round(seconds, 2)
    return rec


def verify_record(point: dict[str, Any]) -> list[str]:
    """Recheck a ``type-A-isotypic`` record from its JSON alone (failures, one line each)."""
    name = f"{point.get('label', '?')} (k={point.get('k')}, isotypic)"
    k = int(point["k"])
    if k < 6:
        return [f"{name}: the isotypic route needs k >= 6"]
    res = certify_type_a(point["z"], point["radius"], k)
    if not res["krawczyk_ok"]:
        return [f"{name}: {res['krawczyk']}"]
    inert = res["inertia"]
    if not inert["ok"]:
        return [f"{name}: {inert['detail']}"]
    fails = []
    if inert["index"] != int(point["index"]):
        fails.append(f"{name}: index: certified {inert['index']} != claimed {point['index']}")
    if inert["nullity"] != int(point["nullity"]):
        fails.append(f"{name}: nullity: certified {inert['nullity']} != claimed {point['nullity']}")
    fails += B.check_spectrum(name, inert["clusters"], point.get("spectrum", []))
    fails += B.check_loss(name, res["loss"], point["loss"])
    return fails
