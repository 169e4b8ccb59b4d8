"""The :class:`Certificate` record and the dispatcher."""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any


class CertificateError(AssertionError):
    """A certificate check failed."""


@dataclasses.dataclass(frozen=True)
class Check:
    """One verified (or refuted) claim, e.g. ``"grad(S={0,2}) == 0"``."""

    name: str
    passed: bool
    detail: str = ""


@dataclasses.dataclass(frozen=True)
class Certificate:
    """The outcome of certifying one case instance.

    Attributes:
        case: family name.
        params: the instance's parameters.
        method: ``"sympy"`` (exact arithmetic) or ``"dense-numpy"``.
        checks: every claim checked.
    """

    case: str
    params: dict[str, Any]
    method: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def raise_if_failed(self) -> "Certificate":
        if not self.checks:
            raise CertificateError(f"certificate for {self.case!r} checked nothing")
        if self.failures:
            msg = "; ".join(f"{c.name}: {c.detail}" for c in self.failures[:5])
            raise CertificateError(f"certificate for {self.case!r} failed {len(self.failures)} check(s): {msg}")
        return self


# family name -> module in cases.certificates
_MODULES = {
    "example-1.1": "example11",
    "quartic": "quartic",
    "quartic-family": "quartic",
    "dlae": "dlae",
    "deep-linear": "deep_linear",
    "degenerate-mlp": "degenerate_mlp",
    "xor": "xor",
    "si-line": "si_line",
}


def certify(name: str, **params: Any) -> Certificate:
    """Run the certificate of case family ``name`` for the given parameters."""
    if name not in _MODULES:
        raise KeyError(f"no certificate for case {name!r}; certified families: {', '.join(sorted(_MODULES))}")
    mod = importlib.import_module(f"cases.certificates.{_MODULES[name]}")
    return mod.certify(**params)
