r"""Safran & Shamir (ICML 2018) and Arjevani & Field (NeurIPS 2020/2021) on the ReLU teacher-student loss.

Claims set against critbench's certified ground truth (``relu-teacher-student``, issue 29):

(a) Safran & Shamir: spurious local minima exist for ``6 ≤ k ≤ 20`` (a computer-assisted proof; none
    were found below ``k = 6``).  Ours: the type-A point (isotropy ``ΔS_{k-1}``) is certified in ball
    arithmetic at every ``k = 6..20`` (Krawczyk on its 5-unknown reduced system, inertia of the interval
    Hessian through its ``S_{k-1}`` isotypic blocks, :mod:`cases.certificates._relu_isotypic`), continued
    in ``k`` from the committed ``k = 20`` certificate; its index at ``k = 4, 5`` is read from the committed
    full certificates (:mod:`cases.certificates.relu`).
(b) Arjevani & Field: type A's loss decays like ``a/k`` with ``a ≈ 0.3``.  Ours: ``k · F`` from the
    certified loss intervals at every ``k`` above, and from the committed isotypic certificates at
    ``k = 50 … 1000``; the row is reproduced when ``k · F`` is within 5% of 0.3 at the largest certified ``k``.
(c) Safran & Shamir's gradient-descent experiments (fraction of runs from Xavier initialisation ending in
    a spurious minimum, by ``k``; its drop with ``k + 1`` or more student units) are *not* rerun here: their
    table's numbers were not available to the session that wrote this page; the rows say so.

Nothing here runs a solver under test; every number is an interval enclosure.
"""

from __future__ import annotations

from typing import Any

from . import _page as P
from ._registry import Context, Experiment
from ._runs import command

NAME = "safran-shamir"
#: Arjevani & Field's constant in ``F(type A) ≈ a/k`` and the agreement band of row (b).
RATE_A, RATE_RTOL = 0.3, 0.05


def _type_a_all_k(ks: range) -> dict[int, dict[str, Any]]:
    """Type A certified at every ``k`` in ``ks`` (descending continuation from the committed ``k = 20``)."""
    from cases.certificates import _relu_isotypic as I
    from cases.certificates.relu import RADIUS
    from cases.relu import load_certificates

    start = {p["label"]: p for p in load_certificates(20)["points"]}["typeA"]
    z = [float(x) for x in start["z"]]
    out: dict[int, dict[str, Any]] = {}
    for k in sorted(ks, reverse=True):
        zz = I.refine(z, k)
        res = I.certify_type_a([x.mid().str(45, radius=False) for x in zz], RADIUS, k)
        inert = res.get("inertia", {})
        F = res.get("loss")
        out[k] = {"krawczyk": res["krawczyk_ok"], "ok": bool(res["krawczyk_ok"] and inert.get("ok")),
                  "index": inert.get("index"), "loss_lo": float(F.lower()) if F is not None else None,
                  "loss_hi": float(F.upper()) if F is not None else None,
                  "lambda_min": min((min(abs(lo), abs(hi)) for lo, hi, _ in inert.get("clusters", [])),
                                    default=None),
                  "z": [float(x.mid()) for x in zz]}
        z = [float(x.mid()) for x in zz]
    return out


