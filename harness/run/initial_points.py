"""Initial points of runs, independent of how many runs a spec asks for.

Initial points are drawn in pools of :data:`POOL` runs, pool ``j`` being
``case.initial_points(pool_seed(seed, j), POOL)`` (pool 0 uses ``seed``
itself, so with ``runs <= POOL`` the points are exactly
``case.initial_points(seed, POOL)[:runs]``).  Run ``i`` of a seed is therefore
always the same point: the pairing that resume, sweeps and the paired gate
rely on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["POOL", "initial_points", "pool_seed"]

#: Initial points are drawn in pools of this many runs (see module docstring).
POOL = 64


def pool_seed(seed: int, pool: int) -> int:
    """Seed of initial-point pool ``pool`` (``seed`` itself for pool 0)."""
    if pool == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), int(pool)]).generate_state(1, np.uint32)[0])


def initial_points(case: Any, seed: int, indices: Sequence[int]) -> np.ndarray:
    """Initial points of runs ``indices`` (each independent of how many runs there are)."""
    out = np.empty((len(indices), case.dim))
    cache: dict[int, np.ndarray] = {}
    for row, i in enumerate(indices):
        j = int(i) // POOL
        if j not in cache:
            cache[j] = case.initial_points(pool_seed(seed, j), POOL)
        out[row] = cache[j][int(i) % POOL]
    return out
