"""Degenerate MLP critical points (>= 3 zero weight matrices): certificate and dense checks."""

import dataclasses

import numpy as np
import pytest

import cases
from cases._numeric import dense_gradient, dense_hessian, inertia
from cases.certificates import certify
from cases.degenerate_mlp import DegenerateGroundTruth, make_case, param_slices


@pytest.mark.parametrize("params", [{}, {"activation": "swish"}, {"n_zero": 2}])
def test_certificate_passes(params):
    cert = certify("degenerate-mlp", **params)
    cert.raise_if_failed()
    assert cert.method == ("dense-numpy" if params.get("n_zero") == 2 else "sympy")


@pytest.mark.parametrize("changes", [{"nullity": 55}, {"index_count": 1}, {"loss": 0.07}])
def test_certificate_rejects_perturbed_claims(changes):
    case = make_case()
    cls = dataclasses.replace(case.ground_truth.classes[0], **changes)
    assert not certify("degenerate-mlp", claimed=DegenerateGroundTruth(cls, None)).ok


@pytest.mark.parametrize("widths,n_zero,activation,seed", [
    ((3, 5, 4, 3, 2), 3, "tanh", 1), ((2, 3, 3, 3, 3, 1), 4, "swish", 2), ((2, 4, 4, 2), 3, "tanh", 3),
])
def test_star_point_dense(widths, n_zero, activation, seed):
    case = make_case(widths=widths, n_zero=n_zero, activation=activation, seed=seed)
    cls = case.ground_truth.classes[0]
    g = dense_gradient(case.loss_fn, cls.point, case.data)
    assert g @ g < 1e-24
    eig = np.linalg.eigvalsh(dense_hessian(case.loss_fn, cls.point, case.data))
    assert inertia(eig) == (0, case.dim - widths[-1], widths[-1])
    assert (cls.index_count, cls.nullity) == (0, case.dim - widths[-1])
    # the whole manifold: move the free parameters, inertia stays
    theta = cls.point.copy()
    theta[param_slices(widths)[0][2]] += 0.3  # hidden bias b_1 is free on the manifold
    assert case.ground_truth.match(theta) is cls
    eig2 = np.linalg.eigvalsh(dense_hessian(case.loss_fn, theta, case.data))
    assert inertia(eig2)[:2] == (cls.index_count, cls.nullity)


@pytest.mark.parametrize("activation,seed", [("tanh", 0), ("tanh", 4), ("swish", 1)])
def test_two_zero_matrices_strict_saddle(activation, seed):
    case = make_case(n_zero=2, activation=activation, seed=seed)
    cls = case.ground_truth.classes[0]
    g = dense_gradient(case.loss_fn, cls.point, case.data)
    assert g @ g < 1e-24 and cls.index_count > 0 and cls.info["type"] == "strict saddle"


def test_match_and_bad_params():
    case = cases.get_case("degenerate-mlp")
    cls = case.ground_truth.classes[0]
    off = cls.point.copy()
    off[param_slices(case.params["widths"])[-1][0]] += 0.1  # W_L off the manifold
    assert case.ground_truth.match(off) is None
    assert case.initial_points(0, 3).shape == (3, case.dim)
    for bad, word in (({"n_zero": 1}, "n_zero"), ({"n_zero": 5}, "n_zero"), ({"activation": "relu"}, "activation"),
                      ({"widths": (2, 1)}, "widths"), ({"n": 0}, "n must")):
        with pytest.raises(cases.CaseError, match=word):
            cases.get_case("degenerate-mlp", **bad)
