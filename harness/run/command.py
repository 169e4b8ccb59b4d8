"""What every ``critbench`` command front end shares: exit statuses, the one-line user error, the
solver-failure exit, ``--option K=V`` parsing and the check of an output directory.

The CLI (:mod:`harness.cli`), ``critbench suite run`` (:mod:`harness.leaderboard.cli`) and
``critbench site`` (:mod:`harness.site.command`) import these from here, so no room imports the
CLI.  Exit statuses (``docs/design.md``, "Exit codes"): :data:`EXIT_OK` (0, done),
:data:`EXIT_SOLVER_FAILED` (1, some run's outcome is in
:data:`harness.results.outcomes.FAILED_OUTCOMES`), :data:`EXIT_USAGE` (2, bad user input).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.results.outcomes import FAILED_OUTCOMES

__all__ = ["EXIT_OK", "EXIT_SOLVER_FAILED", "EXIT_USAGE", "CLIError", "check_out_dir", "solver_failures",
           "solver_options"]

EXIT_OK = 0
EXIT_SOLVER_FAILED = 1
EXIT_USAGE = 2


class CLIError(ValueError):
    """A user error detected by a command itself (one-line message, exit :data:`EXIT_USAGE`)."""


def solver_failures(records: Sequence[Mapping[str, Any]]) -> int:
    """``EXIT_SOLVER_FAILED`` (one line on stderr) if a run failed, else ``EXIT_OK``."""
    bad = [r for r in records if r.get("outcome") in FAILED_OUTCOMES]
    if not bad:
        return EXIT_OK
    first = bad[0]
    why = first.get("error") or first.get("invalid_reason") or first.get("outcome")
    print(f"critbench: solver failed: {len(bad)} of {len(records)} runs {'/'.join(FAILED_OUTCOMES)}; first: "
          f"{first.get('case')} × {first.get('solver')} run {first.get('run_index')} (seed {first.get('seed')}, "
          f"{first.get('outcome')}): {why}", file=sys.stderr)
    return EXIT_SOLVER_FAILED


def solver_options(name: str, items: Sequence[str]) -> dict[str, Any]:
    """The solver's complete typed options from ``--option K=V`` strings (parsed once, here)."""
    from harness.run.params import parse_assignments, split_assignments
    from harness.run.pool import is_builtin_solver, shared_pool
    from harness.solvers import SolverError, option_defaults

    if is_builtin_solver(("name", name)):
        defaults = option_defaults(name)
    else:  # a plug-in is loaded in a worker process, never in this one
        info = shared_pool(1).describe(("name", name, {}), {})
        if info.get("defaults") is None and "error" in info:
            raise SolverError(str(info["error"]))
        defaults = dict(info.get("defaults") or {})
    if not defaults:  # a solver instance or a factory without options: the registry rejects any given
        return split_assignments(items, what="option")
    return parse_assignments(items, defaults, owner=f"solver {name!r}", what="option")


def check_out_dir(path: str | Path, what: str) -> None:
    """Raise :class:`CLIError` (one line, exit 2) when the directory to write, ``path``, is an existing file."""
    if Path(path).exists() and not Path(path).is_dir():
        raise CLIError(f"{what} {str(path)!r} is a file: give a directory to write into")
