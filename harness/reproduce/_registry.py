"""The experiment registry of ``critbench reproduce``.

Each experiment module calls :func:`register` at import with an
:class:`Experiment`: a name, a title, the source it reproduces and a
``run(ctx) -> Page`` function.  ``ctx`` (:class:`Context`) says the mode
(``quick`` or ``full``), where the shared runner store lives (``ctx.runs``:
every experiment stores its runs there through :mod:`harness.run.runner`, so a
rerun resumes and identical cells are shared) and gives progress.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


_EXPERIMENTS: dict[str, Experiment] = {}


def register(exp: Experiment) -> Experiment:
    """Add ``exp`` to the registry (names are unique)."""
    if exp.name in _EXPERIMENTS:
        raise ValueError(f"experiment {exp.name!r} registered twice")
    _EXPERIMENTS[exp.name] = exp
    return exp


def experiments() -> dict[str, Experiment]:
    """All registered experiments, in registration order."""
    from . import _builtin  # noqa: F401  (imports the experiment modules)

    return dict(_EXPERIMENTS)


def get_experiment(name: str) -> Experiment:
    """The experiment ``name``; ``ValueError`` (one line) naming the known ones otherwise."""
    exps = experiments()
    if name not in exps:
        raise ValueError(f"unknown experiment {name!r}; known: {', '.join(exps)}")
    return exps[name]
