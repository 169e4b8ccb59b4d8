"""Tests of the field cases (Frye Sec. 3.5 networks on 4x4 digits; no ground truth)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cases
from cases import field as F

SMALL = {name: cases.case_spec(name).small_params for name in ("swish-autoencoder", "swish-mlp", "overparam-mlp")}
#: documented parameter counts of the default (thesis-shaped) instances
DEFAULT_DIMS = {
    "swish-autoencoder": 16 * 8 + 8 + 8 * 16 + 16 + 16 * 16 + 16,  # 552
    "swish-mlp": 16 * 12 + 12 + 12 * 8 + 8 + 8 * 10 + 10,  # 398
    "overparam-mlp": 32 * 32 + 32 * 4 + 4 * 2,  # 1160, the thesis count
}


@pytest.mark.parametrize("name", sorted(SMALL))
@pytest.mark.parametrize("which", ["small", "default"])
def test_builds_finite(name: str, which: str) -> None:
    case = cases.get_case(name, **(SMALL[name] if which == "small" else {}))
    assert case.ground_truth is None and case.ground_truth_kind == "none"
    assert cases.case_spec(name).ground_truth_kind == "none"
    if which == "default":
        assert case.dim == DEFAULT_DIMS[name]
    pts = case.initial_points(seed=3, n=4)
    assert pts.shape == (4, case.dim) and np.isfinite(pts).all()
    losses = jax.vmap(lambda t: case.loss_fn(t, case.data))(jnp.asarray(pts))
    assert losses.shape == (4,) and np.isfinite(np.asarray(losses)).all()
    g = jax.grad(case.loss_fn)(jnp.asarray(pts[0]), case.data)
    assert g.shape == (case.dim,) and np.isfinite(np.asarray(g)).all() and g.dtype == jnp.float64
    parts = case.unflatten(pts[0])
    assert sum(v.size for v in parts.values()) == case.dim
    np.testing.assert_array_equal(np.concatenate([v.ravel() for v in parts.values()]), pts[0])


def test_reproducible_and_seeded() -> None:
    a = cases.get_case("swish-mlp", n=64, seed=1)
    b = cases.get_case("swish-mlp", n=64, seed=1)
    c = cases.get_case("swish-mlp", n=64, seed=2)
    np.testing.assert_array_equal(np.asarray(a.data["x"]), np.asarray(b.data["x"]))
    assert not np.array_equal(np.asarray(a.data["x"]), np.asarray(c.data["x"]))
    np.testing.assert_array_equal(a.initial_points(0, 2), b.initial_points(0, 2))
    assert a.loss_fn is c.loss_fn  # module-level: jit caches across instances


def test_digits_4x4_zscored() -> None:
    X, y = F.digits_4x4()
    assert X.shape == (1797, 16) and y.shape == (1797,)
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(X.std(axis=0), 1.0, atol=1e-12)


def test_autoencoder_target_is_input_and_layout() -> None:
    case = cases.get_case("swish-autoencoder", n=32, hidden=(4, 6))
    np.testing.assert_array_equal(np.asarray(case.data["x"]), np.asarray(case.data["y"]))
    assert F.layer_sizes(case.data) == [16, 4, 6, 16]
    assert case.dim == 16 * 4 + 4 + 4 * 6 + 6 + 6 * 16 + 16


def test_mlp_classes_and_zero_point() -> None:
    case = cases.get_case("swish-mlp", n=40, n_classes=3, l2=0.0)
    y = np.asarray(case.data["y"])
    assert y.shape == (40, 3) and np.all(y.sum(axis=1) == 1)
    # all-zero parameters: uniform softmax, loss ln(C)
    assert abs(float(case.loss(jnp.zeros(case.dim))) - np.log(3)) < 1e-14


def test_overparam_origin_is_ln2_minimum() -> None:
    """At θ = 0: loss ln 2, gradient 0, Hessian 2·l2·I (checked by HVPs on random vectors)."""
    l2 = 1e-3
    case = cases.get_case("overparam-mlp", n=20, input_dim=8, hidden=(6, 3), l2=l2)
    z = jnp.zeros(case.dim)
    assert abs(float(case.loss(z)) - np.log(2)) < 1e-14
    assert float(jnp.max(jnp.abs(jax.grad(case.loss_fn)(z, case.data)))) == 0.0
    y = np.asarray(case.data["y"])
    assert y.shape == (20, 2) and 0 < y[:, 1].sum() < 20
    rng = np.random.default_rng(0)
    for _ in range(3):
        v = jnp.asarray(rng.standard_normal(case.dim))
        hv = jax.jvp(jax.grad(lambda t: case.loss_fn(t, case.data)), (z,), (v,))[1]
        np.testing.assert_allclose(np.asarray(hv), 2 * l2 * np.asarray(v), atol=1e-14)


@pytest.mark.parametrize(
    "name, params",
    [
        ("swish-autoencoder", {"n": 0}),
        ("swish-autoencoder", {"n": 5000}),
        ("swish-autoencoder", {"hidden": ()}),
        ("swish-autoencoder", {"hidden": (8, 0)}),
        ("swish-autoencoder", {"seed": -1}),
        ("swish-mlp", {"l2": -1.0}),
        ("swish-mlp", {"n_classes": 1}),
        ("swish-mlp", {"n_classes": 2, "n": 1000}),
        ("swish-mlp", {"n": "many"}),
        ("overparam-mlp", {"input_dim": 40, "n": 30}),
        ("overparam-mlp", {"n": 1000}),
        ("overparam-mlp", {"l2": float("nan")}),
        ("overparam-mlp", {"width": 3}),
    ],
)
def test_bad_params(name: str, params: dict) -> None:
    with pytest.raises(cases.CaseError):
        cases.get_case(name, **params)


def test_typed_params() -> None:
    case = cases.get_case("swish-autoencoder", n=16, hidden=(4, 8))
    assert case.params["hidden"] == (4, 8) and case.params["n"] == 16
