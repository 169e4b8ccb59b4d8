"""XOR critical manifolds: SymPy certificate (symbolic b1), perturbed claims, dense checks on the manifold."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cases
from cases._numeric import dense_gradient, dense_hessian, inertia
from cases.certificates import certify
from cases.xor import XorGroundTruth, make_case


@pytest.mark.parametrize("params", [{}, {"variant": "softmax-ce"}, {"variant": "softmax-ce", "l2": 1e-3}])
def test_certificate_passes(params):
    certify("xor", **params).raise_if_failed()


@pytest.mark.parametrize("params,changes", [
    ({}, {"nullity": 7}), ({}, {"index_count": 1}), ({}, {"loss": 0.5}),
    ({"variant": "softmax-ce", "l2": 1e-3}, {"nullity": 11}),
    ({"variant": "softmax-ce"}, {"loss": 0.69}),
])
def test_certificate_rejects_perturbed_claims(params, changes):
    case = make_case(**params)
    cls = dataclasses.replace(case.ground_truth.classes[0], **changes)
    claim = XorGroundTruth(cls, case.params["variant"], case.params["l2"])
    assert not certify("xor", **params, claimed=claim).ok


@given(st.floats(-3, 3), st.floats(-3, 3), st.floats(-2, 2))
def test_manifold_points_are_critical_with_rank_one_hessian(b1a, b1b, c):
    for variant in ("tanh-mse", "softmax-ce"):
        case = make_case(variant=variant)
        cls = case.ground_truth.classes[0]
        theta = cls.point.copy()
        theta[4:6] = (b1a, b1b)
        if variant == "softmax-ce":
            theta[10:12] = c
        g = dense_gradient(case.loss_fn, theta, case.data)
        assert g @ g < 1e-24
        eig = np.linalg.eigvalsh(dense_hessian(case.loss_fn, theta, case.data))
        assert inertia(eig)[:2] == (0, case.dim - 1)
        t2 = math.tanh(b1a) ** 2 + math.tanh(b1b) ** 2
        want = 2 * (1 + t2) if variant == "tanh-mse" else (1 + t2) / 2
        assert eig[-1] == pytest.approx(want, rel=1e-12)
        assert float(case.loss(theta)) == pytest.approx(cls.loss, rel=1e-14)
        assert case.ground_truth.match(theta) is cls


def test_l2_makes_origin_a_strict_minimum():
    case = cases.get_case("xor", variant="softmax-ce", l2=1e-3)
    eig = np.linalg.eigvalsh(dense_hessian(case.loss_fn, np.zeros(12), case.data))
    assert eig == pytest.approx(np.array([2e-3] * 11 + [0.5 + 2e-3]), rel=1e-10)
    # the b1 directions are no longer critical
    theta = np.zeros(12)
    theta[4] = 0.5
    g = dense_gradient(case.loss_fn, theta, case.data)
    assert g @ g > 1e-8 and case.ground_truth.match(theta) is None


@pytest.mark.parametrize("params,word", [
    ({"variant": "relu"}, "variant"), ({"variant": "softmax-ce", "l2": -1.0}, "l2"),
    ({"l2": 0.1}, "l2"), ({"variant": "softmax-ce", "l2": 1e-7}, "l2"),
])
def test_bad_parameters(params, word):
    with pytest.raises(cases.CaseError, match=word):
        cases.get_case("xor", **params)


def test_registry_sampler_unflatten():
    case = cases.get_case("xor", variant="softmax-ce")
    assert case.initial_points(3, 7).shape == (7, 12)
    parts = case.unflatten(np.arange(12.0))
    assert parts["W2"].shape == (2, 2) and parts["b2"].tolist() == [10.0, 11.0]
