"""Tests of the deep linear autoencoder case (thesis Sec. 3.2, Theorem 3.2).

Ground truth is certified independently of any solver: exactly in SymPy for
small ``k, p`` (``cases/certificates/dlae.py``), and by dense ``numpy.linalg``
Hessians at the class points, in random well-conditioned GL(p) gauges
(singular values in [1/2, 2], so the gauge cannot push a negative eigenvalue
across the zero threshold; zero means ``|e| <= 1e-8 max|e|``).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cases
from cases import dlae as D
from cases.certificates import certify

HYP = settings(max_examples=25, deadline=None)


# ---------------------------------------------------------------- helpers
@functools.lru_cache(maxsize=None)
def _batched(loss_fn):
    grad = jax.jit(jax.vmap(jax.grad(loss_fn), (0, None)))
    hess = jax.jit(jax.vmap(jax.hessian(loss_fn), (0, None)))
    return grad, hess


def _gauge(rng: np.random.Generator, p: int) -> np.ndarray:
    """A random ``A`` in GL(p) with singular values in [1/2, 2]."""
    q1, _ = np.linalg.qr(rng.standard_normal((p, p)))
    q2, _ = np.linalg.qr(rng.standard_normal((p, p)))
    return q1 @ np.diag(rng.uniform(0.5, 2.0, p)) @ q2


def _apply_gauge(theta: np.ndarray, a: np.ndarray, k: int, p: int) -> np.ndarray:
    w = D.unflatten(theta, k, p)
    return np.concatenate([(a @ w["W1"]).ravel(), (w["W2"] @ np.linalg.inv(a)).ravel()])


def _dense_inertia(h: np.ndarray) -> tuple[int, int]:
    e = np.linalg.eigvalsh(0.5 * (h + h.T))
    tol = 1e-8 * np.max(np.abs(e))
    return int(np.sum(e < -tol)), int(np.sum(np.abs(e) <= tol))


@st.composite
def instances(draw):
    k = draw(st.integers(2, 5))
    p = draw(st.integers(1, min(3, k)))
    spectrum = tuple(float(v) for v in draw(st.lists(st.integers(1, 30), min_size=k, max_size=k, unique=True)))
    return {
        "k": k,
        "p": p,
        "n": 40,
        "spectrum": spectrum,
        "seed": draw(st.integers(0, 2**16)),
        "exact": True,
        "rotation": draw(st.booleans()),
        "gram": draw(st.booleans()),
    }


# ---------------------------------------------------------------- certificates
@pytest.mark.parametrize(
    "params",
    [
        {"k": 3, "p": 1},
        {"k": 3, "p": 2, "spectrum": (0.5, 2.25, 1.0)},
        {"k": 4, "p": 2},
        {"k": 4, "p": 2, "rotation": True, "seed": 3},
    ],
)
def test_sympy_certificate_small(params):
    cert = certify("dlae", **params)
    assert cert.method == "sympy"
    cert.raise_if_failed()
    n_cls = sum(math.comb(params["k"], r) for r in range(params["p"] + 1))
    assert sum(c.name.startswith("inertia(") for c in cert.checks) == n_cls


_TRUE_INDEX = D.class_index_count


def _index_without_idle_units(subset, lam, p):
    """A plausible wrong formula: forgets the (p - r)(k - r) idle-unit term."""
    return _TRUE_INDEX(subset, lam, p) - (p - len(subset)) * (len(lam) - len(subset))


def test_certificate_rejects_perturbed_formulas():
    def off_by_one(subset, lam, p):
        return D.class_index_count(subset, lam, p) + (len(subset) == 1)

    bad = certify("dlae", k=3, p=2, index_formula=off_by_one)
    assert not bad.ok
    failed = {f.name for f in bad.failures if f.name.startswith("inertia(")}
    assert failed == {"inertia(S={0})", "inertia(S={1})", "inertia(S={2})"}
    assert not certify("dlae", k=3, p=2, index_formula=_index_without_idle_units).ok
    assert not certify("dlae", k=3, p=2, nullity_formula=lambda s, p: p * p).ok
    bad_loss = certify("dlae", k=3, p=1, loss_formula=lambda s, lam: sum(lam[j] for j in s) / len(lam))
    assert any(f.name.startswith("loss(") for f in bad_loss.failures)


def test_certificate_rejects_monkeypatched_module_formula(monkeypatch):
    monkeypatch.setattr(D, "class_index_count", _index_without_idle_units)
    cert = certify("dlae", k=3, p=2)
    names = {f.name for f in cert.failures}
    assert names == {"inertia(S={})", "inertia(S={0})", "inertia(S={1})", "inertia(S={2})"}  # r < p only
    dense = certify("dlae", k=16, p=4, exact=True, gram=True, n_sample=4)
    assert not dense.ok


def test_dense_certificate_thesis_instance():
    cert = certify("dlae", k=16, p=4, exact=True, gram=True, n_sample=8)
    assert cert.method == "dense-numpy"
    cert.raise_if_failed()
    names = {c.name for c in cert.checks}
    assert "number of classes == Σ C(k,r)" in names
    assert {"origin loss == mean(spectrum) (exact)", "origin index fraction == 1/2"} <= names


def test_dense_certificate_small_params_data_loss():
    spec = cases.case_spec("dlae")
    certify("dlae", **spec.small_params, n_sample=6).raise_if_failed()
    certify("dlae", k=5, p=2, n=300, rotation=True, seed=7, n_sample=6).raise_if_failed()  # sample Σ


# ---------------------------------------------------------------- thesis numbers
def test_thesis_instance_counts():
    case = D.dlae(exact=True)
    gt = case.ground_truth
    assert case.dim == 128 and len(gt.classes) == 2517 == D.n_classes(16, 4)
    origin = gt.class_by_label("S={}")
    assert origin.loss == 8.5 and origin.index_fraction == 0.5 and origin.nullity == 0
    gmin = gt.class_by_label("S={0,1,2,3}")
    assert gmin.index_count == 0 and gmin.nullity == 16 and gmin.loss == pytest.approx((136 - 58) / 16, abs=1e-14)
    assert float(case.loss(jnp.zeros(128))) == pytest.approx(8.5, rel=1e-13)
    # default (sampled) data: origin loss is tr(Σ)/k, near the population value 8.5
    sampled = D.dlae()
    assert abs(sampled.ground_truth.class_by_label("S={}").loss - 8.5) < 0.2
    assert len(sampled.ground_truth.classes) == 2517


def test_exact_data_and_gram_option():
    case = D.dlae(k=5, p=2, n=60, spectrum=(3.0, 1.0, 5.0, 2.0, 4.0), exact=True, seed=2)
    x = np.asarray(case.data["x"])
    np.testing.assert_allclose(x @ x.T / 60, np.diag([3.0, 1.0, 5.0, 2.0, 4.0]), atol=1e-12)
    np.testing.assert_allclose(x.mean(axis=1), 0, atol=1e-13)
    gcase = D.dlae(k=5, p=2, n=60, spectrum=(3.0, 1.0, 5.0, 2.0, 4.0), exact=True, seed=2, gram=True)
    assert gcase.loss_fn is D.loss_fn_gram and case.loss_fn is D.loss_fn
    for th in np.random.default_rng(0).normal(size=(5, case.dim)):
        assert float(case.loss(th)) == pytest.approx(float(gcase.loss(th)), rel=1e-12)
    assert case.unflatten(np.arange(20.0))["W2"].shape == (5, 2)


# ---------------------------------------------------------------- properties
@HYP
@given(instances(), st.integers(0, 2**16))
def test_class_points_are_critical_with_certified_inertia(params, gseed):
    case = D.dlae(**params)
    gt = case.ground_truth
    k, p = params["k"], params["p"]
    rng = np.random.default_rng(gseed)
    classes = gt.classes
    pts = np.stack([_apply_gauge(c.point, _gauge(rng, p), k, p) for c in classes])
    grad, hess = _batched(case.loss_fn)
    g = np.asarray(grad(jnp.asarray(pts), case.data))
    assert np.max(np.sum(g * g, axis=1)) < 1e-24
    hs = np.asarray(hess(jnp.asarray(pts), case.data))
    for c, h in zip(classes, hs):
        assert _dense_inertia(h) == (c.index_count, c.nullity), c.label
    losses = np.array([float(case.loss(x)) for x in pts[:3]])
    np.testing.assert_allclose(losses, [c.loss for c in classes[:3]], rtol=1e-12)


@HYP
@given(instances(), st.integers(0, 2**16))
def test_match_is_gauge_invariant(params, gseed):
    case = D.dlae(**params)
    gt = case.ground_truth
    k, p = params["k"], params["p"]
    rng = np.random.default_rng(gseed)
    for c in gt.classes:
        assert gt.match(c.point) is c
        gauged = _apply_gauge(c.point, _gauge(rng, p), k, p)
        assert gt.match(gauged).label == c.label
        near = gauged + 1e-6 * rng.standard_normal(case.dim)
        assert gt.match(near).label == c.label
        if c.info["rank"] > 0:  # M = P_S / 4: right range, not a critical point
            assert gt.match(0.5 * c.point) is None


@HYP
@given(instances())
def test_rotation_leaves_loss_and_index_values_unchanged(params):
    plain = D.dlae(**{**params, "rotation": False})
    rotated = D.dlae(**{**params, "rotation": True})

    def values(case):
        return sorted((round(c.loss, 9), c.index_count, c.nullity) for c in case.ground_truth.classes)

    assert values(plain) == values(rotated)
    # the rotated class points realise the claimed losses on the rotated data
    for c in rotated.ground_truth.classes[:4]:
        assert float(rotated.loss(c.point)) == pytest.approx(c.loss, rel=1e-12)


# ---------------------------------------------------------------- initial points
def test_initial_points_trajectory_and_gaussian():
    case = D.dlae(**cases.case_spec("dlae").small_params)
    gt = case.ground_truth
    a = case.initial_points(seed=5, n=40)
    np.testing.assert_array_equal(a, case.initial_points(seed=5, n=40))
    assert a.shape == (40, case.dim)
    clean = D.dlae(**{**cases.case_spec("dlae").small_params, "noise": 0.0}).initial_points(seed=5, n=40)
    moved = np.linalg.norm(a - clean, axis=1) > 0
    assert moved.sum() == 20  # noise on exactly half of them
    many = D.dlae(**{**cases.case_spec("dlae").small_params, "noise": 0.0}).initial_points(seed=6, n=400)
    losses = np.asarray(jax.jit(jax.vmap(case.loss_fn, (0, None)))(jnp.asarray(many), case.data))
    lo = gt.class_by_label("S={0,1}").loss
    hi = gt.class_by_label("S={}").loss
    assert losses.min() >= lo - 1e-12 and losses.max() <= hi + 0.1  # the start is a small random point
    assert losses.min() < lo + 0.05 and losses.max() > hi - 0.1  # the trajectory spans the loss range
    g = D.dlae(**{**cases.case_spec("dlae").small_params, "init": "gaussian", "init_scale": 0.3})
    pts = g.initial_points(seed=1, n=200)
    assert pts.std() == pytest.approx(0.3, rel=0.05)


# ---------------------------------------------------------------- registry and validation
def test_registry_access():
    case = cases.get_case("dlae", k=4, p=2)
    assert case.dim == 16 and case.ground_truth_kind == "exact" and len(case.ground_truth.classes) == 11
    c2 = cases.get_case("dlae", k=4, p=2, n=50, spectrum=(4.0, 3.0, 2.0, 1.0), exact=True)
    assert c2.ground_truth.class_by_label("S={}").loss == pytest.approx(2.5, abs=1e-14)
    spec = cases.case_spec("dlae")
    assert spec.ground_truth_kind == "exact" and spec.small_params["exact"] is True


@pytest.mark.parametrize(
    "bad",
    [
        {"k": 0},
        {"k": 4, "p": 5},
        {"k": 4, "p": 0},
        {"k": 4, "p": 2, "n": 4},
        {"k": 3, "p": 1, "spectrum": (1.0, 2.0)},
        {"k": 3, "p": 1, "spectrum": (1.0, 2.0, 2.0)},
        {"k": 3, "p": 1, "spectrum": (1.0, -2.0, 3.0)},
        {"k": 3, "p": 1, "init": "uniform"},
        {"k": 3, "p": 1, "noise": -1.0},
        {"k": 3, "p": 1, "init_scale": 0.0},
        {"k": 3, "p": 1, "seed": -1},
        {"k": 3, "p": 1, "wat": 1},
    ],
)
def test_bad_params_raise_case_error(bad):
    with pytest.raises(cases.CaseError, match="dlae"):
        cases.get_case("dlae", **bad)


def test_scoring_form_equals_the_data_form_in_loss_gradient_and_hessian():
    """The harness scores the data-form DLAE through its Gram form (``Case.scoring_form``):
    both must give the same loss, gradient and Hessian -- at random points, at a certified
    saddle and at the global minimum -- or the scorer would judge a different function."""
    from harness.scoring.oracles import point_oracles

    case = D.dlae(k=6, p=2, n=400, seed=3)  # sample covariance, not exact: Σ is computed from X
    assert case.oracle_form[0] is D.loss_fn_gram and case.loss_fn is D.loss_fn
    assert D.dlae(k=6, p=2, n=400, seed=3, gram=True).scoring_form is None
    gt = case.ground_truth
    pts = np.concatenate([np.random.default_rng(1).normal(size=(4, case.dim)),
                          np.stack([gt.classes[0].point, gt.classes[-1].point])])
    own = jax.jit(jax.vmap(lambda t: (case.loss_fn(t, case.data), jax.grad(case.loss_fn)(t, case.data),
                                      jax.hessian(case.loss_fn)(t, case.data))))(jnp.asarray(pts))
    scored = point_oracles(case, pts)
    for j, d in enumerate(scored):
        np.testing.assert_allclose(d["loss"], float(own[0][j]), rtol=1e-12)
        np.testing.assert_allclose(d["grad"], np.asarray(own[1][j]), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(d["hessian"], np.asarray(own[2][j]), rtol=1e-9, atol=1e-12)
    # at the class points the gradient is ~0 in both forms (the success test ||grad||^2 < 1e-10 agrees)
    assert all(float(d["grad"] @ d["grad"]) < 1e-20 for d in scored[-2:])
