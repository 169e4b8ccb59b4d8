"""Matrix-free checks (:mod:`harness.scoring.matrix_free`) against dense ``numpy.linalg``.

Ground truth here is never the code under test: dense Hessians (``cases._numeric``,
``numpy.linalg.eigvalsh``) at dim 100-2,000, operators with a spectrum fixed by
construction, and the certified DLAE closed forms.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import cases
from cases import _numeric
from cases import dlae as D
from harness.scoring import matrix_free as MF
from harness.scoring.judge import flatness_statistics, score_run
from harness.scoring.summary import summarize

from ._points import dense_inertia, gauge


@pytest.mark.parametrize(
    "k,p,subset",
    [(50, 2, (0, 1)), (50, 2, (0, 2)), (50, 3, (1,)), (25, 2, ()), (150, 4, (0, 1, 2, 4))],
)
def test_matrix_free_matches_dense(k, p, subset):
    case = cases.get_case("dlae", k=k, p=p, n=2 * k, exact=True, rotation=True, gram=True)
    fn, data = case.oracle_form
    theta = gauge(case.ground_truth.class_for_subset(subset).point, k, p, np.random.default_rng(k + p))
    neg, null, hfro = dense_inertia(_numeric.dense_hessian(fn, theta, data))
    assert 100 <= case.dim <= 2000
    exact = case.dim <= 400 and neg + null + 8 <= min(64, case.dim // 4)  # exact deflated-Lanczos counts where small (seconds)
    m = neg + null + 8 if exact else 10**9  # > lanczos_max: no exact counts
    rep = MF.verify_point(fn, data, theta, probes=8, steps=80, lanczos_m=m, flatness=False)
    # SLQ: dense fractions inside the stated error bars
    assert abs(rep.index_fraction.estimate - neg / case.dim) <= rep.index_fraction.error
    assert abs(rep.nullity_fraction.estimate - null / case.dim) <= rep.nullity_fraction.error
    assert abs(rep.hfro.estimate - hfro) <= rep.hfro.error
    assert rep.index_fraction.error < 0.3 and rep.hfro.error < 0.1 * hfro  # the bars are informative
    if exact:
        assert (rep.index_count, rep.nullity) == (neg, null)


def test_slq_on_a_known_spectrum():
    """A diagonal operator: 30% negative, 10% zero eigenvalues, spread over [-3, 5]."""
    rng = np.random.default_rng(0)
    d = 600
    lam = np.concatenate([-rng.uniform(0.5, 3, 180), np.zeros(60), rng.uniform(0.5, 5, 360)])
    est = MF.slq(lambda v: v * lam[None, :], d, probes=10, steps=60)
    assert abs(est["index_fraction"].estimate - 0.3) <= est["index_fraction"].error
    assert abs(est["nullity_fraction"].estimate - 0.1) <= est["nullity_fraction"].error
    assert est["index_fraction"].error < 0.15
    assert abs(est["hfro"].estimate - np.linalg.norm(lam)) <= est["hfro"].error


def _quadratic(theta, data):
    return 0.5 * theta @ (data["a"] @ theta) + data["b"] @ theta


@pytest.mark.parametrize("compatible", [True, False])
def test_lsmr_flatness_matches_dense_pinv(compatible):
    """``L = θ^T A θ / 2 + b^T θ`` with singular ``A``: ``H = A``, ``g = A θ + b``."""
    rng = np.random.default_rng(3 if compatible else 4)
    d, rank = 120, 90
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    ev = np.concatenate([rng.choice([-1, 1], rank) * rng.uniform(0.5, 4, rank), np.zeros(d - rank)])
    a = (q * ev) @ q.T
    a = 0.5 * (a + a.T)
    b = a @ rng.standard_normal(d) if compatible else rng.standard_normal(d)
    data = {"a": jnp.asarray(a), "b": jnp.asarray(b)}
    theta = rng.standard_normal(d)
    g = a @ theta + b
    dense = flatness_statistics(a, g, rcond=1e-12)
    fl = MF.flatness_lsmr(MF.hvp_operator(_quadratic, theta, data), g, dense["hfro"], maxiter=2000)
    if compatible:  # r ~ 0: the solve is exact
        assert fl["r"] < 1e-8 and dense["r"] < 1e-8
    else:
        assert fl["r"] == pytest.approx(dense["r"], rel=1e-6)
        assert fl["r_H"] == pytest.approx(dense["r_H"], rel=1e-3, abs=1e-10)


def _wrong_index(subset, k, p):
    """A deliberately wrong closed form: forgets the idle units' (p - r)(k - r) directions."""
    s = sorted(subset)
    return sum(i - t for t, i in enumerate(s))


