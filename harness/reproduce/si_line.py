r"""Stoican: symmetry-induced (SI) critical lines of the teacher-student problem.

Duplicating neuron ``j`` of a width-4 critical point ``(W, a)`` (here ``LOCAL_A``,
a non-global strict local minimum, ``cases/si_line.py``) and splitting its
outgoing weight as ``(μ a_j, (1-μ) a_j)`` gives a line of width-5 critical points.
By Sylvester's law (Stoican Theorem 3 / Corollary 3.1) the Hessian's inertia
along the line is ``inertia(H_4) + inertia(μ(1-μ) Y) + one zero`` with
``Y = a_j mean_x[e σ''(w_j·x) x xᵀ]`` (:func:`cases.si_line.y_matrix`): the
``Y``-block's two eigenvalues cross zero at ``μ = 0`` and ``μ = 1``.

Measured: the dense Hessian (the harness's scoring oracles, :mod:`harness.scoring.oracles`) at
points of the line, its eigenvalues and inertia (threshold 1e-5) against the formula; and
Newton-MR runs through the harness started next to the line (``N(0, 1e-3²)``
noise) that should return to the same line (the scorer's class match).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure as MplFigure

from . import _page as P
from ._registry import Context, Experiment
from ._runs import command, run_points

NAME = "si-lines"
LINES = (0, 3)  # duplicated neuron: j = 0 (saddle line), j = 3 (splits into inner saddles / outer minima)


def run(ctx: Context) -> P.Page:
    from cases import get_case
    from cases import si_line as si
    from cases._numeric import dense_hessian, inertia
    from harness.scoring.oracles import point_oracles

    page = P.Page(NAME, "Symmetry-induced critical lines (Stoican)",
                  "Stoican, MSc thesis Sec. 6.2, Theorem 3 / Corollary 3.1", command(NAME, ctx))
    case = get_case("si-line", width=5)
    X, y = si.grid_inputs(), si.network_np(si.TEACHER_W, si.TEACHER_A, si.grid_inputs())
    h4 = dense_hessian(case.loss_fn, si.pack(si.LOCAL_A_W, si.LOCAL_A_A), case.data)
    n4 = inertia(np.linalg.eigvalsh(h4))
    mus = np.linspace(-1.0, 2.0, 13 if ctx.quick else 61)
    mus = np.unique(np.concatenate([mus, [0.0, 1.0]]))
    fig = MplFigure(figsize=(10, 3.6))
    axes = fig.subplots(1, len(LINES))
    rows, agree, total, numbers, at01 = [], 0, 0, {}, []
    for ax, j in zip(axes, LINES):
        ev_y = np.linalg.eigvalsh(si.y_matrix(si.LOCAL_A_W, si.LOCAL_A_A, j, X, y))
        eigs = []
        line = np.array([si.duplicate(si.LOCAL_A_W, si.LOCAL_A_A, j, mu) for mu in mus])
        for mu, o in zip(mus, point_oracles(case, line)):
            lam = np.linalg.eigvalsh(o["hessian"])
            eigs.append(lam)
            neg, zero, _ = inertia(lam)
            block = mu * (1 - mu) * ev_y
            p_neg = n4[0] + int(np.sum(block < 0))
            p_zero = n4[1] + 1 + int(np.sum(block == 0))
            near = abs(mu * (1 - mu)) < 0.05 and mu not in (0.0, 1.0)
            ok = (neg, zero) == (p_neg, p_zero)
            total += not near
            agree += ok and not near
            rows.append((j, f"{mu:.3g}", neg, p_neg, zero, p_zero, "yes" if ok else ("near 0/1" if near else "NO")))
            if mu in (0.0, 1.0):
                at01.append(zero)
        eigs = np.array(eigs)
        for c in range(eigs.shape[1]):
            ax.plot(mus, eigs[:, c], lw=0.8)
        ax.set_yscale("symlog", linthresh=1e-5)
        ax.axvline(0, color="k", ls=":", lw=0.8)
        ax.axvline(1, color="k", ls=":", lw=0.8)
        ax.set_xlabel("μ")
        ax.set_ylabel("Hessian eigenvalues (symlog)")
        ax.set_title(f"duplicate neuron {j} of LOCAL_A; eig(Y) = {ev_y[0]:.2g}, {ev_y[1]:.2g}", fontsize=8)
        numbers[f"line_{j}_eigY"] = ev_y.tolist()
    fig.tight_layout()

    # Newton-MR started next to the lines
    rng = np.random.default_rng(0)
    starts, want = [], []
    for j in LINES:
        for mu in (-0.5, 0.3, 0.7, 1.5) if ctx.quick else (-0.8, -0.5, -0.2, 0.2, 0.3, 0.5, 0.7, 1.2, 1.5, 1.8):
            starts.append(si.duplicate(si.LOCAL_A_W, si.LOCAL_A_A, j, mu) + 1e-3 * rng.standard_normal(15))
            want.append(f"local-A-dup-{j}")
    recs = run_points(ctx, "si-line", {"width": 5}, "newton-mr", {}, np.array(starts), max_iter=100)
    stay = sum(1 for r, w in zip(recs, want) if str(r.get("matched_class") or "").startswith(w))
    crit = sum(1 for r in recs if r["outcome"] == "critical")
    correct = sum(1 for r in recs if r.get("correct") is True)
    page.numbers = {"inertia_agree": agree, "inertia_checked": total, "newton_runs": len(recs),
                    "newton_stay_on_line": stay, "newton_critical": crit, "newton_correct": correct,
                    "H4_inertia": list(n4), **numbers}
    page.add(
        P.Figure(fig, "Eigenvalues of the width-5 Hessian along the SI line μ ↦ duplicate(LOCAL_A, j, μ) "
                      "(dotted: μ = 0, 1, where the Y-block vanishes)."),
        P.Comparison("Claims of Stoican: ours | published", [
            ("inertia = inertia(H_4) + inertia(μ(1-μ)Y) + one zero, away from μ ∈ {0, 1}",
             f"{agree}/{total} points of the lines agree", "holds on the whole line", "none" if agree == total
             else f"{total - agree} disagree", "", P.verdict(agree == total)),
            ("zero crossings of the Y-block eigenvalues (nullity 1 + 2 there)",
             f"measured nullity at μ = 0, 1: {sorted(set(at01))}", "at μ = 0 and 1 (nullity 3)",
             "none" if set(at01) == {n4[1] + 3} else "differs", "", P.verdict(set(at01) == {n4[1] + 3})),
            ("Newton-MR started 1e-3 from the line ends on it (critbench's own test: Stoican runs no Newton "
             "method)", P.pct(stay, len(recs)), "–", "", "runs that leave match another class or none", "–"),
            ("…reaching ||∇L||² < 1e-10 / right loss and index", f"{P.pct(crit, len(recs))} / "
             f"{P.pct(correct, len(recs))}", "–", "", "", "–"),
        ]),
        P.Table("Inertia along the lines: measured (threshold 1e-5) vs formula",
                ("neuron j", "μ", "index", "formula index", "nullity", "formula nullity", "agree"), rows),
        P.Note("Not yet a row: Stoican's one restart test (Sec. 6.3.2) perturbs strict saddles of the line "
               "(Gaussian noise, s.d. 0.01) and restarts Adam or SGD (constant learning rates 1e-3 to 1e-6, or a "
               "cyclical schedule); every such run ends in a global minimum. The Newton-MR row above is critbench's "
               "own test and is set against no published claim."),
        P.Note("Points with |μ(1-μ)| < 0.05 (not 0 or 1) are excluded from the agreement count: there the "
               "Y-block's eigenvalues are below the 1e-5 threshold, so counted nullity exceeds the formula's."),
    )
    return page


EXPERIMENT = Experiment(NAME, "Symmetry-induced lines (Stoican)", "Stoican MSc thesis Sec. 6.2", run)
