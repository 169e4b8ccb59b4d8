"""The judge, computed with the harness's own oracles at the points a solver returned (never with anything
the solver computed): :mod:`~harness.scoring.judge` (one run's outcome, flatness statistics, class matching),
:mod:`~harness.scoring.summary` (summaries over runs: success intervals, ERT), :mod:`~harness.scoring.cutoffs`
(the thesis Fig. 3.3 cutoff analysis), :mod:`~harness.scoring.oracles` and :mod:`~harness.scoring.matrix_free`
(derivatives and large-point checks)."""