def _off_by_one(subset, k, p):
    s = sorted(subset)
    r = len(s)
    return sum(i - t for t, i in enumerate(s)) + (p - r) * (k - r) + 1


def test_wrong_closed_form_is_caught_by_slq():
    k, p = 50, 3
    case = cases.get_case("dlae", k=k, p=p, n=2 * k, exact=True, gram=True)
    fn, data = case.oracle_form
    subset = (0,)  # true index (p - 1)(k - 1) = 98 of 300; the wrong formula says 0
    theta = gauge(case.ground_truth.class_for_subset(subset).point, k, p, np.random.default_rng(0))
    right = MF.verify_point(fn, data, theta, closed_index_count=D.lazy_index_count(subset, k, p),
                            closed_nullity=D.class_nullity(subset, p), flatness=False)
    wrong = MF.verify_point(fn, data, theta, closed_index_count=_wrong_index(subset, k, p),
                            closed_nullity=D.class_nullity(subset, p), flatness=False)
    assert right.agrees is True and right.findings == []
    assert wrong.index_fraction.agrees is False and wrong.agrees is False
    assert any(f.startswith("index_fraction") for f in wrong.findings)


def test_score_run_large_point_and_a_wrong_closed_form(monkeypatch):
    """dim 2,004 > DENSE_MAX_DIM: scored correct from the closed form, checked matrix-free;
    an off-by-one index formula is caught by the exact Lanczos count and reported."""
    k, p = 501, 2
    case = cases.get_case("dlae", k=k, p=p, n=600, exact=True, rotation=True)
    assert case.dim > 2000
    subset = (0, 2)  # one swap from the global minimum {0, 1}: index 1, nullity 4
    theta = gauge(case.ground_truth.class_for_subset(subset).point, k, p, np.random.default_rng(5))
    rec = score_run(case, theta, "converged", {})
    assert rec["outcome"] == "critical" and rec["matched_class"] == "S={0,2}"
    assert rec["correct"] is True and rec["index_source"] == "closed-form" and rec["flatness_source"] == "matrix-free"
    assert rec["index_count"] == 1 and rec["nullity"] == 4
    mf = rec["matrix_free"]
    assert rec["matrix_free_agrees"] is True and mf["findings"] == []
    assert mf["index_count"] == {"lanczos": 1, "closed_form": 1} and mf["nullity"]["lanczos"] == 4

    assert case.ground_truth.n_classes > case.ground_truth.MAX_ENUMERATED  # the lazy formula is in use
    monkeypatch.setattr(D, "lazy_index_count", _off_by_one)
    case2 = cases.get_case("dlae", k=k, p=p, n=600, exact=True, rotation=True)  # fresh class cache
    bad = score_run(case2, theta, "converged", {})
    assert bad["class_index_count"] == 2 and bad["matrix_free_agrees"] is False
    assert any("index_count: Lanczos 1 vs closed form 2" in f for f in bad["matrix_free"]["findings"])
    for r in (rec, bad):
        r.update(case="dlae", case_key="c", solver="s", solver_key="s")
    assert summarize([rec, bad])[0]["matrix_free_findings"] == 1
