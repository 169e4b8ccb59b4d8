"""Deep linear networks: the origin's certified inertia (depth 2 strict saddle, depth >= 3 zero Hessian)."""

import dataclasses

import numpy as np
import pytest

import cases
from cases._numeric import dense_gradient, dense_hessian, inertia
from cases.certificates import certify
from cases.deep_linear import OriginGroundTruth, make_case


@pytest.mark.parametrize("params", [{}, {"depth": 2}, {"depth": 2, "d_in": 2, "d_out": 3, "hidden": 2, "n": 4, "seed": 5}])
def test_certificate_passes(params):
    certify("deep-linear", **params).raise_if_failed()


@pytest.mark.parametrize("params,changes", [
    ({"depth": 2}, {"index_count": 7}),
    ({"depth": 2}, {"nullity": 5}),
    ({}, {"nullity": 35}),
    ({}, {"loss": 3.0}),
])
def test_certificate_rejects_perturbed_claims(params, changes):
    cls = make_case(**params).ground_truth.classes[0]
    claim = OriginGroundTruth((dataclasses.replace(cls, **changes),))
    assert not certify("deep-linear", **params, claimed=claim).ok


@pytest.mark.parametrize("d_in,hidden,d_out,n,seed", [(3, 4, 2, 16, 0), (2, 3, 4, 8, 1), (4, 2, 4, 2, 2), (3, 3, 3, 16, 7)])
def test_depth2_closed_form_against_dense(d_in, hidden, d_out, n, seed):
    case = make_case(depth=2, d_in=d_in, hidden=hidden, d_out=d_out, n=n, seed=seed)
    cls = case.ground_truth.classes[0]
    x, y = np.asarray(case.data.x), np.asarray(case.data.y)
    rank = np.linalg.matrix_rank(y @ x.T)
    assert cls.index_count == hidden * rank > 0
    eig = np.linalg.eigvalsh(dense_hessian(case.loss_fn, np.zeros(case.dim), case.data))
    assert inertia(eig)[:2] == (cls.index_count, cls.nullity)
    sv = np.linalg.svd(y @ x.T, compute_uv=False)
    assert eig[0] == pytest.approx(-2 * sv[0] / (n * d_out), rel=1e-12)


@pytest.mark.parametrize("depth", [3, 4, 5])
def test_deep_origin_has_zero_hessian(depth):
    case = make_case(depth=depth, hidden=3)
    cls = case.ground_truth.classes[0]
    z = np.zeros(case.dim)
    assert np.all(dense_gradient(case.loss_fn, z, case.data) == 0)
    assert np.all(dense_hessian(case.loss_fn, z, case.data) == 0)
    assert (cls.index_count, cls.nullity) == (0, case.dim) and "non-strict" in cls.info["type"]
    # yet not a minimum: the loss decreases along a ray aligned with Y X^T (order t^depth)
    x, y = np.asarray(case.data.x), np.asarray(case.data.y)
    u, _, vt = np.linalg.svd(y @ x.T)
    ws = [np.outer(np.eye(3)[0], vt[0])] + [np.outer(np.eye(3)[0], np.eye(3)[0])] * (depth - 2) + [np.outer(u[:, 0], np.eye(3)[0])]
    theta = np.concatenate([w.ravel() for w in ws])
    assert float(case.loss(0.3 * theta)) < cls.loss


def test_match_only_near_origin():
    case = cases.get_case("deep-linear")
    gt = case.ground_truth
    assert gt.kind == "partial"
    assert gt.match(np.full(case.dim, 1e-3)) is gt.classes[0]
    assert gt.match(case.initial_points(0, 1)[0]) is None


def test_registry_and_bad_params():
    case = cases.get_case("deep-linear", depth=2, hidden=3)
    assert case.dim == 3 * 3 + 2 * 3 and set(case.unflatten(np.arange(case.dim))) == {"W1", "W2"}
    assert case.initial_points(0, 5).shape == (5, case.dim)
    for bad, word in (({"depth": 1}, "depth"), ({"hidden": 0}, "hidden"), ({"seed": -1}, "seed"), ({"n": 1000}, "n must")):
        with pytest.raises(cases.CaseError, match=word):
            cases.get_case("deep-linear", **bad)
