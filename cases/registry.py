"""Registry of case families by name.

Each family module registers a *factory* ``factory(**params) -> Case`` whose
keyword parameters all have defaults (the documented instance, e.g. the thesis
DLAE).  :func:`get_case` validates names and parameters and raises
:class:`CaseError` with a one-line message naming the valid choices.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from ._core import Case


class CaseError(ValueError):
    """Unknown case name or invalid case parameters (one-line message)."""


@dataclasses.dataclass(frozen=True)
class CaseSpec:
    """A registered case family.

    Attributes:
        name: registry name.
        factory: ``factory(**params) -> Case``.
        description: one line.
        ground_truth_kind: ``"exact"``, ``"numeric"``, ``"partial"`` or ``"none"``.
        small_params: parameters of the small instance used by the default
            scorecard and the quick CI suite.
    """

    name: str
    factory: Callable[..., Case]
    description: str
    ground_truth_kind: str
    small_params: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def defaults(self) -> dict[str, Any]:
        sig = inspect.signature(self.factory)
        return {k: p.default for k, p in sig.parameters.items() if p.default is not inspect.Parameter.empty}


_REGISTRY: dict[str, CaseSpec] = {}


def register_case(
    name: str,
    factory: Callable[..., Case],
    *,
    description: str,
    ground_truth_kind: str,
    small_params: Mapping[str, Any] | None = None,
) -> None:
    """Register a case family (idempotent for the same factory)."""
    if ground_truth_kind not in {"exact", "numeric", "partial", "none"}:
        raise ValueError(f"bad ground_truth_kind {ground_truth_kind!r}")
    _REGISTRY[name] = CaseSpec(name, factory, description, ground_truth_kind, dict(small_params or {}))


def case_names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def case_spec(name: str) -> CaseSpec:
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise CaseError(f"unknown case {name!r}; valid cases: {', '.join(sorted(_REGISTRY))}") from None


def get_case(name: str, **params: Any) -> Case:
    """Build case ``name`` with typed ``params`` (no string coercion: command-line
    strings are parsed once, by :func:`harness.run.params.parse_assignments`, with
    :meth:`CaseSpec.defaults` as the type source).

    Raises:
        CaseError: unknown name, unknown parameter, or a value the family rejects.
    """
    spec = case_spec(name)
    defaults = spec.defaults()
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise CaseError(
            f"case {name!r}: unknown parameter(s) {', '.join(unknown)}; "
            f"valid parameters: {', '.join(sorted(defaults)) or '(none)'}"
        )
    try:
        return spec.factory(**params)
    except CaseError:
        raise
    except (ValueError, TypeError) as exc:
        raise CaseError(f"case {name!r}: {exc}") from None


_BUILTIN_MODULES = (
    "example11",
    "quartic",
    "dlae",
    "deep_linear",
    "degenerate_mlp",
    "xor",
    "si_line",
    "field",
    "overparam_regression",
)
_loaded = False


def _load_builtin() -> None:
    """Import the built-in family modules (each registers itself)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    import importlib

    for mod in _BUILTIN_MODULES:
        try:
            importlib.import_module(f"cases.{mod}")
        except ModuleNotFoundError as exc:  # family not written yet
            if exc.name != f"cases.{mod}":
                raise
