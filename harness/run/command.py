"""What every ``critbench`` command front end shares: exit statuses, the one-line user error, the
solver-failure exit and the check of an output directory.

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

__all__ = ["EXIT_OK", "EXIT_SOLVER_FAILED", "EXIT_USAGE", "CLIError", "check_out_dir", "solver_failures"]

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


def check_out_dir(path: str | Path, what: str) -> None:
    """Raise :class:`CLIError` (one line, exit 2) when the directory to write, ``path``, is an existing file."""
    if Path(path).exists() and not Path(path).is_dir():
        raise CLIError(f"{what} {str(path)!r} is a file: give a directory to write into")
