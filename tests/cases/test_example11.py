"""Example 1.1 (thesis): certificate, rejection of perturbed claims, dense checks, registry."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cases
from cases._numeric import dense_gradient, dense_hessian, inertia
from cases.certificates import certify
from cases.example11 import make_case


def _perturb_class(gt, label, **changes):
    classes = [dataclasses.replace(c, **changes) if c.label == label else c for c in gt.classes]
    return type(gt)(classes, gt.flat_points, kind=gt.kind)


def test_certificate_passes():
    cert = certify("example-1.1")
    cert.raise_if_failed()
    assert cert.method == "sympy" and len(cert.checks) > 10


@pytest.mark.parametrize(
    "label,changes",
    [("origin", {"index_count": 0}), ("origin", {"loss": 0.9}), ("hyperbola", {"nullity": 0}),
     ("hyperbola", {"index_count": 1}), ("hyperbola", {"point": np.array([1.0, 2.0])})],
)
def test_certificate_rejects_perturbed_class(label, changes):
    gt = _perturb_class(make_case().ground_truth, label, **changes)
    assert not certify("example-1.1", claimed=gt).ok


def test_certificate_rejects_perturbed_flat_point():
    gt = make_case().ground_truth
    flats = list(gt.flat_points)
    flats[0] = dataclasses.replace(flats[0], grad_norm_sq=flats[0].grad_norm_sq * (1 + 1e-6))
    assert not certify("example-1.1", claimed=type(gt)(gt.classes, flats)).ok
    flats = [dataclasses.replace(f, stationary_type="minimum") for f in gt.flat_points]
    assert not certify("example-1.1", claimed=type(gt)(gt.classes, flats)).ok
    assert not certify("example-1.1", claimed=type(gt)(gt.classes, gt.flat_points[:1])).ok


def test_dense_checks_match_claims():
    case = cases.get_case("example-1.1")
    for t in (1.0, -3.0, 0.25):  # several points of the hyperbola, plus the origin
        for cls, theta in ((case.ground_truth.class_by_label("hyperbola"), np.array([t, 1 / t])),
                           (case.ground_truth.class_by_label("origin"), np.zeros(2))):
            g = dense_gradient(case.loss_fn, theta, case.data)
            assert g @ g < 1e-24
            neg, zero, _ = inertia(np.linalg.eigvalsh(dense_hessian(case.loss_fn, theta, case.data)))
            assert (neg, zero) == (cls.index_count, cls.nullity)
            assert case.ground_truth.match(theta) is cls
            assert float(case.loss(theta)) == pytest.approx(cls.loss, abs=1e-14)
    for f in case.ground_truth.flat_points:
        g = dense_gradient(case.loss_fn, f.point, case.data)
        h = dense_hessian(case.loss_fn, f.point, case.data)
        assert g @ g == pytest.approx(f.grad_norm_sq, rel=1e-12)
        assert np.linalg.norm(h @ g) < 1e-12 * np.linalg.norm(g)
        gn = jax.hessian(lambda th: jnp.sum(jax.grad(case.loss_fn)(th, case.data) ** 2))(jnp.asarray(f.point))
        ev = np.linalg.eigvalsh(np.asarray(gn))
        assert ev[0] < 0 < ev[-1] and f.stationary_type == "saddle"


def test_match_uses_invariant_not_nearest_representative():
    gt = cases.get_case("example-1.1").ground_truth
    theta = np.array([-0.2, -5.0])  # on the hyperbola, nearer to (0,0) than to (1,1)
    assert np.linalg.norm(theta) < np.linalg.norm(theta - 1)
    assert gt.match(theta).label == "hyperbola"
    assert gt.match(np.array([1e-4, 3e-4])).label == "origin"


def test_registry_and_sampler():
    case = cases.get_case("example-1.1", init_scale=0.5)
    assert case.params == {"init_scale": 0.5} and case.dim == 2
    pts = case.initial_points(0, 500)
    assert pts.shape == (500, 2) and 0.4 < pts.std() < 0.6
    assert "example-1.1" in cases.case_names()
    with pytest.raises(cases.CaseError, match="init_scale"):
        cases.get_case("example-1.1", init_scale=-1.0)
    with pytest.raises(cases.CaseError, match="unknown parameter"):
        cases.get_case("example-1.1", k=3)
