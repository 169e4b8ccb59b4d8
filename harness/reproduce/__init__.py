"""``critbench reproduce``: the seed documents' experiments, rerun end to end through the harness.

One module per experiment (``table31``, ``cutoffs``, ``sampling``, ``swish_dlae``,
``quartic``, ``field``, ``si_line``, ``locus``), a registry (:mod:`._registry`), the shared runner
helpers (:mod:`._runs`: runs go through :mod:`harness.run.runner` into
``OUT/runs``, so a rerun resumes) and the page writer (:mod:`._page`: per
experiment ``OUT/<name>/index.html`` (self-contained) and ``summary.md`` with
"ours | published | difference | verdict" tables and the figures).
"""

import importlib
from typing import Any

from ._cli import add_arguments, main_reproduce, reproduce
from ._registry import Context, Experiment, experiments, get_experiment

_LAZY = {"Page": "._page", "write_page": "._page"}  # matplotlib: not imported by `critbench --help`


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Context", "Experiment", "Page", "add_arguments", "experiments", "get_experiment", "main_reproduce",
           "reproduce", "write_page"]
