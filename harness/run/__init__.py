"""The execution pipeline: spec -> plan -> execute.  ``spec`` (typed RunSpec), ``plan`` (keys, stored runs, blocks,
CPU heuristics), ``execute`` (the one cell loop: dispatch, time limits, Ctrl-C, appends), ``pool`` (back ends: worker
processes, in-process), ``worker`` (the only code that runs a solver), ``shard`` (the judge: check, score, records);
``runner`` (run_spec / run_suite), keys, initial points, progress, provenance.  The compile caches live in
:mod:`harness.jitcache`."""
