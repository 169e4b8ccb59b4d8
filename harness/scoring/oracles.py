"""Dense scoring oracles: loss, gradient and Hessian at the points a solver returned.

The harness evaluates these itself (never trusting a solver's own numbers):
``jit(vmap)`` of ``theta -> (loss, grad[, hessian])`` per loss function
(the case's ``oracle_form``: its ``scoring_form`` if it declares an equal,
cheaper way to write the loss, e.g. the DLAE's Gram form),
memoised, with the Hessian formed column by column as HVPs (``jvp`` of
``grad``) for ``dim <= DENSE_MAX_DIM``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from harness.scoring.judge import DENSE_MAX_DIM

__all__ = ["point_oracles"]

#: Upper bound on bytes of Hessians formed at once by the batched scorer.
_HESS_BYTES = 256 * 2**20
#: Budget of the gradient-only batches (above ``DENSE_MAX_DIM``): ~8 vectors of ``dim`` per point.
_GRAD_BYTES = 256 * 2**20


def _oracles_impl(loss_fn: Callable, with_hessian: bool, thetas: Any, data: Any) -> Any:
    """``vmap`` over ``thetas`` of ``theta -> (loss, grad[, hessian])``."""
    import jax
    import jax.numpy as jnp

    vg = jax.value_and_grad(loss_fn)

    def one(t: Any) -> Any:
        if not with_hessian:
            return vg(t, data)
        # Column by column, H e_i = jvp of grad (lax.map: one HVP at a time).
        # Same numbers as jax.hessian (forward-over-reverse) up to rounding, but faster
        # where the all-columns-at-once (vmapped) HVP is memory bound (docs/measurements.md).
        grad = jax.grad(loss_fn)
        col = lambda v: jax.jvp(lambda u: grad(u, data), (t,), (v,))[1]  # noqa: E731
        return (*vg(t, data), jax.lax.map(col, jnp.eye(t.shape[0], dtype=t.dtype)))

    return jax.vmap(one)(thetas)


@functools.lru_cache(maxsize=1)
def _batched_oracles() -> Callable:
    """The jitted oracles (traces kept on disk beside the compile cache, like the solver loop's)."""
    from harness.jitcache.exported import ExportedJit

    return ExportedJit(_oracles_impl, static_argnums=(0, 1))


def point_oracles(case: Any, thetas: np.ndarray) -> list[dict[str, Any]]:
    """Loss, gradient and (for ``dim <= DENSE_MAX_DIM``) Hessian at each row of ``thetas``.

    Rows with non-finite entries get ``{}`` (the scorer then reports them as diverged).
    Points are evaluated in batches padded to a power of two, so the number of
    finite rows (which varies from seed to seed) does not force a new compilation.
    """
    import jax.numpy as jnp

    with_h = case.dim <= DENSE_MAX_DIM
    loss_fn, data = case.oracle_form  # the case's scoring form (e.g. the DLAE's Gram form) when it has one
    fn = _batched_oracles()
    ok = np.all(np.isfinite(thetas), axis=1)
    out: list[dict[str, Any]] = [{} for _ in range(len(thetas))]
    rows = np.nonzero(ok)[0]
    # without a Hessian, bound the batch by bytes too (k x k intermediates of a large DLAE are ~dim each):
    # O(chunk x dim) memory, never dim^2
    chunk = max(1, _HESS_BYTES // (8 * case.dim * case.dim)) if with_h else max(1, min(256, _GRAD_BYTES // (64 * case.dim)))
    for s in range(0, len(rows), chunk):
        idx = rows[s : s + chunk]
        # pad to a power of two (<= chunk) by repeating a row: a few shapes, not one compilation per row count
        size = min(chunk, 1 << (len(idx) - 1).bit_length())
        pts = thetas[np.concatenate([idx, np.repeat(idx[:1], size - len(idx))])]
        res = [np.asarray(a) for a in fn(loss_fn, with_h, jnp.asarray(pts), data)]
        for j, i in enumerate(idx):
            d = {"loss": float(res[0][j]), "grad": res[1][j]}
            if with_h:
                h = res[2][j]
                d["hessian"] = 0.5 * (h + h.T)
            out[int(i)] = d
    return out
