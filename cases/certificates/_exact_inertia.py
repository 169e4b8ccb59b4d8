"""Exact tools shared by the SymPy certificates: inertia of a rational symmetric
matrix and rational conversion of float data.

Inertia by Descartes' rule of signs.  A real symmetric matrix has only real
eigenvalues, so its characteristic polynomial ``p`` has only real roots; for
such a polynomial the number of positive roots (with multiplicity) equals the
number of sign changes in its coefficient sequence exactly (Descartes' bound is
attained when all roots are real).  Factoring ``x^k`` out of ``p`` gives the
nullity ``k``; the sign changes of ``p(-x)`` give the negative count.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import sympy as sp


def _sign_changes(coeffs: Iterable[sp.Rational]) -> int:
    signs = [sp.sign(c) for c in coeffs if c != 0]
    return sum(1 for a, b in zip(signs, signs[1:]) if a != b)


def exact_inertia(mat: sp.Matrix) -> tuple[int, int, int]:
    """``(n_negative, n_zero, n_positive)`` of a symmetric matrix with rational entries.

    Raises:
        ValueError: if the matrix is not square, symmetric, or rational.
    """
    if mat.rows != mat.cols:
        raise ValueError("matrix must be square")
    if any(not (e.is_Rational) for e in mat):
        raise ValueError("matrix entries must be rational numbers")
    if mat != mat.T:
        raise ValueError("matrix must be symmetric")
    n = mat.rows
    if n == 0:
        return (0, 0, 0)
    x = sp.Symbol("x")
    coeffs = mat.charpoly(x).all_coeffs()  # highest degree first
    k = 0
    while k < len(coeffs) and coeffs[len(coeffs) - 1 - k] == 0:
        k += 1
    trimmed = coeffs[: len(coeffs) - k]
    pos = _sign_changes(trimmed)
    deg = len(trimmed) - 1
    neg = _sign_changes([c * (-1) ** (deg - i) for i, c in enumerate(trimmed)])
    if neg + k + pos != n:  # impossible for a symmetric matrix
        raise ArithmeticError("characteristic polynomial has non-real roots")
    return neg, k, pos


def to_rational(value: float) -> sp.Rational:
    """The exact binary value of a float as a SymPy rational."""
    return sp.Rational(float(value))


def rational_matrix(arr: np.ndarray) -> sp.Matrix:
    """A NumPy float array (1-D or 2-D) as an exact rational SymPy matrix."""
    a = np.atleast_2d(np.asarray(arr, dtype=float))
    return sp.Matrix(a.shape[0], a.shape[1], [to_rational(v) for v in a.ravel()])
