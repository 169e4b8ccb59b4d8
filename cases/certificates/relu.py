r"""Generator and registry certificate of the ReLU teacher-student ground truth (issue 29).

``python -m cases.certificates.relu --k K`` rebuilds ``relu_points/k<K>.json``:

1. *Search* (floating point, JAX): damped Newton on the reduced gradient ``R(z) = Pᵀ ∇F(P z)`` of each
   fixed space ``Δ(S_{n_1} × ... × S_{n_m})`` (:class:`cases.certificates._relu_ball.Layout`) from
   seeded random starts, plus the type-A point (Safran & Shamir 2018; Arjevani & Field 2020) continued
   in ``k`` from Safran's published ``k = 7`` point; for ``k <= 6`` also damped Newton on ``∇F`` in all
   ``k²`` dimensions from Xavier starts (``full-space#n``: no isotropy is assumed, the Krawczyk test is
   then the full-space one).  Points with a zero-norm or (nearly) parallel pair are dropped (the loss is
   not smooth there); duplicates modulo ``W -> P W Q`` are merged.
2. *Refinement*: Newton in ball arithmetic at 192 bits on the reduced system (midpoints only).
3. *Certificate* (:mod:`cases.certificates._relu_ball`): Krawczyk's test on the box of radius
   ``RADIUS`` around the refined point, the interval Hessian over that box congruence-transformed and
   bounded by Gershgorin discs (index, nullity, eigenvalue clusters with multiplicities), and the loss
   enclosure over the box.  A point whose certificate fails is not written.

``python -m cases.certificates.relu --isotypic --k K`` (``K > 20``) writes type A alone, continued in
``k`` from the committed ``k = 20`` point and certified through the isotypic decomposition of its
Hessian (:mod:`cases.certificates._relu_isotypic`).

The global minimum ``W = I`` is written by hand: loss 0 exactly (the student is the teacher), gradient
0, and the Hessian there (``F`` is only C² across parallel pairs; the Hessian exists and equals the
Gram matrix ``E[1{x_i>0}1{x_j>0} x xᵀ]``) certified positive definite the same way.

``certify(case)`` (``critbench``'s certificate registry) re-verifies every committed point of the
case's ``k`` from the JSON alone with :func:`verify_any`, and checks
that the case's ground truth lists exactly those points, matches each representative and its
symmetry images, and does not match a perturbed (non-critical) point.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from flint import arb, arb_mat, ctx

from cases._core import Case

from . import _relu_ball as B
from ._base import Certificate, Check

#: Half-width of the certified box in the fixed space.
RADIUS = "1e-30"
#: Safran's published type-A point at k = 7, (a, b, c, d, e): W[0,0], W[0,1:], W[1:,0], diagonal, off-diagonal.
SAFRAN_K7 = (-0.6327039049, 0.1859910463, 0.2616910758, 0.9969227988, -0.0350801559)
OUT_DIR = Path(__file__).resolve().parent / "relu_points"
#: Full-space Newton starts for k <= 6 (every entry an unknown; the verifier's cost grows like k^5).
FULL_STARTS = 60


def layouts(k: int) -> list[tuple[int, ...]]:
    """The searched fixed spaces: ΔS_k, ΔS_{k-1} (type A), Δ(S_p × S_{k-p}) for p = 2..6, p <= k - p."""
    out = [(k,), (1, k - 1)]
    out += [(p, k - p) for p in range(2, 7) if p <= k - p]
    return out


def family_name(sizes: tuple[int, ...]) -> str:
    return "ΔS_%d" % sizes[0] if len(sizes) == 1 else "Δ(" + " x ".join(f"S_{n}" for n in sizes) + ")"


# --------------------------------------------------------------------------- float search (JAX)
def _reduced_fns(k: int, layout: B.Layout):
    import jax
    import jax.numpy as jnp

    from cases.relu import make_relu, relu_loss

    data = make_relu(k).data
    om = layout.orbit_matrix()
    n = len(layout.unknowns)
    P = np.zeros((k * k, n))
    P[np.arange(k * k), om.ravel()] = 1.0
    Pj = jnp.asarray(P)

    def R(z):
        return Pj.T @ jax.grad(relu_loss)(Pj @ z, data)

    return jax.jit(R), jax.jit(jax.jacfwd(R)), P


def _admissible(W: np.ndarray) -> bool:
    """No zero neuron and no pair (student-student or student-teacher) within 1e-4 of parallel."""
    n = np.linalg.norm(W, axis=1)
    if np.any(n < 1e-6):
        return False
    U = W / n[:, None]
    C = np.abs(U @ U.T)
    np.fill_diagonal(C, 0)
    return bool(np.max(C) < 1 - 1e-8 and np.max(np.abs(U)) < 1 - 1e-8)


def newton_float(R, J, z: np.ndarray, iters: int = 80) -> np.ndarray | None:
    for _ in range(iters):
        r = np.asarray(R(z))
        if not np.all(np.isfinite(r)):
            return None
        if np.linalg.norm(r) < 1e-13:
            return z
        Jz = np.asarray(J(z))
        try:
            step = np.linalg.lstsq(Jz, -r, rcond=None)[0]
        except np.linalg.LinAlgError:
            return None
        t = 1.0
        nr = np.linalg.norm(r)
        while t > 1e-4:
            zn = z + t * step
            rn = np.asarray(R(zn))
            if np.all(np.isfinite(rn)) and np.linalg.norm(rn) < (1 - 1e-4 * t) * nr:
                break
            t /= 2
        z = z + t * step
    r = np.asarray(R(z))
    return z if np.all(np.isfinite(r)) and np.linalg.norm(r) < 1e-11 else None


def search(k: int, sizes: tuple[int, ...], starts: int, seed: int = 0,
           extra: list[np.ndarray] = ()) -> list[np.ndarray]:
    """Distinct admissible zeros of the reduced gradient of one fixed space (floating point)."""
    layout = B.Layout(sizes)
    R, J, P = _reduced_fns(k, layout)
    rng = np.random.default_rng(seed)
    n = len(layout.unknowns)
    found: list[np.ndarray] = []
    cands = list(extra) + [rng.normal(0, 0.7, size=n) for _ in range(starts)]
    for z0 in cands:
        z = newton_float(R, J, np.asarray(z0, dtype=float))
        if z is None or not _admissible((P @ z).reshape(k, k)):
            continue
        if all(np.linalg.norm(z - f) > 1e-7 for f in found):
            found.append(z)
    return found


def search_full(k: int, starts: int, seed: int = 0) -> list[np.ndarray]:
    """Critical points in all ``k²`` dimensions: damped Newton (least squares) on ``∇F`` from Xavier
    starts (the case's initial distribution, another seed stream).  Isotropy is not assumed; a point
    is written with the trivial layout ``(1,) * k`` (every entry an unknown, so its Krawczyk test is
    the full-space one)."""
    import jax

    from cases.relu import make_relu, relu_loss

    case = make_relu(k)
    data = case.data
    R = jax.jit(lambda t: jax.grad(relu_loss)(t, data))
    J = jax.jit(lambda t: jax.hessian(relu_loss)(t, data))
    rng = np.random.default_rng(10_000 + seed)
    found = []
    for _ in range(starts):
        th = newton_float(R, J, case.sample_init(rng, 1)[0], iters=120)
        if th is not None and _admissible(th.reshape(k, k)):
            found.append(th)
    return found


# --------------------------------------------------------------------------- refinement and certificate
def refine(layout: B.Layout, z: np.ndarray, iters: int = 8) -> list[arb]:
    """Newton at ``B.PREC`` bits (ball midpoints) on the reduced system."""
    ctx.prec = B.PREC
    zz = [arb(float(x)) for x in z]
    for _ in range(iters):
        r = B.reduced_gradient(layout, zz)
        Jm = B.reduced_jacobian(layout, zz)
        Jf = arb_mat([[arb(x.mid()) for x in row] for row in Jm.tolist()])
        step = Jf.solve(arb_mat([[arb(-x.mid())] for x in r]))
        zz = [arb((a + step[t, 0]).mid()) for t, a in enumerate(zz)]
    return zz


def certify_point(label: str, family: str, sizes: tuple[int, ...] | None, z: list[arb] | None, k: int,
                  radius: str = RADIUS) -> dict[str, Any]:
    """Certify one point and return its JSON record (raises AssertionError if a step fails)."""
    ctx.prec = B.PREC
    if sizes is None:
        rec: dict[str, Any] = {"label": label, "family": family, "kind": "identity", "k": k,
                               "isotropy": f"Δ(S_{k}) x S_{k} (the diagonal of P W Q = W)"}
    else:
        rec = {"label": label, "family": family, "kind": "fixed-space", "k": k, "blocks": list(sizes),
               "isotropy": family, "unknowns": ["".join(map(str, u)) for u in B.Layout(sizes).unknowns],
               "z": [x.mid().str(45, radius=False) for x in z], "radius": radius}
    W, layout = B.point_matrix(rec)
    ident = sizes is None
    if not ident:
        zc = [arb(arb(s).mid()) for s in rec["z"]]
        Jm = B.reduced_jacobian(layout, zc)
        Y = np.linalg.inv(np.array([[float(x.mid()) for x in row] for row in Jm.tolist()]))
        ok, detail = B.krawczyk(layout, [arb(s) for s in rec["z"]], arb(radius), Y)
        assert ok, f"{label}: {detail}"
        rec["krawczyk"] = detail
    H = B.full_hessian(W, exact_identity=ident)
    Hmid = np.array([[float(x.mid()) for x in row] for row in H.tolist()])
    inert = B.inertia(H, Hmid)
    assert inert["ok"], f"{label}: {inert['detail']}"
    F = B.loss(W, exact_identity=ident)
    if ident:
        assert F.contains(0)
        rec["loss"] = {"lo": "0", "hi": "0", "mid": "0"}
    else:
        rec["loss"] = B.outward_interval(F)
    rec["index"] = inert["index"]
    rec["nullity"] = inert["nullity"]
    rec["lambda_min"] = min(min(abs(lo), abs(hi)) for lo, hi, _ in inert["clusters"])
    rec["spectrum"] = [[repr(lo), repr(hi), m] for lo, hi, m in inert["clusters"]]
    rec["inertia_proof"] = inert["detail"]
    return rec


def type_a_seed(k: int) -> np.ndarray:
    """Type A at ``k`` by continuation in ``k`` from Safran's ``k = 7`` point (layout order d0, d1, o1, b01, b10)."""
    a, b, c, d, e = SAFRAN_K7
    z = np.array([a, d, e, b, c])
    step = 1 if k >= 7 else -1
    for kk in range(7, k + step, step):
        R, J, _ = _reduced_fns(kk, B.Layout((1, kk - 1)))
        z = newton_float(R, J, z)
        if z is None:
            raise RuntimeError(f"type-A continuation failed at k = {kk}")
    return z


def generate(k: int, starts: int = 40, seed: int = 0, log=print, full_starts: int = 0) -> dict[str, Any]:
    """Search, refine and certify every point for ``k``; returns the file's JSON object."""
    from cases.relu import symmetry_distance

    t0 = time.perf_counter()
    points = [certify_point("global-min", "W = I", None, None, k)]
    log(f"k={k}: global-min index {points[0]['index']} ({time.perf_counter() - t0:.1f} s)")
    za = type_a_seed(k)
    reps: list[np.ndarray] = [np.eye(k)]

    def add(fam: str, sizes: tuple[int, ...], z: np.ndarray, label: str | None = None) -> None:
        """Refine and certify ``z`` (unknowns of ``sizes``) unless it is a symmetry image of a kept point."""
        layout = B.Layout(sizes)
        Wf = np.array(layout.matrix(list(z)))
        if any(symmetry_distance(Wf, r) < 1e-6 for r in reps):
            return
        t1 = time.perf_counter()
        label = label or f"{fam}#{sum(1 for p in points if p['family'] == fam) + 1}"
        try:
            rec = certify_point(label, fam, sizes, refine(layout, z), k)
        except (AssertionError, B.BallError) as exc:
            log(f"  {fam}: not certified: {exc}")
            return
        rec["seconds"] = round(time.perf_counter() - t1, 2)
        reps.append(Wf)
        points.append(rec)
        log(f"  {label}: loss {float(rec['loss']['mid']):.12f} index {rec['index']} nullity {rec['nullity']} "
            f"lambda_min {rec['lambda_min']:.3e} ({rec['seconds']} s)")

    for sizes in layouts(k):
        for z in search(k, sizes, starts, seed, [za] if sizes == (1, k - 1) else []):
            is_a = sizes == (1, k - 1) and np.linalg.norm(z - za) < 1e-6
            add(family_name(sizes), sizes, z, "typeA" if is_a else None)
    if full_starts:
        layout = B.Layout((1,) * k)
        for th in search_full(k, full_starts, seed):
            W = th.reshape(k, k)
            add("full-space", (1,) * k,
                np.array([W[layout.representative(m)] for m in range(len(layout.unknowns))]))
    return {"case": "relu-teacher-student", "k": k, "d": k, "generator": "python -m cases.certificates.relu",
            "search": {"families": [family_name(s) for s in layouts(k)], "random_starts": starts, "seed": seed,
                       "full_space_starts": full_starts},
            "seconds": round(time.perf_counter() - t0, 1), "points": points}


def generate_isotypic(k: int, log=print) -> dict[str, Any]:
    """Type A alone at ``k > 20`` (:mod:`cases.certificates._relu_isotypic`): continuation in ``k`` from the
    committed ``k = 20`` type-A point (floating Newton on the 5 unknowns, steps of at most 100), Newton at
    ``B.PREC`` bits, then Krawczyk, the isotypic inertia and the loss over the box."""
    from cases.relu import load_certificates

    from . import _relu_isotypic as I

    t0 = time.perf_counter()
    start = {p["label"]: p for p in load_certificates(20)["points"]}["typeA"]
    z = [float(x) for x in start["z"]]
    k0 = 20
    while k0 < k:
        k1 = min(k, k0 * 2, k0 + 100)
        z = I.continue_type_a(z, k0, k1, k1 - k0)
        k0 = k1
    zz = I.refine(z, k)
    rec = I.record(k, zz, RADIUS, seconds=time.perf_counter() - t0)
    log(f"k={k}: typeA (isotypic) loss {float(rec['loss']['mid']):.15f} index {rec['index']} "
        f"lambda_min {rec['lambda_min']:.3e} ({rec['seconds']} s)")
    return {"case": "relu-teacher-student", "k": k, "d": k, "generator": "python -m cases.certificates.relu --isotypic",
            "search": {"families": ["Δ(S_1 x S_%d) (type A, continued from k = 20)" % (k - 1)]},
            "seconds": rec["seconds"], "points": [rec]}


def write(k: int, obj: dict[str, Any]) -> Path:
    OUT_DIR.mkdir(exist_ok=True)
    path = OUT_DIR / f"k{k}.json"
    lines = ["{"]
    head = {key: v for key, v in obj.items() if key != "points"}
    for key, v in head.items():
        lines.append(f" {json.dumps(key)}: {json.dumps(v, ensure_ascii=False)},")
    lines.append(' "points": [')
    pts = [json.dumps(p, ensure_ascii=False, separators=(",", ":")) for p in obj["points"]]
    lines.append(",\n".join("  " + p for p in pts))
    lines.append(" ]")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------- verification
def verify_any(point: dict[str, Any]) -> list[str]:
    """The failures of one stored point: :func:`cases.certificates._relu_isotypic.verify_record` for a
    ``type-A-isotypic`` record, else :func:`cases.certificates._relu_ball.verify_point`."""
    if point.get("kind") == "type-A-isotypic":
        from ._relu_isotypic import verify_record

        return verify_record(point)
    return B.verify_point(point)


def verify_file(obj: dict[str, Any]) -> list[str]:
    """Every failure (one line each) of the stored points of one certificate file."""
    out = []
    for p in obj["points"]:
        out.extend(verify_any(p))
    return out


def certify(case: Case, *, stored: dict[str, Any] | None = None) -> Certificate:
    """Registry certificate: re-verify the committed points of ``case.params['k']`` (or the certificate
    object ``stored``, e.g. a file given to ``critbench cases ... --verify --certificate``) from the JSON
    alone, then the case's matcher against them."""
    from cases.relu import load_certificates

    k, d = int(case.params["k"]), int(case.params["d"])
    obj = stored if stored is not None else load_certificates(k)
    checks: list[Check] = []
    if case.params.get("n"):
        checks.append(Check(f"sampled-data variant (n={case.params['n']})", False,
                            "no certificate: its critical points are not the population loss's"))
        return Certificate(case.name, dict(case.params), "arb-ball", tuple(checks))
    if obj is None or d != k:
        checks.append(Check(f"certificate file for k={k}, d={d}", False, "no committed certificate"))
        return Certificate(case.name, dict(case.params), "arb-ball", tuple(checks))
    t0 = time.perf_counter()
    for p in obj["points"]:
        fails = verify_any(p)
        checks.append(Check(f"{p['label']}: Krawczyk + interval inertia + loss", not fails,
                            fails[0] + (f" (and {len(fails) - 1} more)" if len(fails) > 1 else "") if fails else ""))
    gt = case.ground_truth
    checks.append(Check("ground truth lists the certified points",
                        sorted(c.label for c in gt.classes) == sorted(p["label"] for p in obj["points"])))
    rng = np.random.default_rng(0)
    for c in gt.classes:
        W = np.asarray(c.point).reshape(k, k)
        P, Q = np.eye(k)[rng.permutation(k)], np.eye(k)[rng.permutation(k)]
        checks.append(Check(f"{c.label}: representative and a symmetry image are matched",
                            gt.match(W.ravel()) is c and gt.match((P @ W @ Q).ravel()) is c))
        far = W + 0.05 * rng.normal(size=W.shape)
        checks.append(Check(f"{c.label}: a perturbed point is not matched", gt.match(far.ravel()) is None))
    checks.append(Check("verification time", True, f"{time.perf_counter() - t0:.1f} s"))
    return Certificate(case.name, dict(case.params), "arb-ball", tuple(checks))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m cases.certificates.relu",
                                 description="rebuild the ReLU teacher-student certificates (ball arithmetic)")
    ap.add_argument("--k", type=int, action="append", required=True)
    ap.add_argument("--starts", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--full-starts", type=int, default=None,
                    help="Newton starts of the full-space search (default: FULL_STARTS for k <= 6, else 0)")
    ap.add_argument("--isotypic", action="store_true",
                    help="type A alone through the isotypic decomposition (for k > 20, e.g. --k 100 --k 1000)")
    args = ap.parse_args(argv)
    if args.isotypic:
        for k in args.k:
            if k <= 20:
                ap.error("--isotypic is for k > 20 (k <= 20 has the full certificates)")
            obj = generate_isotypic(k)
            print(f"wrote {write(k, obj)} ({obj['seconds']} s)")
        return 0
    for k in args.k:
        full = args.full_starts if args.full_starts is not None else (FULL_STARTS if k <= 6 else 0)
        obj = generate(k, args.starts, args.seed, full_starts=full)
        print(f"wrote {write(k, obj)} ({obj['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
