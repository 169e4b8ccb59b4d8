r"""Field cases: the nonlinear networks of Frye's thesis, Sec. 3.5 (no ground truth).

Critical points of these losses are not known, so ``ground_truth`` is ``None``
(kind ``"none"``); the harness still measures flatness (``r``, ``r_H``), loss and
index at the points a solver returns.  The thesis trained on 10k MNIST images;
offline we use scikit-learn's bundled ``load_digits`` (1797 8×8 images, no
download) as the stand-in (``shared/REFERENCE.md``).

Data (:func:`digits_4x4`): each 8×8 image is average-pooled over 2×2 blocks to
4×4 (16 features, thesis: "rescaled to 4×4"), then every feature is z-scored
over the full data set (thesis: "then z-scored").  ``n`` examples are drawn
without replacement with ``numpy.random.default_rng(seed)``.

Families (``θ`` flat, layer by layer, each layer ``W`` (fan_in × fan_out, row-major)
then ``b`` when the family has biases; ``swish(z) = z σ(z)``; ``unflatten`` names
them ``W1, b1, W2, ...``):

* ``swish-autoencoder`` (Sec. 3.5.1): "two hidden layers of 8 and 16 units, Swish
  non-linearities ... had biases".  Read as 16 → 8 → 16 → 16 with Swish on both
  hidden layers, a linear (affine) output layer and the z-scored input as target;
  ``L = mean_{n,i} (x_{n,i} - f(x_n)_i)²`` (cost averaged over examples as in
  Eq. 1.2, and over the 16 outputs as for the DLAE).  Default dim 552.
* ``swish-mlp`` (Sec. 3.5.2): 16 → 12 → 8 → C, Swish, biases, softmax
  cross-entropy plus ``l2 ||θ||²``.  The thesis prints ``r(θ) = ||θ||²`` with no
  coefficient; we expose ``l2`` (default 1e-3, a choice: coefficient 1 would
  swamp a cross-entropy of order ln 10).  ``n_classes`` keeps digits ``0..C-1``.
  Default dim 16·12+12 + 12·8+8 + 8·10+10 = 398.
* ``overparam-mlp`` (Sec. 3.5.3): 50 images of 0s and 1s, PCA to 32 dimensions,
  labels permuted (a memorisation task), hidden 32 and 4, no biases, Swish,
  2-class cross-entropy plus ``l2 ||θ||²``: dim 32·32 + 32·4 + 4·2 = 1160, the
  thesis count.  Here the PCA is of the 64 raw pixels of the digits 0/1 in the
  sample (centred, top ``input_dim`` components by SVD, each z-scored), and the
  labels are a seeded permutation of the true 0/1 labels (balanced classes).
  At ``θ = 0`` every layer's output is 0 (swish(0) = 0): the loss is ln 2, the
  gradient is 0 and the Hessian is ``2 l2 I`` (each second derivative of the data
  term contains a zero weight matrix), so for ``l2 > 0`` the origin is the thesis's
  "bad local minimum at index 0, loss ln(2)".

Initial points (parameter ``init``):

* ``"glorot"`` (default): Glorot (Xavier) normal weights, ``N(0, 2/(fan_in + fan_out))``,
  and zero biases (the standard initialisation; a critbench choice);
* ``"trajectory"`` (the thesis's protocol, Sec. 3.2.3.2, as for the DLAE): plain
  gradient descent (:data:`TRAJECTORY_STEPS` steps of size ``trajectory_lr``) from one
  Glorot draw, iterates drawn uniformly by loss and ``N(0, noise^2)`` (``noise = 0.1``:
  the thesis's variance 1e-2) added to a random half
  (:func:`cases._trajectory.uniform_by_loss`, shared with the DLAE).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

from . import _x64  # noqa: F401  (float64 before any JAX array)
import jax
import jax.numpy as jnp
import numpy as np

from ._core import Case
from ._trajectory import THESIS_NOISE, gd_trajectory, uniform_by_loss
from .registry import CaseSpec

N_DIGITS = 1797


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return np.asarray(d.images, dtype=np.float64), np.asarray(d.target, dtype=np.int64)


def digits_4x4() -> tuple[np.ndarray, np.ndarray]:
    """All 1797 digits as ``(X (1797, 16), labels (1797,))``: 2×2 average pooling, then per-feature z-score."""
    images, labels = _digits()
    pooled = images.reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4)).reshape(-1, 16)
    mean = pooled.mean(axis=0)
    std = pooled.std(axis=0)
    std[std == 0] = 1.0
    return (pooled - mean) / std, labels


def swish(z: jnp.ndarray) -> jnp.ndarray:
    """``swish(z) = z σ(z)``."""
    return z * jax.nn.sigmoid(z)


def layer_sizes(data: dict[str, Any]) -> list[int]:
    """Layer widths ``[in, hidden..., out]`` read from the *shapes* of ``data`` (static under ``jit``)."""
    return [data["x"].shape[1], *(h.shape[0] for h in data["hidden"]), data["y"].shape[1]]


def _forward(theta: jnp.ndarray, data: dict[str, Any], bias: bool) -> jnp.ndarray:
    sizes = layer_sizes(data)
    h = data["x"]
    k = 0
    n_layers = len(sizes) - 1
    for i in range(n_layers):
        fi, fo = sizes[i], sizes[i + 1]
        W = theta[k : k + fi * fo].reshape(fi, fo)
        k += fi * fo
        h = h @ W
        if bias:
            h = h + theta[k : k + fo]
            k += fo
        if i < n_layers - 1:
            h = swish(h)
    return h


def autoencoder_loss(theta: jnp.ndarray, data: dict[str, Any]) -> jnp.ndarray:
    r"""``mean_{n,i} (y_{n,i} - f_θ(x_n)_i)²``, ``f`` an affine Swish MLP (``y = x`` for the autoencoder)."""
    return jnp.mean((_forward(theta, data, True) - data["y"]) ** 2)


def _cross_entropy(logits: jnp.ndarray, onehot: jnp.ndarray) -> jnp.ndarray:
    return -jnp.mean(jnp.sum(onehot * jax.nn.log_softmax(logits, axis=1), axis=1))


def classifier_loss(theta: jnp.ndarray, data: dict[str, Any]) -> jnp.ndarray:
    r"""``mean_n CE(softmax(f_θ(x_n)), y_n) + l2 ||θ||²``, ``f`` an affine Swish MLP."""
    return _cross_entropy(_forward(theta, data, True), data["y"]) + data["l2"] * jnp.sum(theta**2)


def overparam_loss(theta: jnp.ndarray, data: dict[str, Any]) -> jnp.ndarray:
    r"""``mean_n CE(softmax(f_θ(x_n)), y_n) + l2 ||θ||²``, ``f`` a Swish MLP without biases."""
    return _cross_entropy(_forward(theta, data, False), data["y"]) + data["l2"] * jnp.sum(theta**2)


def _param_shapes(sizes: Sequence[int], bias: bool) -> list[tuple[str, tuple[int, ...]]]:
    out: list[tuple[str, tuple[int, ...]]] = []
    for i in range(len(sizes) - 1):
        out.append((f"W{i + 1}", (sizes[i], sizes[i + 1])))
        if bias:
            out.append((f"b{i + 1}", (sizes[i + 1],)))
    return out


def _make_unflatten(shapes: list[tuple[str, tuple[int, ...]]]) -> Any:
    def unflatten(theta: np.ndarray) -> dict[str, np.ndarray]:
        theta = np.asarray(theta, dtype=float)
        out, k = {}, 0
        for name, shp in shapes:
            size = int(np.prod(shp))
            out[name] = theta[k : k + size].reshape(shp)
            k += size
        return out

    return unflatten


def _make_sampler(shapes: list[tuple[str, tuple[int, ...]]]) -> Any:
    def sample_init(rng: np.random.Generator, n: int) -> np.ndarray:
        parts = []
        for name, shp in shapes:
            if name.startswith("W"):
                std = math.sqrt(2.0 / (shp[0] + shp[1]))
                parts.append(rng.normal(0.0, std, size=(n, shp[0] * shp[1])))
            else:
                parts.append(np.zeros((n, shp[0])))
        return np.concatenate(parts, axis=1)

    return sample_init


#: Gradient-descent steps of the ``"trajectory"`` sampler.
TRAJECTORY_STEPS = 2000
INITS = ("glorot", "trajectory")


def _make_init(shapes: list[tuple[str, tuple[int, ...]]], init: str, loss_fn: Any, data: Any, lr: float,
               noise: float) -> Any:
    """The case's sampler for ``init`` (module docstring)."""
    glorot = _make_sampler(shapes)
    if init == "glorot":
        return glorot

    def sample_trajectory(rng: np.random.Generator, n: int) -> np.ndarray:
        theta0 = glorot(rng, 1)[0]
        thetas, losses = gd_trajectory(loss_fn, data, theta0, steps=TRAJECTORY_STEPS, lr=lr)
        return uniform_by_loss(rng, thetas, losses, n, noise)

    return sample_trajectory


