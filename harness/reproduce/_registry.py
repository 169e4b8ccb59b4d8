"""The experiment registry of ``critbench reproduce``.

Each experiment module defines ``EXPERIMENT``, an :class:`Experiment`: a name, a
title, the source it reproduces and a ``run(ctx) -> Page`` function.  The built-ins
are lazy ``module:attr`` references (:class:`cases._registry.Registry`; other
packages add theirs in the ``critbench.experiments`` entry-point group), so this
module imports no experiment module and the experiment modules import it without a
cycle.  ``ctx`` (:class:`Context`) says the mode
(``quick`` or ``full``), where the shared runner store lives (``ctx.runs``:
every experiment stores its runs there through :mod:`harness.run.runner`, so a
rerun resumes and identical cells are shared) and gives progress.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cases._registry import Registry, RegistryError

MODES = ("quick", "full")


@dataclasses.dataclass(frozen=True)
class Context:
    """What an experiment needs to run: ``mode``, output ``out`` (its page goes to
    ``out/<name>/``), the shared result store ``out/runs`` and a progress sink."""

    mode: str
    out: Path
    progress: Any = None
    quiet: bool = True

    @property
    def runs(self) -> Path:
        return self.out / "runs"

    @property
    def quick(self) -> bool:
        return self.mode == "quick"

    def log(self, msg: str) -> None:
        if not self.quiet:
            print(f"[reproduce] {msg}", flush=True)


@dataclasses.dataclass(frozen=True)
class Experiment:
    """One reproduced experiment: ``name`` (CLI), ``title``, ``source`` (thesis section/figure)
    and ``run(ctx) -> harness.reproduce._page.Page``."""

    name: str
    title: str
    source: str
    run: Callable[[Context], Any]


class ExperimentError(RegistryError):
    """Unknown experiment name or an experiment plug-in that fails to import (one-line message)."""


def _check_experiment(name: str, obj: Any) -> Experiment:
    if not (callable(getattr(obj, "run", None)) and isinstance(getattr(obj, "name", None), str)):
        raise ExperimentError(f"experiment {name!r}: expected a harness.reproduce.Experiment, got {type(obj).__name__}")
    return obj


ENTRY_POINT_GROUP = "critbench.experiments"
#: The built-in experiments, in page order (each module defines ``EXPERIMENT``; nothing is imported here).
BUILTIN = {
    "table-3.1": "harness.reproduce.table31:EXPERIMENT",
    "fig-3.2-3.3": "harness.reproduce.cutoffs:EXPERIMENT",
    "sec-3.2.3.2": "harness.reproduce.sampling:EXPERIMENT",
    "fig-3.4": "harness.reproduce.swish_dlae:EXPERIMENT",
    "fig-3.5": "harness.reproduce.quartic:EXPERIMENT",
    "sec-3.5": "harness.reproduce.field:EXPERIMENT",
    "si-lines": "harness.reproduce.si_line:EXPERIMENT",
    "cooper-locus": "harness.reproduce.locus:EXPERIMENT",
    "cooper-star": "harness.reproduce.star_locus:EXPERIMENT",
    "stoican-6.1": "harness.reproduce.stoican:EXPERIMENT",
    "safran-shamir": "harness.reproduce.safran_shamir:EXPERIMENT",
}
EXPERIMENTS = Registry("experiment", ENTRY_POINT_GROUP, BUILTIN, error=ExperimentError, validate=_check_experiment)


def register(exp: Experiment) -> Experiment:
    """Add ``exp`` to the registry in this process (packages use the ``critbench.experiments`` entry point)."""
    if exp.name in EXPERIMENTS:
        raise ExperimentError(f"experiment {exp.name!r} registered twice")
    EXPERIMENTS.register(exp.name, exp)
    return exp


def experiment_names() -> list[str]:
    """Every experiment name: the built-ins in page order, then the others sorted (imports nothing)."""
    return [*BUILTIN, *(n for n in EXPERIMENTS.names() if n not in BUILTIN)]


def experiments() -> dict[str, Experiment]:
    """All experiments, in page order (imports each experiment module)."""
    return {n: EXPERIMENTS.get(n) for n in experiment_names()}


def get_experiment(name: str) -> Experiment:
    """The experiment ``name``; :class:`ExperimentError` (a ``ValueError``, one line) naming the known ones otherwise."""
    if name not in EXPERIMENTS:
        raise ExperimentError(f"unknown experiment {name!r}; known: {', '.join(experiment_names())}")
    return EXPERIMENTS.get(name)
