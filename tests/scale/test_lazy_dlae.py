"""Lazy DLAE ground truth (issue 22): classes from S on demand equal the enumerated ones.

The enumerated closed forms (:func:`cases.dlae.class_index_count`,
:func:`cases.dlae.class_loss`) scan the whole spectrum and are certified in SymPy
and by dense Hessians (``tests/cases/test_dlae.py``); the lazy ones
(:func:`cases.dlae.lazy_class_facts`) use the rank formula ``Σ_t (i_t - t)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import cases
from cases import dlae as D


@pytest.mark.parametrize("k,p", [(1, 1), (5, 2), (8, 3), (12, 4), (16, 4), (16, 1)])
def test_lazy_classes_equal_enumerated_for_every_subset(k, p):
    lam = np.sort(np.random.default_rng(k * 10 + p).uniform(1, 20, k))[::-1]
    gt = D.DLAEGroundTruth(lam, np.eye(k), p)
    n = 0
    for s in gt.subsets():
        lazy = D.lazy_class_facts(s, lam, p)
        enum = gt.enumerated_class(s)
        assert lazy["label"] == enum.label
        assert lazy["index_count"] == enum.index_count
        assert lazy["nullity"] == enum.nullity
        assert lazy["index_fraction"] == enum.index_fraction
        assert lazy["loss"] == pytest.approx(enum.loss, rel=1e-13, abs=1e-13)
        n += 1
    assert n == gt.n_classes == sum(math.comb(k, r) for r in range(p + 1))


def test_thesis_class_count_and_origin():
    gt = cases.get_case("dlae", exact=True, gram=True).ground_truth
    assert gt.n_classes == 2517
    origin = D.lazy_class_facts((), gt.lam, gt.p)
    assert origin["index_fraction"] == 0.5
    assert origin["loss"] == pytest.approx(8.5, rel=1e-12)


def test_large_instance_is_never_enumerated():
    k, p = 1000, 200
    lam = np.linspace(float(k), 1.0, k)
    gt = D.DLAEGroundTruth(lam, np.eye(k), p)
    assert gt.n_classes == sum(math.comb(k, r) for r in range(p + 1))  # a Python big integer
    assert gt.n_classes > 10**200
    classes = gt.classes
    assert isinstance(classes, D.LazyClasses) and classes and classes.count == gt.n_classes
    c = gt.class_for_subset((0, 1, 5))
    # index: (0 - 0) + (1 - 1) + (5 - 2) = 3 swaps, plus (p - r)(k - r) = 197 * 997 idle-unit directions
    assert c.index_count == 3 + 197 * 997
    assert c.nullity == 3 * (2 * p - 3)
    assert c.loss == pytest.approx((lam.sum() - lam[[0, 1, 5]].sum()) / k, rel=1e-12)
    rng = np.random.default_rng(0)
    for _ in range(5):  # rank formula against the spectrum scan at random large subsets
        s = tuple(sorted(rng.choice(k, size=int(rng.integers(0, p + 1)), replace=False)))
        assert D.lazy_index_count(s, k, p) == D.class_index_count(s, lam, p)
    assert gt.to_json()["n_classes"] == gt.n_classes and gt.to_json()["classes"] == []


def test_lazy_rejects_bad_subsets():
    lam = np.array([3.0, 2.0, 1.0])
    for bad in [(0, 1, 2), (3,), (-1,), (1, 1)]:
        with pytest.raises(ValueError):
            D.lazy_class_facts(bad, lam, 2)


def test_factored_form_equals_gram_form():
    import jax
    import jax.numpy as jnp

    case = cases.get_case("dlae", k=40, p=3, n=200)
    x = np.asarray(case.data["x"])
    sigma = x @ x.T / x.shape[1]
    gram = {"sigma": jnp.asarray(sigma)}
    fact = {"sigma": jnp.asarray(sigma), "trace": jnp.asarray(np.trace(sigma))}
    rng = np.random.default_rng(1)
    th, v = jnp.asarray(rng.standard_normal(case.dim)), jnp.asarray(rng.standard_normal(case.dim))
    assert float(D.loss_fn_factored(th, fact)) == pytest.approx(float(D.loss_fn(th, case.data)), rel=1e-11)
    gf = jax.grad(D.loss_fn_factored)(th, fact)
    gg = jax.grad(D.loss_fn_gram)(th, gram)
    np.testing.assert_allclose(gf, gg, rtol=1e-10, atol=1e-10)
    hf = jax.jvp(lambda t: jax.grad(D.loss_fn_factored)(t, fact), (th,), (v,))[1]
    hg = jax.jvp(lambda t: jax.grad(D.loss_fn_gram)(t, gram), (th,), (v,))[1]
    np.testing.assert_allclose(hf, hg, rtol=1e-10, atol=1e-10)


def test_large_case_scores_through_factored_form():
    case = cases.get_case("dlae", k=260, p=4, n=300, exact=True)
    assert case.dim > 2000 and case.scoring_form[0] is D.loss_fn_factored


def test_large_trajectory_sampler_matches_small_one(monkeypatch):
    """The O(n dim)-memory replay draws the same points as the keep-everything trajectory."""
    case = cases.get_case("dlae", k=8, p=2, n=100)
    monkeypatch.setattr(D, "TRAJECTORY_STEPS", 300)
    monkeypatch.setattr(D, "TRAJECTORY_CHECKPOINT_EVERY", 7)
    a = case.initial_points(3, 5)
    monkeypatch.setattr(D, "TRAJECTORY_MAX_BYTES", 0)
    b = case.initial_points(3, 5)
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


def test_thin_match_equals_dense_spectral_norm():
    """The O(k p^2) match decides as the dense ``||W2 W1 - U_S U_S^T||_2`` would."""
    case = cases.get_case("dlae", k=30, p=3, n=100, exact=True, rotation=True)
    gt = case.ground_truth
    rng = np.random.default_rng(2)
    for subset in [(), (0, 1, 2), (0, 4), (7,)]:
        base = gt.class_for_subset(subset).point
        for scale in (0.0, 1e-4, 3e-3, 2e-2, 0.3):
            theta = base + scale * rng.standard_normal(base.size)
            m = gt.product(theta)
            us = gt.u[:, list(subset)]
            dense = np.linalg.norm(m - us @ us.T, 2)
            got = gt.match(theta)
            if dense <= 0.5 * gt.match_tol:
                assert got is not None and got.label == D.subset_label(subset)
            elif dense > 2 * gt.match_tol and got is not None:
                assert got.label != D.subset_label(subset)


def test_deep_linear_at_1e5_parameters_origin_checked_matrix_free():
    """Depth 3 at widths 183: 100,467 parameters; the origin's Hessian is identically zero
    (closed form: index 0, nullity dim), confirmed by SLQ from HVPs alone."""
    from harness.scoring import matrix_free as MF

    case = cases.get_case("deep-linear", depth=3, d_in=183, hidden=183, d_out=183, n=200)
    assert case.dim == 3 * 183 * 183 > 10**5
    klass = case.ground_truth.classes[0]
    assert (klass.index_count, klass.nullity) == (0, case.dim)
    est = MF.slq(MF.hvp_block(case.loss_fn, np.zeros(case.dim), case.data), case.dim, probes=3, steps=4)
    assert est["nullity_fraction"].estimate == 1.0 and est["index_fraction"].estimate == 0.0
    assert est["hfro"].estimate == 0.0


def test_gram_option_at_scale_solves_the_factored_form():
    """Above the dense-scoring size ``gram=True`` hands the solver the factored Σ form (no k x k
    weight product); its loss equals the data form's mean((X - W2 W1 X)^2) at a random point."""
    import numpy as np

    import cases
    from cases import dlae as D

    big = cases.get_case("dlae", k=60, p=20, n=200, init="gaussian", gram=True)
    data_form = cases.get_case("dlae", k=60, p=20, n=200, init="gaussian")
    assert big.dim > 2000 and big.loss_fn is D.loss_fn_factored
    th = np.random.default_rng(3).standard_normal(big.dim) * 0.3
    x = np.asarray(data_form.data["x"])
    w1, w2 = th[: 20 * 60].reshape(20, 60), th[20 * 60:].reshape(60, 20)
    direct = np.mean((x - w2 @ w1 @ x) ** 2)
    assert float(big.loss_fn(th, big.data)) == pytest.approx(direct, rel=1e-10)
    small = cases.get_case("dlae", k=16, p=4, gram=True)
    assert small.loss_fn is D.loss_fn_gram
