"""Run status codes, run outcomes and snapshot cutoffs: the one JAX-free place that defines them.

The solver loop (:mod:`harness.solvers._loop`), the NumPy adapter, the scorer
(:mod:`harness.scoring.judge`) and the report all import these, so a stored status code
or snapshot axis means the same thing everywhere.

Status codes (thesis Alg. 13 stopping rules, ``docs/design.md``):

* ``CONVERGED = 0``: ``||grad L||^2 <= tol``;
* ``MAX_ITER = 1``: the iteration budget is spent;
* ``STALLED = 2``: a step left ``theta`` exactly unchanged (Alg. 13, line 11);
* ``DIVERGED = 3``: a loss, gradient or iterate became NaN/inf;
* ``RUNNING = -1``: internal to the loop (never stored for a finished run).
"""

from __future__ import annotations

__all__ = ["CONVERGED", "DIVERGED", "LEGACY_SNAPSHOT_CUTOFFS", "MAX_ITER", "FAILED_OUTCOMES", "OUTCOMES", "RUNNING",
           "SNAPSHOT_CUTOFFS", "STALLED", "STATUS_NAMES", "snapshot_cutoffs_for", "status_name"]

RUNNING = -1
CONVERGED = 0
MAX_ITER = 1
STALLED = 2
DIVERGED = 3
#: Code -> stored name.
STATUS_NAMES = {RUNNING: "running", CONVERGED: "converged", MAX_ITER: "max_iter", STALLED: "stalled",
                DIVERGED: "diverged"}

#: Every outcome a run record can carry: the harness's verdict (``docs/design.md``, "Outcomes").
OUTCOMES = ("critical", "gradient-flat", "other", "diverged", "invalid", "error", "timeout")
#: Outcomes that mean the solver failed (raised, or returned a malformed result): exit status 1.
FAILED_OUTCOMES = ("error", "invalid", "timeout")

#: Cutoffs of the thesis's Fig. 3.3 analysis: the loop keeps a snapshot of the
#: first iterate with ``||grad L||^2 < eps`` for each ``eps`` (the infinite
#: cutoff is the final iterate); ``snapshots[:, c]`` belongs to ``SNAPSHOT_CUTOFFS[c]``.
SNAPSHOT_CUTOFFS = (1e-4, 1e-6, 1e-8, 1e-10)
#: The snapshot axis of results stored before 1e-8 was added (critbench <= 0.1 stores of Dec 2026).
LEGACY_SNAPSHOT_CUTOFFS = (1e-4, 1e-6, 1e-10)


def snapshot_cutoffs_for(n_columns: int, stated: tuple[float, ...] | list[float] | None = None) -> tuple[float, ...]:
    """The cutoffs of a stored ``snapshots`` axis with ``n_columns`` columns.

    ``stated`` (a store's ``meta.json`` ``snapshot_cutoffs``) wins when its length
    matches; otherwise the current :data:`SNAPSHOT_CUTOFFS` or, for three columns,
    :data:`LEGACY_SNAPSHOT_CUTOFFS`.

    Raises:
        ValueError: no known cutoff list has ``n_columns`` entries.
    """
    for cand in (tuple(stated) if stated else None, SNAPSHOT_CUTOFFS, LEGACY_SNAPSHOT_CUTOFFS):
        if cand is not None and len(cand) == int(n_columns):
            return tuple(float(c) for c in cand)
    raise ValueError(f"stored snapshots have {n_columns} columns; known cutoff lists: {SNAPSHOT_CUTOFFS}, "
                     f"{LEGACY_SNAPSHOT_CUTOFFS}")


def status_name(status: int | str) -> str:
    """The status name of a code (``0 -> "converged"``) or a name (returned as is)."""
    if isinstance(status, str):
        return status
    return STATUS_NAMES.get(int(status), f"status{int(status)}")
