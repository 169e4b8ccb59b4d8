"""A plug-in that patches the harness's scorer when its module is imported (issue 20, attack b).

Loaded only as ``tests.trust._patch_on_import:solver`` by a test; the judge must never
import it, so the patch can only touch the worker process that runs the solver.
"""

from __future__ import annotations

from harness import numpy_solver
from tests.trust._attackers import _patch_the_scorer

_patch_the_scorer()  # at import time, in whatever process imports this module


@numpy_solver
def solver(oracles, theta0, max_iter, tol):
    """Returns its (non-critical) initial point."""
    return theta0
