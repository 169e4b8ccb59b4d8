"""A new critical-point finder against every reference method, on a versioned standard suite.

* :mod:`harness.leaderboard.suite` -- ``standard-v1`` (named, versioned cells) and ``critbench suite run``;
* :mod:`harness.leaderboard.archive` -- the built-in solvers' committed per-run results (Parquet);
* :mod:`harness.leaderboard.rank` -- ranking, paired per-case verdicts (McNemar, sign test, Holm), ECDFs.

The static site that publishes it is :mod:`harness.site`.
"""

from harness.leaderboard.suite import DEFAULT_SUITE, SUITES, Suite, SuiteCell, SuiteError, get_suite, run_suite_for

__all__ = ["DEFAULT_SUITE", "SUITES", "Suite", "SuiteCell", "SuiteError", "get_suite", "run_suite_for"]
