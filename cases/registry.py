"""Registry of case families by name.

Each family module registers a *factory* ``factory(**params) -> Case`` whose
keyword parameters all have defaults (the documented instance, e.g. the thesis
DLAE).  :func:`get_case` validates names and parameters and raises
:class:`CaseError` with a one-line message naming the valid choices.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterable, Mapping
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


def _coerce(value: Any, default: Any, key: str, case: str) -> Any:
    """Coerce a command-line string to the type of the parameter's default."""
    if not isinstance(value, str) or isinstance(default, str) or default is None:
        return value
    try:
        if isinstance(default, bool):
            low = value.lower()
            if low in {"1", "true", "yes", "on"}:
                return True
            if low in {"0", "false", "no", "off"}:
                return False
            raise ValueError(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, tuple):
            items = [v for v in value.split(",") if v.strip()]
            proto = default[0] if default else 0.0
            return tuple(_coerce(v.strip(), proto, key, case) for v in items)
    except ValueError:
        raise CaseError(
            f"case {case!r}: parameter {key}={value!r} is not a valid {type(default).__name__}"
        ) from None
    return value


def get_case(name: str, **params: Any) -> Case:
    """Build case ``name`` with ``params`` (strings are coerced to the default's type).

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
    coerced = {k: _coerce(v, defaults[k], k, name) for k, v in params.items()}
    try:
        return spec.factory(**coerced)
    except CaseError:
        raise
    except (ValueError, TypeError) as exc:
        raise CaseError(f"case {name!r}: {exc}") from None


def parse_params(items: Iterable[str]) -> dict[str, str]:
    """Parse ``["k=4", "p=2"]`` into ``{"k": "4", "p": "2"}``."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise CaseError(f"bad parameter {item!r}; expected KEY=VALUE")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


_BUILTIN_MODULES = (
    "example11",
    "quartic",
    "dlae",
    "deep_linear",
    "degenerate_mlp",
    "xor",
    "si_line",
    "field",
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
