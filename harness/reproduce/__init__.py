"""``critbench reproduce``: the seed documents' experiments, rerun end to end through the harness.

One module per experiment (``table31``, ``cutoffs``, ``quartic``, ``field``,
``si_line``, ``locus``), a registry (:mod:`._registry`), the shared runner
helpers (:mod:`._runs`: runs go through :mod:`harness.runner` into
``OUT/runs``, so a rerun resumes) and the page writer (:mod:`._page`: per
experiment ``OUT/<name>/index.html`` (self-contained) and ``summary.md`` with
"ours | published | difference" tables and the figures).
"""

from ._cli import add_arguments, main_reproduce, reproduce
from ._page import Page, write_page
from ._registry import Context, Experiment, experiments, get_experiment

__all__ = ["Context", "Experiment", "Page", "add_arguments", "experiments", "get_experiment", "main_reproduce",
           "reproduce", "write_page"]
