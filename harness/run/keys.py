"""Resume keys of runs: stable hashes of a case's parameters and a solver's options.

``case_key = <case>-<hash of the case's complete parameters>``;
``solver_key = <solver>-<hash of the solver's options, max_iter and tol>``
(the budget is part of the key because it changes the result);
``run_id = case_key/solver_key/seed/run_index``.  Hashes are the first 10 hex
digits of SHA-256 of canonical JSON.  JAX-free.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from harness.results.store import json_default as _json_default

__all__ = ["case_key", "run_id", "solver_key", "solver_options_of", "stable_hash"]


def stable_hash(obj: Any, n: int = 10) -> str:
    """First ``n`` hex digits of SHA-256 of ``obj`` as canonical JSON."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", ".", name).strip(".") or "x"


def solver_options_of(solver: Any, given: Mapping[str, Any]) -> dict[str, Any]:
    """The solver's complete options (``solver.options()`` if it has one) else ``given``."""
    opts = getattr(solver, "options", None)
    if callable(opts):
        try:
            return dict(opts())
        except Exception:  # noqa: BLE001 - a plugin's options() must not break a run
            pass
    return dict(given)


def case_key(case: Any) -> str:
    """``<name>-<hash of the complete case parameters>``."""
    return f"{_slug(case.name)}-{stable_hash(dict(case.params))}"


def solver_key(solver_name: str, options: Mapping[str, Any], max_iter: int, tol: float) -> str:
    """``<solver>-<hash of options, max_iter, tol>``."""
    return f"{_slug(solver_name)}-{stable_hash({'options': dict(options), 'max_iter': max_iter, 'tol': tol})}"


def run_id(ckey: str, skey: str, seed: int, index: int) -> str:
    """The resume key ``case_key/solver_key/seed/run_index``."""
    return f"{ckey}/{skey}/{seed}/{index}"