def run(ctx: Context) -> P.Page:
    from cases.relu import CERTIFIED_K, ISOTYPIC_K, load_certificates

    page = P.Page(NAME, "Spurious minima of the two-layer ReLU teacher-student loss (Safran & Shamir; Arjevani & Field)",
                  "Safran & Shamir, ICML 2018; Arjevani & Field, NeurIPS 2020/2021", command(NAME, ctx))
    cert = _type_a_all_k(range(6, 21))
    small = {k: {p["label"]: p for p in load_certificates(k)["points"]}["typeA"] for k in CERTIFIED_K if k < 6}
    minima = [k for k in range(6, 21) if cert[k]["ok"] and cert[k]["index"] == 0]
    saddles = {k: p["index"] for k, p in small.items() if p["index"] > 0}
    ok_a = len(minima) == 15 and len(saddles) == len(small)
    rate = {k: k * (v["loss_lo"] + v["loss_hi"]) / 2 for k, v in cert.items() if v["ok"]}
    for k in ISOTYPIC_K:
        obj = load_certificates(k)
        if obj:
            p = obj["points"][0]
            rate[k] = k * float(p["loss"]["mid"])
    kmax = max(rate)
    ok_b = abs(rate[kmax] - RATE_A) <= RATE_RTOL * RATE_A
    page.numbers = {"type_a_minimum_k": minima, "type_a_saddle_index": saddles,
                    "k_times_loss": {str(k): rate[k] for k in sorted(rate)}}
    rows = [
        ("spurious local minimum for every 6 ≤ k ≤ 20 (type A, certified index 0); a saddle below",
         f"index 0 at k = {minima[0]}…{minima[-1]} ({len(minima)}/15); index "
         + ", ".join(f"{i} at k = {k}" for k, i in sorted(saddles.items())),
         "spurious minima for 6 ≤ k ≤ 20 (computer-assisted proof); none found for k ≤ 5",
         "none" if ok_a else "see the table", "", P.verdict(ok_a)),
        (f"type A's loss ≈ a/k (k · F at the largest certified k = {kmax})", P.fmt(rate[kmax], 4),
         f"a ≈ {RATE_A}", P.fmt(rate[kmax] - RATE_A, 3),
         f"k · F grows slowly towards a ({P.fmt(rate[6], 3)} at k = 6, {P.fmt(rate[20], 3)} at k = 20); "
         f"criterion: within {RATE_RTOL:.0%} of a", P.verdict(ok_b)),
        ("gradient descent from Xavier initialisation: fraction ending in a spurious minimum, by k", "not run",
         "Safran & Shamir's table", "", "not rerun: the table's numbers were not available to this session",
         "not reproduced"),
        ("k + 1 or more student units make spurious minima rare", "not run", "Safran & Shamir's table", "",
         "not rerun (as above)", "not reproduced"),
    ]
    table = [(k, "yes" if v["krawczyk"] else "NO", v["index"], f"[{v['loss_lo']:.15g}, {v['loss_hi']:.15g}]",
              P.fmt(rate.get(k), 4), P.fmt(v["lambda_min"], 4)) for k, v in sorted(cert.items())]
    table += [(k, "yes (committed)", load_certificates(k)["points"][0]["index"],
               f"[{load_certificates(k)['points'][0]['loss']['lo'][:17]}, …]", P.fmt(rate[k], 4),
               P.fmt(load_certificates(k)["points"][0]["lambda_min"], 4)) for k in ISOTYPIC_K if k in rate]
    page.add(
        P.Comparison("Claims: ours | published", rows),
        P.Table("Type A (ΔS_{k-1}) certified in ball arithmetic: Krawczyk box radius 1e-30 in its 5 unknowns; "
                "index from the isotypic blocks of the interval Hessian over the box",
                ("k", "Krawczyk", "index", "loss enclosure (to 15 digits; radius < 1e-20)", "k · F", "smallest |eigenvalue|"), table),
        P.Note("The full certificates (every point found in the fixed spaces of ΔS_k, ΔS_{k-1}, Δ(S_p × S_{k-p}) "
               "and, for k ≤ 6, the full space) are checked by `critbench cases relu-teacher-student --param k=K "
               "--verify`; the isotypic route agrees with the full k² × k² interval Hessian at k = 6, 8, 20 "
               "(tests/cases/test_relu.py)."),
    )
    return page


EXPERIMENT = Experiment(NAME, "Spurious minima of the ReLU teacher-student loss",
                        "Safran & Shamir 2018; Arjevani & Field 2020", run)
