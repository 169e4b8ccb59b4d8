"""Thesis Eq. 3.35, f(x, y) = x^4/4 - 3x^2 + 9x + 0.9y^4 + 5y^2 + 40, written out by hand
(loss, gradient and Hessian) so solver tests do not depend on the case library."""

import numpy as np

from harness.solvers import Problem


def quartic(theta, data):
    x, y = theta[0], theta[1]
    return x**4 / 4 - 3 * x**2 + 9 * x + 0.9 * y**4 + 5 * y**2 + 40


def quartic_grad(t):
    x, y = t
    return np.array([x**3 - 6 * x + 9, 3.6 * y**3 + 10 * y])


def quartic_hess(t):
    x, y = t
    return np.diag([3 * x**2 - 6, 10.8 * y**2 + 10])


QUARTIC = Problem(quartic, (), 2)
