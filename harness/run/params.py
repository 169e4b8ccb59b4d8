"""Type a run's case parameters and solver options once, whatever their source.

Values reach critbench from three places: ``KEY=VALUE`` strings on the command
line, TOML values in sweep files, and Python values given to
:class:`harness.run.spec.RunSpec`.  All three are typed here, by one function,
:func:`type_values`, against the type information the registries expose (each
parameter's or option's default: :meth:`cases.CaseSpec.defaults`,
:func:`harness.solvers.option_defaults`), so the same cell gets the same
complete, typed values -- and therefore the same case key, solver key and run
ids (:mod:`harness.run.keys`) -- from ``critbench run``, a sweep file and Python
(issue 20: a sweep's ``forcing = 0`` and ``--option forcing=0.0`` used to get
different solver keys).  The registries themselves never coerce.  JAX-free; the
registry look-up in :func:`typed_case_params` / :func:`typed_solver_options`
imports the registries only when called.

Typing rule (the default's type decides; a value may be a string or a Python value):

=================  ==================================  ==================================
default            a string                            a Python value
=================  ==================================  ==================================
``bool``           ``1/true/yes/on``, ``0/false/no/off``  ``bool`` only
``int``            :func:`int`                         ``int`` (not ``bool``)
``float``          :func:`float`                       ``int`` or ``float`` (not ``bool``) -> ``float``
``tuple``          comma-separated items               ``list`` or ``tuple`` -> ``tuple``
``str``            kept                                ``str`` only
``None``           kept                                kept (no type information)
=================  ==================================  ==================================

Items of a tuple are typed like the default's first item (``float`` for an
empty default).  NumPy scalars count as the Python scalar they hold.  So
``forcing = 0`` (TOML int), ``forcing=0.0`` (CLI) and ``forcing=0`` (Python)
all give ``0.0``; ``k = 4.0`` for an ``int`` default is an error rather than a
silent truncation, and ``True`` is never accepted as a number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "ParamError", "coerce_value", "parse_assignments", "parse_value", "split_assignments",
    "type_values", "typed_case_params", "typed_solver_options",
]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ParamError(ValueError):
    """A malformed ``KEY=VALUE``, an unknown key or a value of the wrong type (one line)."""


def parse_value(text: str, default: Any, *, key: str, owner: str) -> Any:
    """``text`` typed like ``default`` (module docstring); :class:`ParamError` if it does not parse."""
    if isinstance(default, str) or default is None:
        return text
    try:
        if isinstance(default, bool):
            low = text.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError(text)
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
        if isinstance(default, tuple):
            proto = default[0] if default else 0.0
            return tuple(parse_value(v.strip(), proto, key=key, owner=owner) for v in text.split(",") if v.strip())
    except ValueError:
        raise ParamError(f"{owner}: {key}={text!r} is not a valid {type(default).__name__}") from None
    return text


def _scalar(value: Any) -> Any:
    """A NumPy scalar as the Python scalar it holds (no NumPy import needed)."""
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy" and getattr(value, "shape", None) == ():
        return item()
    return value


def coerce_value(value: Any, default: Any, *, key: str, owner: str) -> Any:
    """``value`` (a string or a Python value) typed like ``default`` (module docstring).

    Raises:
        ParamError: the value does not fit the default's type (one line naming key and owner).
    """
    if isinstance(value, str):
        return parse_value(value, default, key=key, owner=owner)
    if default is None:
        return value
    value = _scalar(value)

    def bad() -> ParamError:
        want = type(default).__name__ + (" (a list)" if isinstance(default, tuple) else "")
        return ParamError(f"{owner}: {key}={value!r} is not a valid {want}")

    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise bad()
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value)
        raise bad()
    if isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise bad()
    if isinstance(default, tuple):
        if not isinstance(value, (list, tuple)):
            raise bad()
        proto = default[0] if default else 0.0
        try:
            return tuple(coerce_value(v, proto, key=key, owner=owner) for v in value)
        except ParamError:
            raise bad() from None
    if isinstance(default, str):
        if isinstance(value, str):
            return value
        raise bad()
    return value  # a default of another type carries no rule: kept as given


def type_values(
    given: Mapping[str, Any], defaults: Mapping[str, Any], *, owner: str, what: str = "parameter"
) -> dict[str, Any]:
    """The complete typed values: ``defaults`` overridden by ``given`` typed like them.

    The one typing step of every source (CLI strings, TOML values, Python values).
    Idempotent: typing typed values returns them unchanged.

    Args:
        given: the values given (strings or Python values), keyed by name.
        defaults: every accepted key with its default (the type source).
        owner: named in errors, e.g. ``"case 'dlae'"``.
        what: ``"parameter"`` or ``"option"`` (for messages).

    Raises:
        ParamError: unknown key (listing the valid ones) or a value of the wrong type.
    """
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ParamError(f"{owner}: unknown {what}(s) {', '.join(map(str, unknown))}; "
                         f"valid {what}s: {', '.join(sorted(defaults)) or '(none)'}")
    out = dict(defaults)
    out.update({k: coerce_value(v, defaults[k], key=k, owner=owner) for k, v in given.items()})
    return out


def split_assignments(items: Iterable[str], *, what: str = "parameter") -> dict[str, str]:
    """``["k=4", "p=2"]`` -> ``{"k": "4", "p": "2"}`` (later keys win)."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise ParamError(f"bad {what} {item!r}; expected KEY=VALUE")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def parse_assignments(
    items: Iterable[str], defaults: Mapping[str, Any], *, owner: str, what: str = "parameter"
) -> dict[str, Any]:
    """The complete typed values from command-line ``KEY=VALUE`` items (:func:`type_values`).

    Raises:
        ParamError: malformed item, unknown key (listing the valid ones) or bad value.
    """
    return type_values(split_assignments(items, what=what), defaults, owner=owner, what=what)


def typed_case_params(case: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """Case ``case``'s complete typed parameters (:func:`type_values` against
    :meth:`cases.CaseSpec.defaults`).

    Raises:
        CaseError: unknown case.  ParamError: unknown parameter or wrong type.
    """
    from cases import case_spec  # the registry (and its case modules) only when asked

    return type_values(given, case_spec(case).defaults(), owner=f"case {case!r}")


def typed_solver_options(solver: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """Solver ``solver``'s complete typed options (:func:`type_values` against
    :func:`harness.solvers.option_defaults`).

    A solver that declares no options (an instance, or a factory without
    keyword defaults) gets ``given`` back unchanged: there is nothing to type
    against, and :func:`harness.solvers.get_solver` rejects what it cannot take.

    Raises:
        SolverError: unknown solver.  ParamError: unknown option or wrong type.
    """
    from harness.solvers.registry import SOLVERS, option_defaults  # imports JAX: only when asked

    if not (SOLVERS.is_builtin(solver) or SOLVERS.is_registered_here(solver)):
        # a plug-in (module:attr, entry point) is never imported here, in the judge's process:
        # its worker types the options (harness.run.worker.describe_solver)
        return dict(given)
    defaults = option_defaults(solver)
    if not defaults:
        return dict(given)
    return type_values(given, defaults, owner=f"solver {solver!r}", what="option")
