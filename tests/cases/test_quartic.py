"""Quartic family (thesis Eq. 3.35 by default): certificate, perturbed claims, Hypothesis properties."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import cases
from cases import quartic
from cases._core import GroundTruth
from cases._numeric import inertia
from cases.certificates import certify


@jax.jit
def _gn_hessian(theta, data):
    """Hessian of ``||grad f||^2`` (jitted once per dimension)."""
    return jax.hessian(lambda th: jnp.sum(jax.grad(quartic.loss_fn)(th, data) ** 2))(theta)


_grads = jax.jit(jax.vmap(jax.grad(quartic.loss_fn), in_axes=(0, None)))
_hessians = jax.jit(jax.vmap(jax.hessian(quartic.loss_fn), in_axes=(0, None)))
_gn_hessians = jax.jit(jax.vmap(_gn_hessian, in_axes=(0, None)))


def test_eq335_numbers():
    case = cases.get_case("quartic")
    gt = case.ground_truth
    assert [c.point.tolist() for c in gt.classes] == [[-3.0, 0.0]]
    (crit,) = gt.classes
    assert (crit.index_count, crit.nullity, crit.loss) == (0, 0, pytest.approx(6.25))
    flats = sorted(gt.flat_points, key=lambda f: f.point[0])
    assert [f.point[0] for f in flats] == pytest.approx([-math.sqrt(2), math.sqrt(2)])
    assert flats[0].grad_norm_sq == pytest.approx((9 + 4 * math.sqrt(2)) ** 2, rel=1e-13)
    assert flats[1].grad_norm_sq == pytest.approx((9 - 4 * math.sqrt(2)) ** 2, rel=1e-13)
    assert flats[1].grad_norm_sq == pytest.approx(11.18, abs=5e-3)
    assert flats[0].grad_norm_sq == pytest.approx(214.8, abs=5e-2)
    assert [f.stationary_type for f in flats] == ["saddle", "minimum"]
    x = np.array([0.3, -0.7])
    assert float(case.loss(x)) == pytest.approx(x[0] ** 4 / 4 - 3 * x[0] ** 2 + 9 * x[0] + 0.9 * x[1] ** 4 + 5 * x[1] ** 2 + 40)


@pytest.mark.parametrize("name,params", [("quartic", {}), ("quartic", {"angle": 0.7}),
                                         ("quartic-family", cases.case_spec("quartic-family").small_params)])
def test_certificate_passes(name, params):
    full = dict(params)
    if name == "quartic":
        full = {"angle": params.get("angle", 0.0)}
    certify(name, **full).raise_if_failed()


def _replace_first(seq, **changes):
    return [dataclasses.replace(seq[0], **changes), *seq[1:]]


def test_certificate_rejects_perturbed_claims():
    params = dict(cases.case_spec("quartic-family").small_params)
    gt = cases.get_case("quartic-family", **params).ground_truth
    c0 = gt.classes[0]
    bad = [
        GroundTruth(_replace_first(list(gt.classes), index_count=c0.index_count + 1), gt.flat_points),
        GroundTruth(_replace_first(list(gt.classes), nullity=1), gt.flat_points),
        GroundTruth(_replace_first(list(gt.classes), loss=c0.loss + 1e-6), gt.flat_points),
        GroundTruth(gt.classes[1:], gt.flat_points),
        GroundTruth(gt.classes, _replace_first(list(gt.flat_points), grad_norm_sq=gt.flat_points[0].grad_norm_sq * 1.001)),
        GroundTruth(gt.classes, _replace_first(list(gt.flat_points), point=gt.flat_points[0].point + 1e-6)),
        GroundTruth(gt.classes, gt.flat_points[:-1]),
    ]
    flip = {"minimum": "saddle", "saddle": "minimum", "maximum": "saddle"}
    bad.append(GroundTruth(gt.classes, _replace_first(list(gt.flat_points),
                                                      stationary_type=flip[gt.flat_points[0].stationary_type])))
    for claim in bad:
        assert not certify("quartic-family", **params, claimed=claim).ok
    # and Eq. 3.35 with the wrong gradient-norm value at (√2, 0)
    gt = cases.get_case("quartic").ground_truth
    flats = [dataclasses.replace(f, grad_norm_sq=11.0) if f.point[0] > 0 else f for f in gt.flat_points]
    assert not certify("quartic", claimed=GroundTruth(gt.classes, flats)).ok


def test_rotation_invariance():
    base = cases.get_case("quartic").ground_truth
    rot = cases.get_case("quartic", angle=1.1)
    q = np.asarray(rot.data["Q"])
    for c0, c1 in zip(base.classes, rot.ground_truth.classes):
        assert c1.point == pytest.approx(q @ c0.point, abs=1e-12) and c1.loss == pytest.approx(c0.loss)
    for f0, f1 in zip(base.flat_points, rot.ground_truth.flat_points):
        assert f1.grad_norm_sq == pytest.approx(f0.grad_norm_sq) and f1.stationary_type == f0.stationary_type


coef = st.floats(-8, 8, allow_nan=False).filter(lambda v: abs(v) > 0.5)


@st.composite
def family_params(draw, dims=(2, 3)):
    n = draw(st.sampled_from(dims))
    return {
        "a": tuple(draw(st.floats(0.5, 4)) for _ in range(n)),
        "b": tuple(draw(coef) for _ in range(n)),
        "c": tuple(draw(st.floats(-8, 8)) for _ in range(n)),
        "const": draw(st.floats(-10, 10)),
        "rotation_seed": draw(st.integers(0, 10_000)),
    }


def _build(params):
    try:
        case = cases.get_case("quartic-family", **params)
    except cases.CaseError:
        assume(False)
    a, b = np.array(params["a"]), np.array(params["b"])
    # keep the Hessian spectrum clear of the 1e-5 inertia tolerance
    for cls in case.ground_truth.classes:
        assume(np.all(np.abs(3 * a * np.array(cls.info["u"]) ** 2 + b) > 1e-3))
    return case


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(family_params())
def test_critical_points_property(params):
    case = _build(params)
    gt = case.ground_truth
    assert len(gt.classes) >= 1
    pts = jnp.asarray(np.stack([c.point for c in gt.classes]))
    grads, hessians = np.asarray(_grads(pts, case.data)), np.asarray(_hessians(pts, case.data))
    for cls, g, h in zip(gt.classes, grads, hessians):
        assert g @ g < 1e-24
        neg, zero, _ = inertia(np.linalg.eigvalsh(h))
        assert (neg, zero) == (cls.index_count, cls.nullity)
        assert float(case.loss(cls.point)) == pytest.approx(cls.loss, rel=1e-12, abs=1e-12)
        assert gt.match(cls.point) is cls


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(family_params())
def test_gradient_flat_points_property(params):
    case = _build(params)
    flats = case.ground_truth.flat_points
    if not flats:
        return
    pts = jnp.asarray(np.stack([f.point for f in flats]))
    grads, hessians = np.asarray(_grads(pts, case.data)), np.asarray(_hessians(pts, case.data))
    gn_hessians = np.asarray(_gn_hessians(pts, case.data))
    curv = np.abs(params["b"]).max()  # H itself may vanish (all-inflection points)
    for f, g, h, hg in zip(flats, grads, hessians, gn_hessians):
        assert g @ g > 0 and g @ g == pytest.approx(f.grad_norm_sq, rel=1e-9)
        assert np.linalg.norm(h @ g) <= 1e-9 * (np.linalg.norm(h) + curv) * np.linalg.norm(g)
        ev = np.linalg.eigvalsh(hg)
        kind = "minimum" if ev[0] > 0 else ("maximum" if ev[-1] < 0 else "saddle")
        assert kind == f.stationary_type


@settings(max_examples=4, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(family_params(dims=(2, 3)))
def test_certificate_on_drawn_parameters(params):
    try:
        cases.get_case("quartic-family", **params)
    except cases.CaseError:
        assume(False)
    certify("quartic-family", **params).raise_if_failed()


@pytest.mark.parametrize("params,word", [
    ({"a": (1.0, -1.0)}, "a must"),
    ({"a": (1.0,), "b": (1.0, 2.0), "c": (0.0, 0.0)}, "common length"),
    ({"a": (1.0,) * 5, "b": (1.0,) * 5, "c": (0.0,) * 5}, "common length"),
    ({"b": (0.0, 1.0)}, "b must"),
    ({"a": (1.0, 1.0), "b": (-3.0, 1.0), "c": (2.0, 0.0)}, "double root"),
    ({"a": (1.0, 1.0, 1.0), "b": (1.0, 1.0, 1.0), "c": (0.0, 0.0, 0.0), "angle": 0.5}, "angle"),
    ({"angle": 0.5, "rotation_seed": 3}, "exclusive"),
    ({"c": (float("nan"), 0.0)}, "c must"),
])
def test_bad_parameters_raise_case_error(params, word):
    with pytest.raises(cases.CaseError, match=word):
        cases.get_case("quartic-family", **params)


def test_registry_string_params_and_sampler():
    case = cases.get_case("quartic-family", a=(1.0, 2.0, 0.5), b=(-6.0, -3.0, 1.0), c=(1.0, 0.5, -1.0), rotation_seed=0)
    assert case.dim == 3 and len(case.ground_truth.classes) == 9
    pts = case.initial_points(1, 64)
    assert pts.shape == (64, 3) and np.all(np.isfinite(pts))
    with pytest.raises(cases.CaseError, match="unknown parameter"):
        cases.get_case("quartic", a=(1.0, 2.0))
