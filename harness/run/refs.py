"""How a worker rebuilds a cell's case and solver: :class:`CaseRef` and :class:`SolverRef`.

A reference is a plain, frozen, picklable value that travels in every
:class:`~harness.run.worker.SolveTask` (the parent's own, trusted requests are pickled
frames; replies never are, :mod:`harness.run.wire`).  It is one of two kinds:

* by name (``blob is None``): a registered case with its complete parameters, a
  registered solver (built-in, ``module:attr`` or entry point) with its options; the
  worker builds it through the registry.  Built-in and plug-in solvers always travel
  this way: a plug-in is never imported, built or pickled by the judge's process.
* pickled (``blob``): an object a Python caller made in its own process -- a
  :class:`cases.Case` or solver given to :mod:`harness.testing`, or a solver
  registered in the caller's process (``register_solver``); ``name`` is then its
  label (recorded as ``case``/``solver``).

Stdlib-only, so a worker imports it before anything else.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

__all__ = ["CaseRef", "SolverRef"]


def _loads(blob: bytes) -> Any:
    import cloudpickle

    return cloudpickle.loads(blob)


@dataclasses.dataclass(frozen=True)
class CaseRef:
    """A case by registered ``name`` with its complete ``params``, or a pickled ``blob``
    (then ``name`` is the case's label)."""

    name: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    blob: bytes | None = None

    def build(self) -> Any:
        """A fresh :class:`cases.Case` (rebuilt from name and parameters, or unpickled)."""
        if self.blob is not None:
            return _loads(self.blob)
        from cases import get_case

        return get_case(self.name, **dict(self.params))


@dataclasses.dataclass(frozen=True)
class SolverRef:
    """A solver by registered ``name`` with its ``options``, or a pickled ``blob``
    (then ``name`` is the solver's label and ``options`` are empty)."""

    name: str
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    blob: bytes | None = None

    @property
    def builtin(self) -> bool:
        """Whether this names a built-in solver (trusted code the judge's process may import)."""
        from harness.solvers.registry import SOLVERS

        return self.blob is None and SOLVERS.is_builtin(self.name)

    @property
    def what(self) -> str:
        """How errors name it."""
        return self.name if self.blob is None else "the given solver"

    def with_options(self, options: Mapping[str, Any]) -> SolverRef:
        """The same solver by name with ``options`` (a pickled solver is kept as it is)."""
        if self.blob is not None:
            return self
        return dataclasses.replace(self, options=copy.deepcopy(dict(options)))

    def build(self) -> Any:
        """The solver (built by the registry from name and a copy of the options, or unpickled)."""
        if self.blob is not None:
            return _loads(self.blob)
        from harness.solvers import get_solver

        return get_solver(self.name, **copy.deepcopy(dict(self.options)))
