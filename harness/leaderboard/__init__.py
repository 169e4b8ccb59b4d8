"""A new critical-point finder against every reference method, on a versioned standard suite.

* :mod:`harness.leaderboard.suite` -- the ranked suites (``standard-v1``, ... from the one suite registry,
  :mod:`harness.run.suite`) and ``critbench suite run``;
* :mod:`harness.leaderboard.archive` -- the built-in solvers' committed per-run results (Parquet);
* :mod:`harness.leaderboard.rank` -- ranking, paired per-case verdicts (McNemar, sign test, Holm), ECDFs.

The static site that publishes it is :mod:`harness.site`.
"""

from harness.leaderboard.suite import DEFAULT_SUITE, get_suite, run_suite_for, suite_names

__all__ = ["DEFAULT_SUITE", "get_suite", "run_suite_for", "suite_names"]
