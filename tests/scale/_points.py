"""Known DLAE critical points in a well-conditioned GL(p) gauge (REFERENCE.md: singular
values of ``A`` in [0.7, 1.4], so the gauge cannot push an eigenvalue across ±1e-5)."""

from __future__ import annotations

import numpy as np


def gauge(theta: np.ndarray, k: int, p: int, rng: np.random.Generator) -> np.ndarray:
    """``W1 -> A W1``, ``W2 -> W2 A^{-1}`` for a random ``A = Q diag(s)``, ``s`` in [0.7, 1.4]."""
    q, _ = np.linalg.qr(rng.standard_normal((p, p)))
    a = q @ np.diag(rng.uniform(0.7, 1.4, p))
    w1 = theta[: p * k].reshape(p, k)
    w2 = theta[p * k :].reshape(k, p)
    return np.concatenate([(a @ w1).ravel(), (w2 @ np.linalg.inv(a)).ravel()])


def dense_inertia(hessian: np.ndarray, tol: float = 1e-5) -> tuple[int, int, float]:
    """``(#λ < -tol, #|λ| <= tol, ||H||_F)`` by ``numpy.linalg.eigvalsh``."""
    ev = np.linalg.eigvalsh(0.5 * (hessian + hessian.T))
    return int(np.sum(ev < -tol)), int(np.sum(np.abs(ev) <= tol)), float(np.linalg.norm(ev))
