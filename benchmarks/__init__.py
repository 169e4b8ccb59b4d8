"""asv benchmarks of critbench (see ``docs/asv.md``).

Every module imports critbench lazily, inside ``setup``: asv discovers the
benchmarks of the *current* checkout and runs them against the code of each
historical commit, where a case, solver or module may not exist yet.  A
missing piece raises ``NotImplementedError`` in ``setup``, which asv records
as "skipped" instead of failing the run.  Only the public API is used
(``cases.get_case``, ``harness.get_solver``, ``harness.hvp``, the runner and
the scorer).
"""
