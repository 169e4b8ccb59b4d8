"""The execution pipeline: spec -> resolve -> run -> execute.  ``spec`` (typed RunSpec and the one typing of
its values), ``cell`` (CaseRef/SolverRef: how a worker builds a cell's case and solver; resolve: one frozen Cell per
spec or given points), ``plan``
(blocks and CPU heuristics), ``runner`` (``run``, the one front door, and run_spec / run_suite), ``execute`` (the one
cell loop: dispatch, time limits, Ctrl-C, appends), ``pool`` (back ends: worker processes, in-process), ``worker``
(the only code that runs a solver), ``judge`` (check, score, records); keys, initial points, progress, provenance.
The compile caches live in :mod:`harness.jitcache`."""
