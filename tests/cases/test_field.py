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


# --------------------------------------------------------------------------- trajectory starts (thesis Sec. 3.2.3.2)
def test_uniform_by_loss_picks_iterates_by_loss_and_noises_half() -> None:
    """Ground truth by construction: a trajectory whose loss falls exponentially (as a first-order method's
    does); uniform-by-loss picks must be uniform in loss, not in iteration (KS test), half of them exact
    iterates, the other half iterates plus N(0, 0.1^2) noise."""
    from scipy import stats

    from cases._trajectory import uniform_by_loss

    T, dim, n = 4000, 3, 400
    losses = np.exp(-np.arange(T) / 300.0)
    thetas = np.stack([np.arange(T, dtype=float)] * dim, axis=1) * 1000.0  # iterate t = (1000 t, ...)
    pts = uniform_by_loss(np.random.default_rng(0), thetas, losses, n, noise=0.1)
    t_near = np.rint(pts[:, 0] / 1000.0).astype(int)
    exact = np.all(pts == thetas[t_near], axis=1)
    assert exact.sum() == n - n // 2
    resid = (pts - thetas[t_near])[~exact].ravel()
    assert abs(resid.std() - 0.1) < 0.01 and abs(resid.mean()) < 0.01
    picked = losses[t_near]
    assert stats.kstest(picked, stats.uniform(losses.min(), np.ptp(losses)).cdf).pvalue > 0.01
    # by iteration it is far from uniform: most picks come from the early, fast-falling part
    assert np.median(t_near) < T / 4


def test_gd_trajectory_is_plain_gradient_descent() -> None:
    from cases._trajectory import gd_trajectory

    case = cases.get_case("swish-autoencoder", n=16, hidden=(3, 4))
    t0 = case.initial_points(0, 1)[0]
    thetas, losses = gd_trajectory(case.loss_fn, case.data, t0, steps=5, lr=0.1)
    g0 = np.asarray(jax.grad(case.loss_fn)(jnp.asarray(t0), case.data))
    np.testing.assert_array_equal(thetas[0], t0)
    np.testing.assert_allclose(thetas[1], t0 - 0.1 * g0, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(losses[0], float(case.loss_fn(jnp.asarray(t0), case.data)), rtol=1e-12)
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("name", sorted(SMALL))
def test_trajectory_init_starts_on_the_gd_trajectory(name: str) -> None:
    from cases._trajectory import gd_trajectory

    glorot = cases.get_case(name, **SMALL[name])
    traj = cases.get_case(name, **SMALL[name], init="trajectory")
    assert traj.params["init"] == "trajectory" and traj.params["noise"] == 0.1
    assert "init" not in glorot.params  # default Glorot cases keep their keys
    pts = traj.initial_points(seed=2, n=6)
    assert pts.shape == (6, traj.dim) and np.isfinite(pts).all()
    # the trajectory starts at the case's Glorot draw from the same seed
    t0 = glorot.initial_points(seed=2, n=1)[0]
    thetas, _ = gd_trajectory(traj.loss_fn, traj.data, t0, steps=F.TRAJECTORY_STEPS, lr=0.1)
    on = [np.any(np.all(thetas == p, axis=1)) for p in pts]
    assert sum(on) == 3  # the un-noised half are iterates of the trajectory


def test_overparam_zscore_option_and_bad_init() -> None:
    a = cases.get_case("overparam-mlp", **SMALL["overparam-mlp"])
    b = cases.get_case("overparam-mlp", **SMALL["overparam-mlp"], zscore=False)
    xa, xb = np.asarray(a.data["x"]), np.asarray(b.data["x"])
    np.testing.assert_allclose(xa.std(axis=0), 1.0, atol=1e-12)
    assert xb.std(axis=0).max() > 5.0  # raw PCA components of pixel values 0..16
    np.testing.assert_allclose(xb.mean(axis=0), 0.0, atol=1e-9)
    assert b.params["zscore"] is False and "zscore" not in a.params
    with pytest.raises(ValueError, match="init"):
        cases.get_case("swish-mlp", n=16, init="sobol")
    with pytest.raises(ValueError, match="noise"):
        cases.get_case("swish-mlp", n=16, init="trajectory", noise=-1.0)


def test_autoencoder_on_the_dlae_gaussian_data() -> None:
    """Thesis Fig. 3.4: "the same data as in Section 3.2.3": N(0, diag(linspace(1, 16))) rows, zero means."""
    case = cases.get_case("swish-autoencoder", n=4000, data="gaussian")
    x = np.asarray(case.data["x"])
    assert x.shape == (4000, 16) and case.params["data"] == "gaussian" and case.dim == DEFAULT_DIMS["swish-autoencoder"]
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(x.var(axis=0), np.linspace(1, 16, 16), rtol=0.1)  # sampling error ~ 2.2% (1 SE)
    np.testing.assert_array_equal(np.asarray(case.data["y"]), x)
    with pytest.raises(ValueError, match="data"):
        cases.get_case("swish-autoencoder", n=16, data="mnist")


def test_uniform_by_iteration_over_represents_low_losses() -> None:
    """The scheme the thesis rejects (Sec. 3.2.3.2): uniform in iteration (KS), so on an exponentially
    falling loss most picks sit at low loss -- far below the by-loss median (the loss range's middle)."""
    from scipy import stats

    from cases._trajectory import uniform_by_iteration, uniform_by_loss

    T, n = 4000, 400
    losses = np.exp(-np.arange(T) / 300.0)
    thetas = np.arange(T, dtype=float)[:, None] * 1000.0
    it = uniform_by_iteration(np.random.default_rng(1), thetas, losses, n, noise=0.0)
    t_it = np.rint(it[:, 0] / 1000.0).astype(int)
    assert stats.kstest(t_it / T, "uniform").pvalue > 0.01
    by_loss = uniform_by_loss(np.random.default_rng(1), thetas, losses, n, noise=0.0)
    med_it = np.median(losses[t_it])
    med_loss = np.median(losses[np.rint(by_loss[:, 0] / 1000.0).astype(int)])
    assert med_it < 0.05 < 0.3 < med_loss  # exp(-2000/300) ~ 1e-3 vs ~ 0.5
    case = cases.get_case("dlae", k=4, p=1, n=50, exact=True, init="trajectory-by-iteration")
    assert case.initial_points(0, 4).shape == (4, 8)
    with pytest.raises(ValueError, match="init"):
        cases.get_case("dlae", k=4, p=1, n=50, init="by-magic")
