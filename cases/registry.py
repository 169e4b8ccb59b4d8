"""Registry of case families by name (one :class:`cases._registry.Registry`, group ``critbench.cases``).

A family is described by a :class:`CaseSpec`: a *factory* ``factory(**params) -> Case``
whose keyword parameters all have defaults (the documented instance, e.g. the thesis
DLAE), a description, the kind of ground truth and the small instance of the default
scorecard.  Built-in families are declared below as ``"cases.module:ATTR"`` references
to their module's ``CaseSpec``, so :func:`case_names` imports nothing (no JAX); a
family module is imported the first time its case is used.  A third-party package
registers its own (certified) cases in its ``pyproject.toml``::

    [project.entry-points."critbench.cases"]
    ring = "mypkg.ring:CASE"            # a CaseSpec
    [project.entry-points."critbench.certificates"]
    ring = "mypkg.ring_certificate:certify"

:func:`get_case` validates names and parameters and raises :class:`CaseError` with a
one-line message naming the valid choices.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from ._core import Case
from ._registry import Registry, RegistryError

ENTRY_POINT_GROUP = "critbench.cases"
GROUND_TRUTH_KINDS = ("exact", "numeric", "partial", "none")


class CaseError(RegistryError):
    """Unknown case name, a case plug-in that fails to import, or invalid case parameters (one line)."""


@dataclasses.dataclass(frozen=True)
class CaseSpec:
    """A case family.

    Attributes:
        name: registry name.
        factory: ``factory(**params) -> Case``; every parameter has a default.
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

    def __post_init__(self) -> None:
        if self.ground_truth_kind not in GROUND_TRUTH_KINDS:
            raise CaseError(f"case {self.name!r}: ground_truth_kind must be one of "
                            f"{', '.join(GROUND_TRUTH_KINDS)}, got {self.ground_truth_kind!r}")
        object.__setattr__(self, "small_params", dict(self.small_params))

    def defaults(self) -> dict[str, Any]:
        """Every parameter with its default (the factory's keyword defaults)."""
        sig = inspect.signature(self.factory)
        return {k: p.default for k, p in sig.parameters.items() if p.default is not inspect.Parameter.empty}


def _check_spec(name: str, obj: Any) -> CaseSpec:
    # duck-typed, not isinstance: a reloaded cases.registry (pytester, importlib.reload) has its own class
    if not all(hasattr(obj, a) for a in ("factory", "defaults", "ground_truth_kind", "small_params")):
        raise CaseError(f"case {name!r}: expected a cases.CaseSpec, got {type(obj).__name__}")
    if obj.name != name:
        obj = dataclasses.replace(obj, name=name)
    return obj


CASES = Registry(
    "case",
    ENTRY_POINT_GROUP,
    {
        "example-1.1": "cases.example11:CASE",
        "quartic": "cases.quartic:CASE",
        "quartic-family": "cases.quartic:FAMILY",
        "dlae": "cases.dlae:CASE",
        "deep-linear": "cases.deep_linear:CASE",
        "degenerate-mlp": "cases.degenerate_mlp:CASE",
        "xor": "cases.xor:CASE",
        "si-line": "cases.si_line:CASE",
        "swish-autoencoder": "cases.field:AUTOENCODER",
        "swish-mlp": "cases.field:MLP",
        "overparam-mlp": "cases.field:OVERPARAM",
        "overparam-regression": "cases.overparam_regression:CASE",
        "relu-teacher-student": "cases.relu:CASE",
    },
    error=CaseError,
    validate=_check_spec,
)


def register_case(
    name: str,
    factory: Callable[..., Case],
    *,
    description: str,
    ground_truth_kind: str,
    small_params: Mapping[str, Any] | None = None,
) -> CaseSpec:
    """Register a case family in this process (packages use the ``critbench.cases`` entry point)."""
    spec = CaseSpec(name, factory, description, ground_truth_kind, dict(small_params or {}))
    CASES.register(name, spec)
    return spec


def case_names() -> list[str]:
    """Registered case names, sorted (imports no family module)."""
    return CASES.names()


def case_spec(name: str) -> CaseSpec:
    """The :class:`CaseSpec` of ``name`` (imports its module). Raises :class:`CaseError`."""
    return CASES.get(name)


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