def _check_init(init: Any, lr: Any, noise: Any) -> tuple[str, float, float]:
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(map(repr, INITS))}, got {init!r}")
    for name, v in (("trajectory_lr", lr), ("noise", noise)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0 or (
                name == "trajectory_lr" and v == 0):
            raise ValueError(f"{name} must be a finite number {'> 0' if name == 'trajectory_lr' else '>= 0'}, "
                             f"got {v!r}")
    return str(init), float(lr), float(noise)


def _init_params(init: str, lr: float, noise: float) -> dict[str, Any]:
    """The sampler's parameters as recorded in ``Case.params`` (none for the default Glorot draws,
    so existing case keys are unchanged)."""
    return {} if init == "glorot" else {"init": init, "trajectory_lr": lr, "noise": noise}


def _check_int(name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    return int(value)


def _check_hidden(hidden: Any) -> tuple[int, ...]:
    try:
        h = tuple(hidden)
    except TypeError:
        raise ValueError(f"hidden must be a tuple of positive integers, got {hidden!r}") from None
    if not h or len(h) > 8 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 1 <= v <= 1024 for v in h):
        raise ValueError(f"hidden must be 1 to 8 integers in [1, 1024], got {hidden!r}")
    return tuple(int(v) for v in h)


def _check_l2(l2: Any) -> float:
    l2 = float(l2)
    if not (math.isfinite(l2) and l2 >= 0.0):
        raise ValueError(f"l2 must be a finite number >= 0, got {l2}")
    return l2


def _markers(hidden: tuple[int, ...]) -> tuple[jnp.ndarray, ...]:
    return tuple(jnp.zeros((h, 0)) for h in hidden)


def gaussian_16(n: int, seed: int) -> np.ndarray:
    """The DLAE's data (thesis Sec. 3.2.3.1) as ``(n, 16)`` rows: ``N(0, diag(linspace(1, 16)))``
    samples with exactly zero column means (:func:`cases.dlae.make_data`, ``exact=False``)."""
    from .dlae import make_data

    x, _ = make_data(16, n, np.linspace(1.0, 16.0, 16), np.random.default_rng(seed), exact=False, rotation=False)
    return np.ascontiguousarray(x.T)


def make_autoencoder(n: int = 1000, seed: int = 0, hidden: tuple[int, ...] = (8, 16), init: str = "glorot",
                     trajectory_lr: float = 0.1, noise: float = THESIS_NOISE, data: str = "digits") -> Case:
    """Swish autoencoder on 4×4 digits (Frye Sec. 3.5.1), or on the DLAE's Gaussian data (Fig. 3.4).

    Args:
        n: number of examples (digits: 1..1797, drawn without replacement with ``seed``;
            gaussian: 1..100000 samples drawn with ``seed``).
        seed: data-subsample seed.
        hidden: hidden-layer widths (thesis: 8, 16).
        init, trajectory_lr, noise: the initial-point sampler (module docstring).
        data: ``"digits"`` or ``"gaussian"`` (:func:`gaussian_16`, thesis Fig. 3.4: "the same data
            as in Section 3.2.3").
    """
    init, trajectory_lr, noise = _check_init(init, trajectory_lr, noise)
    if data not in ("digits", "gaussian"):
        raise ValueError(f"data must be 'digits' or 'gaussian', got {data!r}")
    dataset = str(data)
    n = _check_int("n", n, 1, N_DIGITS if dataset == "digits" else 100_000)
    seed = _check_int("seed", seed, 0, 2**32 - 1)
    hidden = _check_hidden(hidden)
    if dataset == "gaussian":
        x = gaussian_16(n, seed)
    else:
        X, _ = digits_4x4()
        idx = np.sort(np.random.default_rng(seed).choice(X.shape[0], size=n, replace=False))
        x = X[idx]
    sizes = [16, *hidden, 16]
    shapes = _param_shapes(sizes, True)
    dim = sum(int(np.prod(s)) for _, s in shapes)
    data = {"x": jnp.asarray(x), "y": jnp.asarray(x), "hidden": _markers(hidden)}
    return Case(
        name="swish-autoencoder",
        params={"n": n, "seed": seed, "hidden": hidden, **_init_params(init, trajectory_lr, noise),
                **({} if dataset == "digits" else {"data": dataset})},
        dim=dim,
        loss_fn=autoencoder_loss,
        data=data,
        sample_init=_make_init(shapes, init, autoencoder_loss, data, trajectory_lr, noise),
        ground_truth=None,
        description=f"Swish autoencoder 16-{'-'.join(map(str, hidden))}-16 with biases on {n} "
                    + ("4x4 digits" if dataset == "digits" else "Gaussian DLAE samples") + " (MSE)",
        unflatten=_make_unflatten(shapes),
    )


def make_mlp(
    n: int = 1000, seed: int = 0, hidden: tuple[int, ...] = (12, 8), n_classes: int = 10, l2: float = 1e-3,
    init: str = "glorot", trajectory_lr: float = 0.1, noise: float = THESIS_NOISE,
) -> Case:
    """Swish MLP classifier on 4×4 digits (Frye Sec. 3.5.2).

    Args:
        n: number of examples, at most the number of digits ``< n_classes``.
        seed: data-subsample seed.
        hidden: hidden-layer widths (thesis: 12, 8).
        n_classes: keep digits ``0..n_classes-1`` (2..10).
        l2: coefficient of ``||θ||²`` (>= 0; the thesis prints ``r(θ) = ||θ||²``, i.e. 1).
        init, trajectory_lr, noise: the initial-point sampler (module docstring).
    """
    init, trajectory_lr, noise = _check_init(init, trajectory_lr, noise)
    n_classes = _check_int("n_classes", n_classes, 2, 10)
    seed = _check_int("seed", seed, 0, 2**32 - 1)
    hidden = _check_hidden(hidden)
    l2 = _check_l2(l2)
    X, labels = digits_4x4()
    pool = np.flatnonzero(labels < n_classes)
    n = _check_int("n", n, 1, pool.size)
    idx = np.sort(np.random.default_rng(seed).choice(pool, size=n, replace=False))
    sizes = [16, *hidden, n_classes]
    shapes = _param_shapes(sizes, True)
    dim = sum(int(np.prod(s)) for _, s in shapes)
    onehot = np.eye(n_classes)[labels[idx]]
    data = {"x": jnp.asarray(X[idx]), "y": jnp.asarray(onehot), "hidden": _markers(hidden),
            "l2": jnp.asarray(l2, dtype=jnp.float64)}
    return Case(
        name="swish-mlp",
        params={"n": n, "seed": seed, "hidden": hidden, "n_classes": n_classes, "l2": l2,
                **_init_params(init, trajectory_lr, noise)},
        dim=dim,
        loss_fn=classifier_loss,
        data=data,
        sample_init=_make_init(shapes, init, classifier_loss, data, trajectory_lr, noise),
        ground_truth=None,
        description=f"Swish MLP 16-{'-'.join(map(str, hidden))}-{n_classes} with biases, CE + {l2:g}||θ||², {n} 4x4 digits",
        unflatten=_make_unflatten(shapes),
    )


def pca_digits01(n: int, seed: int, input_dim: int, zscore: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``n`` digits 0/1 (seeded), PCA of their 64 pixels to ``input_dim`` components (z-scored if
    ``zscore``; the thesis's sklearn PCA does not), and their labels."""
    images, labels = _digits()
    pool = np.flatnonzero(labels <= 1)
    idx = np.sort(np.random.default_rng(seed).choice(pool, size=n, replace=False))
    Z = images[idx].reshape(n, 64)
    Z = Z - Z.mean(axis=0)
    _, _, vt = np.linalg.svd(Z, full_matrices=False)
    P = Z @ vt[:input_dim].T
    if not zscore:
        return P, labels[idx]
    std = P.std(axis=0)
    std[std < 1e-12] = 1.0
    return P / std, labels[idx]


def make_overparam(
    n: int = 50, seed: int = 0, hidden: tuple[int, ...] = (32, 4), input_dim: int = 32, l2: float = 1e-3,
    zscore: bool = True, init: str = "glorot", trajectory_lr: float = 0.1, noise: float = THESIS_NOISE,
) -> Case:
    """Over-parameterized Swish MLP memorising permuted 0/1 labels (Frye Sec. 3.5.3).

    Args:
        n: number of digits 0/1 (thesis: 50); ``input_dim <= n``.
        seed: seed of the subsample and of the label permutation.
        hidden: hidden-layer widths (thesis: 32, 4).
        input_dim: PCA components kept (thesis: 32; at most ``min(n, 64)``).
        l2: coefficient of ``||θ||²`` (>= 0).
        zscore: z-score the PCA components (a critbench choice; the thesis's sklearn PCA does not).
        init, trajectory_lr, noise: the initial-point sampler (module docstring).
    """
    init, trajectory_lr, noise = _check_init(init, trajectory_lr, noise)
    if not isinstance(zscore, bool):
        raise ValueError(f"zscore must be true or false, got {zscore!r}")
    seed = _check_int("seed", seed, 0, 2**32 - 1)
    n = _check_int("n", n, 2, 360)
    input_dim = _check_int("input_dim", input_dim, 1, min(n, 64))
    hidden = _check_hidden(hidden)
    l2 = _check_l2(l2)
    x, labels = pca_digits01(n, seed, input_dim, zscore)
    perm_labels = np.random.default_rng([seed, 1]).permutation(labels)
    sizes = [input_dim, *hidden, 2]
    shapes = _param_shapes(sizes, False)
    dim = sum(int(np.prod(s)) for _, s in shapes)
    data = {"x": jnp.asarray(x), "y": jnp.asarray(np.eye(2)[perm_labels]), "hidden": _markers(hidden),
            "l2": jnp.asarray(l2, dtype=jnp.float64)}
    return Case(
        name="overparam-mlp",
        params={"n": n, "seed": seed, "hidden": hidden, "input_dim": input_dim, "l2": l2,
                **({} if zscore else {"zscore": False}), **_init_params(init, trajectory_lr, noise)},
        dim=dim,
        loss_fn=overparam_loss,
        data=data,
        sample_init=_make_init(shapes, init, overparam_loss, data, trajectory_lr, noise),
        ground_truth=None,
        description=f"Swish MLP {input_dim}-{'-'.join(map(str, hidden))}-2 without biases, random 0/1 labels, n={n}",
        unflatten=_make_unflatten(shapes),
    )


AUTOENCODER = CaseSpec(
    "swish-autoencoder",
    make_autoencoder,
    description="Frye Sec. 3.5.1: Swish autoencoder 16-8-16-16 with biases on 4x4 digits (no ground truth)",
    ground_truth_kind="none",
    small_params={"n": 64},
)
MLP = CaseSpec(
    "swish-mlp",
    make_mlp,
    description="Frye Sec. 3.5.2: Swish MLP 16-12-8-10, cross-entropy + L2, 4x4 digits (no ground truth)",
    ground_truth_kind="none",
    small_params={"n": 64},
)
OVERPARAM = CaseSpec(
    "overparam-mlp",
    make_overparam,
    description="Frye Sec. 3.5.3: Swish MLP 32-32-4-2, no biases, random 0/1 labels, n=50 (no ground truth)",
    ground_truth_kind="none",
    small_params={"n": 32, "input_dim": 16, "hidden": (16, 4)},
)
