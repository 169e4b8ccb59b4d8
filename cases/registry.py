"""Registries of case families and of their certificates, by name (two :class:`cases._registry.Registry`,
groups ``critbench.cases`` and ``critbench.certificates``).

A family is described by a :class:`CaseSpec`: a *factory* ``factory(**params) -> Case``
whose keyword parameters all have defaults (the documented instance, e.g. the thesis
DLAE), a description, the kind of ground truth, the small instance of the default
scorecard and, for a certified family, the ``"module:attr"`` of its certificate
``certify(case, **options) -> Certificate``.

Built-in families are found by their files: every module ``cases/<family>.py`` (not
``_private``) that declares ``ATTR = CaseSpec("name", factory, ..., certificate="...")`` at
module level is a built-in, and the certificate it names is that case's certificate.  The
declarations are read from the source (:mod:`cases._discover`), so :func:`case_names` and
``certified_names()`` import no family module (no JAX); a family module is imported the
first time its case is used.  Adding a built-in certified case is adding its module (and
its certificate module); nothing else names it.

A third-party package registers its own (certified) cases in its ``pyproject.toml``::

    [project.entry-points."critbench.cases"]
    ring = "mypkg.ring:CASE"            # a CaseSpec
    [project.entry-points."critbench.certificates"]
    ring = "mypkg.ring_certificate:certify"

:func:`get_case` validates names and parameters and raises :class:`CaseError` with a
one-line message naming the valid choices.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ._core import Case
from ._discover import Declaration, scan
from ._registry import Registry, RegistryError

ENTRY_POINT_GROUP = "critbench.cases"
CERTIFICATE_ENTRY_POINT_GROUP = "critbench.certificates"
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
        certificate: ``"module:attr"`` of the family's certificate
            ``certify(case, **options) -> Certificate``, or ``None`` (uncertified).  A
            built-in writes it as a string literal: the registry reads it from the file.
    """

    name: str
    factory: Callable[..., Case]
    description: str
    ground_truth_kind: str
    small_params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    certificate: str | None = None

    def __post_init__(self) -> None:
        if self.ground_truth_kind not in GROUND_TRUTH_KINDS:
            raise CaseError(f"case {self.name!r}: ground_truth_kind must be one of "
                            f"{', '.join(GROUND_TRUTH_KINDS)}, got {self.ground_truth_kind!r}")
        if self.certificate is not None and not (isinstance(self.certificate, str) and ":" in self.certificate):
            raise CaseError(f"case {self.name!r}: certificate must be 'module:attr' or None, got {self.certificate!r}")
        object.__setattr__(self, "small_params", dict(self.small_params))

    def defaults(self) -> dict[str, Any]:
        """Every parameter with its default (the factory's keyword defaults)."""
        sig = inspect.signature(self.factory)
        return {k: p.default for k, p in sig.parameters.items() if p.default is not inspect.Parameter.empty}


@functools.cache
def builtin_declarations() -> dict[str, Declaration]:
    """``name -> Declaration`` of every built-in case, read once from the files of this package
    (:func:`cases._discover.scan`; imports nothing)."""
    return scan(Path(__file__).resolve().parent, __package__ or "cases", CaseError)


def _check_spec(name: str, obj: Any) -> CaseSpec:
    # duck-typed, not isinstance: a reloaded cases.registry (pytester, importlib.reload) has its own class
    if not all(hasattr(obj, a) for a in ("factory", "defaults", "ground_truth_kind", "small_params")):
        raise CaseError(f"case {name!r}: expected a cases.CaseSpec, got {type(obj).__name__}")
    declared = builtin_declarations().get(name) if CASES.is_builtin(name) else None
    if declared is not None and (obj.name, getattr(obj, "certificate", None)) != (name, declared.certificate):
        raise CaseError(f"case {name!r}: {declared.ref} is CaseSpec({obj.name!r}, certificate="
                        f"{getattr(obj, 'certificate', None)!r}) but {declared.where} declares "
                        f"({name!r}, certificate={declared.certificate!r})")
    if obj.name != name:
        obj = dataclasses.replace(obj, name=name)
    return obj


CASES = Registry(
    "case",
    ENTRY_POINT_GROUP,
    lambda: {name: d.ref for name, d in builtin_declarations().items()},
    error=CaseError,
    validate=_check_spec,
)

#: Certificates by case name: the built-ins are the certificates the case modules declare.
CERTIFICATES = Registry(
    "certificate",
    CERTIFICATE_ENTRY_POINT_GROUP,
    lambda: {name: d.certificate for name, d in builtin_declarations().items() if d.certificate},
    error=CaseError,
)


def register_case(
    name: str,
    factory: Callable[..., Case],
    *,
    description: str,
    ground_truth_kind: str,
    small_params: Mapping[str, Any] | None = None,
    certificate: str | None = None,
) -> CaseSpec:
    """Register a case family (and its certificate ``"module:attr"``, if any) in this process
    (packages use the ``critbench.cases`` and ``critbench.certificates`` entry points)."""
    spec = CaseSpec(name, factory, description, ground_truth_kind, dict(small_params or {}), certificate)
    CASES.register(name, spec)
    if certificate is not None:
        CERTIFICATES.register(name, certificate)
    return spec


def case_names() -> list[str]:
    """Registered case names, sorted (imports no family module)."""
    return CASES.names()


def case_spec(name: str) -> CaseSpec:
    """The :class:`CaseSpec` of ``name`` (imports its module). Raises :class:`CaseError`."""
    return CASES.get(name)


def get_case(name: str, **params: Any) -> Case:
    """Build case ``name`` with typed ``params`` (no string coercion: command-line
    strings are parsed once, by :func:`harness.run.spec.parse_assignments`, with
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
