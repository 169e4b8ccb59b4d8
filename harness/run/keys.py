"""Resume keys of runs: stable hashes of a case's parameters and a solver's options.

``case_key = <case>-<hash of the case's complete parameters>``;
``solver_key = <solver>-<hash of the solver's options, max_iter, tol and lanes>``;
``run_id = case_key/solver_key/seed/run_index``.  Hashes are the first 10 hex
digits of SHA-256 of canonical JSON.  JAX-free.

One run id, one result (docs/design.md): everything that changes a run's
result is in its id.  The budget (``max_iter``, ``tol``) changes it, and so
does the number of vmapped lanes the run was solved in: XLA compiles a batch
of ``L`` lanes into kernels whose floating-point summation order depends on
``L`` (``docs/measurements.md``), while lane-mates, refilling versus lockstep,
threads and processes leave it unchanged.  The options are typed once, before they are
hashed (:mod:`harness.run.spec`), so ``forcing=0`` and ``forcing=0.0`` hash
alike.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from harness.results.store import json_default as _json_default

__all__ = ["case_key", "run_id", "solver_key", "stable_hash"]


def stable_hash(obj: Any, n: int = 10) -> str:
    """First ``n`` hex digits of SHA-256 of ``obj`` as canonical JSON."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", ".", name).strip(".") or "x"


def case_key(case: Any) -> str:
    """``<name>-<hash of the complete case parameters>``."""
    return f"{_slug(case.name)}-{stable_hash(dict(case.params))}"


def solver_key(
    solver_name: str, options: Mapping[str, Any], max_iter: int, tol: float, *, lanes: int | None = None
) -> str:
    """``<solver>-<hash of options, max_iter, tol, lanes>``.

    Args:
        solver_name: registered name or ``module:attr``.
        options: the solver's complete, typed options.
        max_iter, tol: the budget (``tol`` hashed as a float: ``0`` and ``0.0`` are one key).
        lanes: vmapped lanes of the solve (the solve's width: ``min(batch, rows)``);
            ``None`` only where no layout exists (the key then names none, as before issue 20).
    """
    payload: dict[str, Any] = {"options": dict(options), "max_iter": int(max_iter), "tol": float(tol)}
    if lanes is not None:
        if isinstance(lanes, bool) or not isinstance(lanes, int) or lanes < 1:
            raise ValueError(f"lanes must be an integer >= 1, got {lanes!r}")
        payload["lanes"] = int(lanes)
    return f"{_slug(solver_name)}-{stable_hash(payload)}"


def run_id(ckey: str, skey: str, seed: int, index: int) -> str:
    """The resume key ``case_key/solver_key/seed/run_index``."""
    return f"{ckey}/{skey}/{seed}/{index}"
