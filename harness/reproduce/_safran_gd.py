r"""Safran & Shamir's gradient-descent experiment, rerun on critbench's closed-form population loss.

**What they measured** (ICML 2018, arXiv 1712.08968, Sec. "Experiments"; the numbers below are read
from the authors' public results, github.com/ItaySafran/OneLayerGDconvergence at commit ``093cc92``):
for a teacher of ``k`` orthonormal units (``V = I_k``, inputs ``N(0, I_k)``) and a student of ``n ≥ k``
units, 1000 runs of plain gradient descent on the population loss from their "Xavier" initialisation,
each run stopped when the gradient is tiny; a run counts as *spurious* when its end point has objective
value at least ``1e-3``.  ``Results/readme.txt`` of that repository: "We first ran 1000 gradient descent
instantiations, training a single hidden layer network with n neurons, with respect to k standard unit
vector targets."; each ``Results/newExp-k-n.mat`` stores the families of end points with objective
``≥ 1e-3`` and ``magnitude``, "the number of points found for each family".  :data:`PUBLISHED_BAD` is
``sum(magnitude)`` per ``(k, n)``: the number of the 1000 runs that ended in a spurious point.  No file is
stored for ``n = k + 1`` with ``k ∈ {5, 6, 7, 9}`` nor for any ``n = k + 2``, so no count is claimed there.

**Their setting** (``GD_code/findBadMinima.m``, ``GD_code/findMinimum.m``), kept here:

* initialisation ``W = randn(d, n) / sqrt(d)`` (entries ``N(0, 1/k)``, ``d = k``; their comment calls it
  "Xavier initialization"; the case's own ``sample_init`` is Glorot-uniform with the same variance
  ``1/k``, not used here);
* step ``0.1`` on ``F(W) = ½ E[(Σ_i relu(w_i·x) - Σ_j relu(v_j·x))²]`` (their code folds ``1/(2π)`` into the
  step and the gradient, which is the same update);
* stop when ``max_i ‖2π ∇_{w_i} F‖ ≤ 1e-9`` (their ``gradnorm_target``, on the ``2π``-scaled gradient);
* divergence: a run whose scaled gradient norm exceeds ``1e4`` restarts from its initial point with half
  the step;
* spurious: objective ``≥ 1e-3`` at the end point (``bad_minima_value_bound``).

**Our choices where theirs cannot be kept**: an iteration cap (theirs has none; a run that reaches it is
reported as not converged and classified where it stopped); a few hundred runs per ``(k, n)`` instead
of 1000; ``k`` where certificates are committed (:data:`cases.relu.CERTIFIED_K`).  The loss is
:func:`cases.relu._pair_f` (the case's closed form, the same ``f`` for ``n ≠ k``), the gradient JAX
autodiff of it, in float64.

**Classification** (``n = k``): each end point is matched to the certified classes of
``relu-teacher-student`` (:meth:`cases.relu.ReluGroundTruth.match`, modulo ``W -> P W Q``).  A *certified
spurious minimum* is a matched class with loss ``> 0`` and certified index 0; the global minimum and the
certified saddles are counted apart; a point that matches no class is *unverified* and carries the dense
float64 Hessian index (eigenvalues below ``-INDEX_EIG_TOL``) and its loss.  For ``n = k + 1`` no class is
certified (the case is square), so every end point is unverified: it counts as spurious by the authors'
criterion (loss ``≥ 1e-3``) with its dense index beside it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

#: The authors' runs per ``(k, n)``.
PUBLISHED_RUNS = 1000
#: Runs (of 1000) ending at objective ``≥ 1e-3``: ``sum(magnitude)`` of ``Results/newExp-k-n.mat``.
PUBLISHED_BAD: dict[tuple[int, int], int] = {
    (6, 6): 3, (7, 7): 55, (8, 8): 126, (9, 9): 218, (10, 10): 346, (11, 11): 455, (12, 12): 585,
    (13, 13): 730, (14, 14): 736, (15, 15): 803, (16, 16): 851, (17, 17): 897, (18, 18): 900,
    (19, 19): 934, (20, 20): 949,
    (8, 9): 1, (10, 11): 1, (11, 12): 1, (12, 13): 3, (13, 14): 15, (14, 15): 55, (15, 16): 102,
    (16, 17): 180, (17, 18): 233, (18, 19): 369, (19, 20): 491,
}
SOURCE = ("Safran & Shamir's public results, github.com/ItaySafran/OneLayerGDconvergence (commit 093cc92): "
          "Results/newExp-k-n.mat, sum of `magnitude` = runs of 1000 ending at objective >= 1e-3")
#: Their step on ``F``, stopping threshold on ``max_i ‖2π ∇_{w_i} F‖``, divergence and spurious thresholds.
STEP, GRAD_TARGET, DIVERGE, BAD_VALUE = 0.1, 1e-9, 1e4, 1e-3


def published_pct(k: int, n: int) -> tuple[float, float] | None:
    """The published percentage of spurious runs at ``(k, n)`` and its binomial standard error (in %)."""
    c = PUBLISHED_BAD.get((k, n))
    if c is None:
        return None
    p = c / PUBLISHED_RUNS
    return 100 * p, 100 * math.sqrt(p * (1 - p) / PUBLISHED_RUNS)


# --------------------------------------------------------------------------- the loss, for n >= k students
def population_loss(W: Any, k: int) -> Any:
    """``F(W)`` for a student ``W`` of shape ``(n, k)`` against the teacher ``V = I_k`` (the case's closed form)."""
    import jax.numpy as jnp

    from cases.relu import _pair_f, teacher_constant

    n = W.shape[0]
    nw2 = jnp.sum(W * W, axis=1)
    ss = jnp.where(jnp.eye(n, dtype=bool), 0.5 * nw2[:, None] * jnp.ones((1, n)), _pair_f(W, W))
    st = _pair_f(W, jnp.eye(k, dtype=W.dtype))
    out = 0.5 * jnp.sum(ss) - jnp.sum(st) + teacher_constant(k)
    return jnp.where(jnp.all(nw2 > 0), out, jnp.nan)


def xavier_init(seed: int, runs: int, n: int, k: int) -> np.ndarray:
    """``runs`` initial points ``W`` of shape ``(n, k)``, entries ``N(0, 1/k)`` (their ``randn(d, n)/sqrt(d)``)."""
    return np.random.default_rng(seed).standard_normal((runs, n, k)) / math.sqrt(k)


@functools.lru_cache(maxsize=None)
def _chunk_fn(n: int, k: int, steps: int):
    """A jitted ``steps``-iteration block of gradient descent on a batch (frozen once converged)."""
    from cases import _x64  # noqa: F401
    import jax
    import jax.numpy as jnp

    grad = jax.vmap(jax.grad(lambda W: population_loss(W, k)))

    def scaled_norm(G):  # max_i ‖2π ∇_{w_i} F‖ per run
        return 2 * jnp.pi * jnp.sqrt(jnp.max(jnp.sum(G * G, axis=2), axis=1))

    def body(_, carry):
        W, W0, step, it, done, restarts = carry
        G = grad(W)
        gn = scaled_norm(G)
        done = done | (gn <= GRAD_TARGET)
        bad = ~done & ~(gn <= DIVERGE)  # over 1e4, or NaN
        live = ~done & ~bad
        W = jnp.where(live[:, None, None], W - step[:, None, None] * G, jnp.where(bad[:, None, None], W0, W))
        step = jnp.where(bad, step / 2, step)
        return W, W0, step, it + (~done).astype(it.dtype), done, restarts + bad.astype(restarts.dtype)

    @jax.jit
    def run(W, W0, step, it, done, restarts):
        return jax.lax.fori_loop(0, steps, body, (W, W0, step, it, done, restarts))

    return run


def descend(W0: np.ndarray, k: int, max_iter: int, chunk: int = 2000) -> dict[str, np.ndarray]:
    """Gradient descent in the authors' setting from each ``W0[r]`` (shape ``(runs, n, k)``).

    Returns ``W`` (end points), ``iters`` (iterations taken), ``converged`` (their criterion met within
    ``max_iter``), ``restarts`` (divergence restarts) and ``loss``.  Runs that converge are dropped from the
    batch between blocks of ``chunk`` iterations (the batch is padded to a multiple of 16).
    """
    import jax.numpy as jnp

    W0 = np.asarray(W0, dtype=np.float64)
    runs, n, _ = W0.shape
    W, iters = W0.copy(), np.zeros(runs, dtype=np.int64)
    step, done, restarts = np.full(runs, STEP), np.zeros(runs, dtype=bool), np.zeros(runs, dtype=np.int64)
    total = 0
    while total < max_iter and not done.all():
        act = np.flatnonzero(~done)
        size = -(-len(act) // 16) * 16  # padded to a multiple of 16: few shapes to compile
        idx = np.concatenate([act, np.full(size - len(act), act[0])])
        steps = min(chunk, max_iter - total)
        out = _chunk_fn(n, k, steps)(jnp.asarray(W[idx]), jnp.asarray(W0[idx]), jnp.asarray(step[idx]),
                                     jnp.zeros(size, dtype=jnp.int64), jnp.asarray(done[idx]),
                                     jnp.zeros(size, dtype=jnp.int64))
        Wn, _, st, it, dn, rs = (np.asarray(x) for x in out)
        m = len(act)
        W[act], step[act], done[act] = Wn[:m], st[:m], dn[:m]
        iters[act] += it[:m]
        restarts[act] += rs[:m]
        total += steps
    loss = losses(W, k)
    return {"W": W, "iters": iters, "converged": done, "restarts": restarts, "loss": loss}


def losses(W: np.ndarray, k: int) -> np.ndarray:
    """``F`` at each ``W[r]``."""
    import jax
    import jax.numpy as jnp

    return np.asarray(jax.vmap(lambda w: population_loss(w, k))(jnp.asarray(W)))


def dense_index(W: np.ndarray, k: int) -> tuple[int, int, float]:
    """Float64 Hessian of ``F`` at ``W``: (index, nullity, smallest eigenvalue); ``|λ| ≤ INDEX_EIG_TOL`` is zero."""
    import jax
    import jax.numpy as jnp

    from cases._core import INDEX_EIG_TOL

    n = W.shape[0]
    H = jax.hessian(lambda th: population_loss(th.reshape(n, k), k))(jnp.asarray(W.ravel()))
    ev = np.linalg.eigvalsh(np.asarray(H))
    return int(np.sum(ev < -INDEX_EIG_TOL)), int(np.sum(np.abs(ev) <= INDEX_EIG_TOL)), float(ev[0])


# --------------------------------------------------------------------------- classification
#: The kinds of end point (``n = k``: by the certified classes; ``n > k``: all unverified).
KINDS = ("global minimum", "certified spurious minimum", "certified saddle", "unverified, loss >= 1e-3",
         "unverified, loss < 1e-3")


def classify(W: np.ndarray, loss: float, k: int, gt: Any = None) -> dict[str, Any]:
    """One end point's class: ``kind`` (of :data:`KINDS`), ``label`` (certified class or None), ``loss``,
    ``index`` (certified, or dense for unverified points with loss ``≥ 1e-3``) and ``certified``.

    ``gt``: the case's :class:`cases.relu.ReluGroundTruth` (``n = k`` only); without it (``n ≠ k``) every
    point is unverified.
    """
    n = W.shape[0]
    c = gt.match(W.ravel()) if (gt is not None and n == k) else None
    if c is not None:
        if c.loss == 0:
            kind = "global minimum"
        else:
            kind = "certified spurious minimum" if c.index_count == 0 else "certified saddle"
        return {"kind": kind, "label": c.label, "loss": float(c.loss), "index": int(c.index_count),
                "nullity": int(c.nullity), "certified": True}
    if not np.isfinite(loss) or loss < BAD_VALUE:
        return {"kind": "unverified, loss < 1e-3", "label": None, "loss": float(loss), "index": None,
                "nullity": None, "certified": False}
    idx, nul, lam = dense_index(W, k)
    return {"kind": "unverified, loss >= 1e-3", "label": None, "loss": float(loss), "index": idx, "nullity": nul,
            "lambda_min": lam, "certified": False}


def tally(classes: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Counts per kind, the certified spurious minima by label, and the unverified ``loss ≥ 1e-3`` points
    with dense index 0 (``unverified_min``) and the authors' count (loss ``≥ 1e-3``, any class)."""
    counts = {kind: sum(c["kind"] == kind for c in classes) for kind in KINDS}
    labels: dict[str, int] = {}
    for c in classes:
        if c["kind"] == "certified spurious minimum":
            labels[c["label"]] = labels.get(c["label"], 0) + 1
    unv_min = sum(c["kind"] == "unverified, loss >= 1e-3" and c["index"] == 0 for c in classes)
    authors = sum((c["loss"] >= BAD_VALUE) for c in classes if np.isfinite(c["loss"]))
    return {"runs": len(classes), "counts": counts, "spurious_by_class": dict(sorted(labels.items())),
            "certified_spurious": counts["certified spurious minimum"], "unverified_min": unv_min,
            "authors_criterion": authors}


def experiment(k: int, n: int, runs: int, max_iter: int, seed: int = 0) -> dict[str, Any]:
    """``runs`` gradient-descent runs at ``(k, n)`` from the authors' initialisation, classified."""
    gt = None
    if n == k:
        from cases.relu import make_relu

        gt = make_relu(k=k).ground_truth
    res = descend(xavier_init(seed + 1000 * k + n, runs, n, k), k, max_iter)
    classes = [classify(res["W"][r], float(res["loss"][r]), k, gt) for r in range(runs)]
    out = tally(classes)
    out.update(k=k, n=n, max_iter=max_iter, seed=seed, converged=int(res["converged"].sum()),
               restarts=int(res["restarts"].sum()), iters_median=float(np.median(res["iters"])),
               iters_max=int(res["iters"].max()), classes=classes)
    return out
