"""Parse ``KEY=VALUE`` strings into typed case parameters and solver options, once.

Strings enter critbench only at the command line.  The CLI parses them here,
with the type information the registries expose (each parameter's or option's
default: :meth:`cases.CaseSpec.defaults`, :func:`harness.solvers.option_defaults`),
so :class:`harness.run.runner.RunSpec`, ``meta.json`` and every run record hold
the same complete, typed values, and the registries themselves never coerce
strings.  JAX-free.

Typing rule (the default's type decides): ``bool`` accepts
``1/true/yes/on`` and ``0/false/no/off``; ``int`` and ``float`` parse with
:func:`int` / :func:`float`; a ``tuple`` is comma-separated items typed like its
first element (``float`` for an empty default); a ``str`` or ``None`` default
keeps the string.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["ParamError", "parse_assignments", "parse_value", "split_assignments"]

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
    """The complete typed values: ``defaults`` overridden by the parsed ``KEY=VALUE`` items.

    Args:
        items: the command-line strings.
        defaults: every accepted key with its default (the type source).
        owner: named in errors, e.g. ``"case 'dlae'"``.
        what: ``"parameter"`` or ``"option"`` (for messages).

    Raises:
        ParamError: malformed item, unknown key (listing the valid ones) or bad value.
    """
    given = split_assignments(items, what=what)
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ParamError(f"{owner}: unknown {what}(s) {', '.join(unknown)}; "
                         f"valid {what}s: {', '.join(sorted(defaults)) or '(none)'}")
    out = dict(defaults)
    out.update({k: parse_value(v, defaults[k], key=k, owner=owner) for k, v in given.items()})
    return out
