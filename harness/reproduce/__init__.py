"""``critbench reproduce``: the seed documents' experiments, rerun end to end through the harness.

One module per experiment (``table31``, ``cutoffs``, ``sampling``, ``swish_dlae``,
``quartic``, ``field``, ``si_line``, ``locus``; each defines ``EXPERIMENT``), a registry (:mod:`._registry`), the shared runner
helpers (:mod:`._runs`: runs go through :mod:`harness.run.runner` into
``OUT/runs``, so a rerun resumes) and the page writer (:mod:`._page`: per
experiment ``OUT/<name>/index.html`` (self-contained) and ``summary.md`` with
"ours | published | difference | verdict" tables and the figures).
"""

from cases._registry import lazy_exports

from ._cli import add_arguments, main_reproduce, reproduce
from ._registry import Context, Experiment, ExperimentError, experiment_names, experiments, get_experiment

# matplotlib: not imported by `critbench --help`
__getattr__, __dir__ = lazy_exports(__name__, {"Page": "harness.reproduce._page", "write_page": "harness.reproduce._page"})

__all__ = ["Context", "Experiment", "ExperimentError", "Page", "add_arguments", "experiment_names", "experiments",
           "get_experiment", "main_reproduce", "reproduce", "write_page"]
